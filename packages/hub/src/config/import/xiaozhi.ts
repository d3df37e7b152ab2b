import { isRecord } from '../fields.js';
import { convertServers, endpointsFrom } from './convert.js';
import { shown } from './names.js';
import type { ServerOptions, TetherConfigFile } from './convert.js';

/** Top-level keys of xiaozhi.config.json that the conversion below reads. */
export const XIAOZHI_USED = [
  'mcpEndpoint',
  'mcpServers',
  'mcpServerConfig',
  'modelscope',
  'customMCP',
];

/** Why a top-level xiaozhi-client setting has no place in a Tether config. */
const REASONS: Record<string, string> = {
  connection:
    "Tether's own heartbeat (a dead link is noticed within 10 s) and jittered reconnects replace heartbeatInterval, heartbeatTimeout and reconnectInterval; hub.monitor tunes them",
  webUI:
    'the dashboard and API listen on hub.port (default 8765, where `tether status` and the other commands look; set hub.port to keep the old port); webUI.auth is not carried: Tether asks for an admin token when it listens beyond loopback',
  platforms: 'Coze and other platform credentials: Tether has no Coze integration',
  toolCallLog: 'Tether keeps its own history of calls',
};
const VOICE = ['tts', 'asr', 'llm', 'vad', 'voice', 'audio', 'wakeWord'];
const VOICE_REASON =
  'voice and model settings belong to the device and its conversation server, not to MCP tools';

/** The variable xiaozhi-client reads the ModelScope key from when the file has none. */
const MODELSCOPE_VARIABLE = 'MODELSCOPE_API_TOKEN';
const MODELSCOPE_HOST = /(^|\.)modelscope\.(net|cn)$/i;

/** One tool of one server, and its server's `toolPrefix` (undefined: the server's name). */
export interface ToolPair {
  server: string;
  tool: string;
  prefix?: string;
}

/**
 * The catalog's naming rule (catalog/names.ts, `exposedNames`): served names for pairs, in
 * order. The catalog sits above config in the hub's layers (docs/architecture.md, "Module
 * map"), so the caller, which may import both, hands it in.
 */
export type ServedNames = (pairs: ReadonlyArray<ToolPair>) => string[];

export interface XiaozhiResult {
  config: TetherConfigFile;
  /** Header paths whose secret has a well-known variable (secrets.ts suggests it). */
  variables: Map<string, string>;
}

/**
 * xiaozhi.config.json: `mcpEndpoint` (one URL or a list), `mcpServers`, tools switched off in
 * `mcpServerConfig.<server>.tools.<tool>.enable`, and the ModelScope key xiaozhi-client adds to
 * every server on a ModelScope host. The rest is listed in `notes`, each with its reason.
 */
export function convertXiaozhi(
  doc: Record<string, unknown>,
  entries: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  notes: string[],
  options: ServerOptions,
  servedNames: ServedNames | undefined,
): XiaozhiResult {
  const raw = doc['mcpEndpoint'];
  const endpoints = endpointsFrom(Array.isArray(raw) ? raw : [raw], 'mcpEndpoint', notes);
  const mcpServers = convertServers(entries, 'mcpServers', notes, options);
  const variables = modelScope(mcpServers, doc['modelscope'], env, notes);
  const { pairs, off } = disabledTools(doc['mcpServerConfig'], mcpServers, options.names, notes);
  const exclude = servedNames === undefined ? [] : servedNames(pairs).filter((_, i) => off[i]);
  if (servedNames === undefined && off.some(Boolean)) {
    const list = pairs.filter((_, i) => off[i]).map((p) => `${p.server}/${p.tool}`);
    notes.push(
      `${list.length} tool(s) disabled in mcpServerConfig were not carried: this caller does not say how the hub names tools. Disabled: ${list.map((t) => shown(t, true)).join(', ')}.`,
    );
  } else if (exclude.length > 0 && endpoints.length > 0) {
    for (const endpoint of endpoints) endpoint.tools = { exclude: [...exclude] };
    notes.push(
      `${exclude.length} tool(s) disabled in mcpServerConfig became "tools.exclude" on each endpoint.`,
    );
  } else if (exclude.length > 0) {
    notes.push(
      `No endpoint to carry the ${exclude.length} disabled tool(s) to; add "tools": { "exclude": ${JSON.stringify(exclude)} } to your endpoints.`,
    );
  }
  customTools(doc['customMCP'], notes);
  for (const key of Object.keys(doc)) {
    if (XIAOZHI_USED.includes(key) || key === '$schema') continue;
    const reason = VOICE.includes(key) ? VOICE_REASON : (REASONS[key] ?? 'no Tether equivalent');
    const port = key === 'webUI' && isRecord(doc[key]) ? doc[key]['port'] : undefined;
    const what = typeof port === 'number' ? `${key} (port ${port})` : key;
    notes.push(`Not carried: ${shown(what)}: ${reason}.`);
  }
  return { config: endpoints.length > 0 ? { endpoints, mcpServers } : { mcpServers }, variables };
}

