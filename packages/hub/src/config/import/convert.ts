import { isRecord } from '../fields.js';

/** The JSON a `tether.config.json` holds, as the importer writes it. */
export interface TetherConfigFile {
  endpoints?: Array<{ name: string; url: string; tools?: { exclude: string[] } }>;
  mcpServers: Record<string, Record<string, unknown>>;
}

/** Keys of a server entry that mean the same in Claude, VS Code, mcp_pipe and Tether. */
const CARRIED = ['command', 'args', 'env', 'cwd', 'url', 'headers', 'disabled'];

/**
 * Copy server entries in the common Claude-style shape into Tether's. Types are normalised
 * (mcp_pipe lower-cases them and also reads `transportType`); keys Tether has no use for are
 * dropped with a note rather than failing the whole import.
 */
export function convertServers(
  entries: Record<string, unknown>,
  block: string,
  notes: string[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, entry] of Object.entries(entries)) {
    if (!isRecord(entry)) {
      notes.push(`${block}.${name} is not an object; skipped.`);
      continue;
    }
    const server: Record<string, unknown> = {};
    const declared = entry['type'] ?? entry['transportType'];
    if (typeof declared === 'string') server['type'] = normaliseType(declared);
    for (const key of CARRIED) if (entry[key] !== undefined) server[key] = entry[key];
    const dropped = Object.keys(entry).filter(
      (key) =>
        !CARRIED.includes(key) && key !== 'type' && key !== 'transportType' && key !== 'name',
    );
    if (dropped.includes('envFile')) {
      notes.push(
        `${block}.${name}.envFile is not read by Tether; put those variables in "env" or in the hub's environment.`,
      );
    }
    const others = dropped.filter((key) => key !== 'envFile');
    if (others.length > 0) {
      notes.push(`${block}.${name}: left out ${others.join(', ')} (no Tether equivalent).`);
    }
    out[name] = server;
  }
  return out;
}

/** `streamableHttp`, `streamablehttp`, `Streamable-HTTP` … → `http`. Unknown types pass through
 * so that validation names them. */
function normaliseType(type: string): string {
  const key = type.toLowerCase().replace(/[-_]/g, '');
  if (key === 'streamablehttp' || key === 'http') return 'http';
  if (key === 'sse' || key === 'stdio') return key;
  return type;
}

/** A list form (`[{ name, … }]`, seen in some xiaozhi-client examples) as a record by name. */
export function serversByName(
  value: unknown,
  notes: string[],
  block: string,
): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (!Array.isArray(value)) return {};
  const out: Record<string, unknown> = {};
  value.forEach((entry: unknown, i) => {
    const name = isRecord(entry) ? entry['name'] : undefined;
    if (typeof name === 'string' && name !== '') out[name] = entry;
    else notes.push(`${block}[${i}] has no name; skipped.`);
  });
  return out;
}

/** Endpoint entries named like the ones MCP_ENDPOINT produces; non-WebSocket URLs are skipped. */
export function endpointsFrom(
  urls: readonly unknown[],
  source: string,
  notes: string[],
): NonNullable<TetherConfigFile['endpoints']> {
  const out: NonNullable<TetherConfigFile['endpoints']> = [];
  urls.forEach((url, i) => {
    if (typeof url !== 'string' || url.trim() === '') return;
    if (!/^wss?:\/\//i.test(url.trim())) {
      notes.push(`${source} entry ${i + 1} is not a ws:// or wss:// URL; skipped.`);
      return;
    }
    out.push({ name: `endpoint-${out.length + 1}`, url: url.trim() });
  });
  return out;
}
