import { isAbsolute, resolve } from 'node:path';
import { isRecord } from '../fields.js';
import { shown } from './names.js';

/** The JSON a `tether.config.json` holds, as the importer writes it. */
export interface TetherConfigFile {
  endpoints?: Array<{ name: string; url: string; tools?: { exclude: string[] } }>;
  mcpServers: Record<string, Record<string, unknown>>;
}

/** Keys of a server entry that mean the same in Claude, VS Code, mcp_pipe and Tether. */
const CARRIED = ['command', 'args', 'env', 'cwd', 'url', 'headers', 'disabled'];

/** How the servers of one file are carried over. */
export interface ServerOptions {
  /** Tether's name for each server, by its name in the file (names.ts). */
  names: ReadonlyMap<string, string>;
  /**
   * The folder the source tool starts its stdio servers in, when it has a fixed one. It becomes
   * each stdio server's `cwd` (a relative `cwd` is resolved against it), so `./calc.js` and
   * `python -m calculator` find what they found before wherever the hub runs from.
   */
  folder?: string;
}

/**
 * Copy server entries in the common Claude-style shape into Tether's. Types are normalised
 * (mcp_pipe lower-cases them and also reads `transportType`); keys Tether has no use for are
 * dropped with a note rather than failing the whole import.
 */
export function convertServers(
  entries: Record<string, unknown>,
  block: string,
  notes: string[],
  options: ServerOptions,
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [original, entry] of Object.entries(entries)) {
    const name = options.names.get(original) ?? original;
    const where = `${block}.${shown(original)}`;
    if (!isRecord(entry)) {
      notes.push(`${where} is not an object; skipped.`);
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
        `${where}.envFile is not read by Tether; put those variables in "env" or in the hub's environment.`,
      );
    }
    const others = dropped.filter((key) => key !== 'envFile');
    if (others.length > 0) {
      notes.push(
        `${where}: left out ${others.map((key) => shown(key)).join(', ')} (no Tether equivalent).`,
      );
    }
    anchor(server, where, options.folder, notes);
    out[name] = server;
  }
  return out;
}

/**
 * Give a stdio server the folder its source started it in. Without one (Claude Desktop starts
 * servers wherever it runs), a path that only works from some folder gets a note instead.
 */
function anchor(
  server: Record<string, unknown>,
  where: string,
  folder: string | undefined,
  notes: string[],
): void {
  if (typeof server['command'] !== 'string' || server['url'] !== undefined) return;
  const cwd = server['cwd'];
  if (folder !== undefined) {
    if (cwd === undefined) server['cwd'] = folder;
    else if (typeof cwd === 'string' && !isAbsolute(cwd)) server['cwd'] = resolve(folder, cwd);
    return;
  }
  if (cwd !== undefined) return;
  const args = Array.isArray(server['args']) ? server['args'] : [];
  const relative = [server['command'], ...args].find(
    (arg): arg is string => typeof arg === 'string' && looksRelative(arg),
  );
  if (relative !== undefined) {
    notes.push(
      `${where}: ${shown(relative, true)} is a relative path, and the folder it was meant from is not known; make it absolute or set "cwd".`,
    );
  }
}

/** `./x.js`, `../x`, or a bare script name (`server.py`) that names a file, not a package. */
function looksRelative(arg: string): boolean {
  if (isAbsolute(arg) || arg.startsWith('-') || arg.includes('://')) return false;
  return /^\.\.?[/\\]/.test(arg) || /\.(js|mjs|cjs|ts|py)$/i.test(arg);
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