/**
 * xiaozhi-client sends `Authorization: Bearer <modelscope.apiKey>` (or $MODELSCOPE_API_TOKEN)
 * to ModelScope's hosted servers; Tether sends what `headers` says, so the key goes there. A
 * header the server already sets wins, as it does in xiaozhi-client. Only hosts under
 * modelscope.net/.cn over HTTPS get it: a URL merely mentioning ModelScope must not receive the key.
 */
function modelScope(
  servers: TetherConfigFile['mcpServers'],
  settings: unknown,
  env: NodeJS.ProcessEnv,
  notes: string[],
): Map<string, string> {
  const variables = new Map<string, string>();
  const raw = isRecord(settings) ? settings['apiKey'] : undefined;
  // A key goes into an HTTP header: printable ASCII only (no CR/LF to smuggle a header in), and
  // not the template's `<请填写你的 API Key…>` placeholder.
  const key =
    typeof raw === 'string' && /^[\x21-\x7e]+$/.test(raw) && !raw.startsWith('<') ? raw : undefined;
  if (typeof raw === 'string' && raw !== '' && key === undefined) {
    notes.push('modelscope.apiKey is not a usable key (still the placeholder?); not carried.');
  }
  const users: string[] = [];
  for (const [name, server] of Object.entries(servers)) {
    if (typeof server['url'] !== 'string' || !modelScopeUrl(server['url'])) continue;
    const headers = isRecord(server['headers']) ? server['headers'] : {};
    if (Object.keys(headers).some((header) => header.toLowerCase() === 'authorization')) continue;
    server['headers'] = {
      ...headers,
      Authorization: `Bearer ${key ?? `\${${MODELSCOPE_VARIABLE}}`}`,
    };
    variables.set(`mcpServers.${name}.headers.Authorization`, MODELSCOPE_VARIABLE);
    users.push(name);
  }
  if (users.length === 0) {
    if (key !== undefined)
      notes.push('Not carried: modelscope.apiKey: no ModelScope server uses it.');
    return variables;
  }
  const list = users.join(', ');
  if (key !== undefined) {
    notes.push(
      `modelscope.apiKey became the Authorization header of ${list}, as xiaozhi-client sends it.`,
    );
  } else {
    const set = env[MODELSCOPE_VARIABLE] !== undefined && env[MODELSCOPE_VARIABLE] !== '';
    notes.push(
      `${list} ${users.length > 1 ? 'are' : 'is a'} ModelScope server${users.length > 1 ? 's' : ''} and the file has no modelscope.apiKey: like xiaozhi-client, Tether reads the key from ${MODELSCOPE_VARIABLE} (${set ? 'set now' : "not set now: set it in the hub's environment"}).`,
    );
  }
  return variables;
}

/** A ModelScope host over HTTPS: over plain HTTP the key would cross the network readable. */
function modelScopeUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && MODELSCOPE_HOST.test(parsed.hostname);
  } catch {
    return false;
  }
}

/**
 * Every tool the file lists for a server that will run, and which of them are switched off.
 * Named by the catalog's own rule over all of them (`ServedNames`), the switched-off ones give
 * `tools.exclude` exactly the sanitised, prefixed or collision-suffixed names the hub serves.
 * Tools a server lists that xiaozhi-client never recorded cannot be known here.
 */
function disabledTools(
  value: unknown,
  servers: TetherConfigFile['mcpServers'],
  names: ReadonlyMap<string, string>,
  notes: string[],
): { pairs: ToolPair[]; off: boolean[] } {
  const pairs: ToolPair[] = [];
  const off: boolean[] = [];
  if (!isRecord(value)) return { pairs, off };
  for (const [original, entry] of Object.entries(value)) {
    const tools = isRecord(entry) ? entry['tools'] : undefined;
    if (!isRecord(tools)) continue;
    const name = names.get(original) ?? original;
    const server = Object.hasOwn(servers, name) ? servers[name] : undefined;
    if (server === undefined) {
      if (Object.values(tools).some((t) => isRecord(t) && t['enable'] === false))
        notes.push(`mcpServerConfig.${shown(original)} names no server in mcpServers; skipped.`);
      continue;
    }
    if (server['disabled'] === true) continue;
    const prefix = typeof server['toolPrefix'] === 'string' ? server['toolPrefix'] : undefined;
    for (const [tool, settings] of Object.entries(tools)) {
      pairs.push({ server: name, tool, ...(prefix !== undefined && { prefix }) });
      off.push(isRecord(settings) && settings['enable'] === false);
    }
  }
  return { pairs, off };
}

/**
 * customMCP.tools are xiaozhi-client's own tools. Those with an `mcp` handler mirror a tool of
 * an mcpServers entry, which serves it itself; the others run inside xiaozhi-client (a Coze or
 * other platform workflow, an HTTP call, a function or script) and have no MCP server to carry.
 */
function customTools(value: unknown, notes: string[]): void {
  const tools = isRecord(value) && Array.isArray(value['tools']) ? value['tools'] : [];
  let mirrored = 0;
  const dropped: string[] = [];
  for (const tool of tools) {
    const handler = isRecord(tool) && isRecord(tool['handler']) ? tool['handler'] : {};
    const type = typeof handler['type'] === 'string' ? handler['type'] : 'unknown';
    if (type === 'mcp') {
      mirrored++;
      continue;
    }
    const name = isRecord(tool) && typeof tool['name'] === 'string' ? tool['name'] : '(unnamed)';
    dropped.push(`${shown(name, true)} (${kindOf(type, handler)})`);
  }
  if (mirrored > 0) {
    notes.push(
      `customMCP: ${mirrored} tool(s) with an "mcp" handler mirror tools of mcpServers, which serve them.`,
    );
  }
  const LISTED = 20;
  for (const what of dropped.slice(0, LISTED)) {
    notes.push(
      `Not carried: customMCP tool ${what}: it runs inside xiaozhi-client and Tether serves MCP servers only${what.includes('Coze') ? '; Tether has no Coze integration' : ''}.`,
    );
  }
  if (dropped.length > LISTED) {
    notes.push(
      `Not carried: ${dropped.length - LISTED} more customMCP tool(s), for the same reason.`,
    );
  }
}

function kindOf(type: string, handler: Record<string, unknown>): string {
  const platform = handler['platform'] ?? handler['target'];
  if (type === 'proxy' && typeof platform === 'string') {
    return platform.toLowerCase() === 'coze' ? 'Coze workflow' : `${shown(platform)} workflow`;
  }
  if (type === 'http') return 'HTTP call';
  if (type === 'function' || type === 'script' || type === 'chain') return `${type} handler`;
  return `${shown(type)} handler`;
}
