import { isAbsolute, resolve } from 'node:path';
import { Fields } from './fields.js';
import type { HttpServerConfig, ServerConfig, StdioServerConfig } from './types.js';

type ServerType = ServerConfig['type'];

/** Every spelling of a transport seen in the wild (Claude, VS Code, Cursor, mcp_pipe). */
const TYPE_ALIASES: Record<string, ServerType> = {
  stdio: 'stdio',
  sse: 'sse',
  http: 'http',
  'streamable-http': 'http',
  streamableHttp: 'http',
  streamable_http: 'http',
};

const SERVER_KEYS = [
  'type',
  'command',
  'args',
  'env',
  'cwd',
  'url',
  'headers',
  'disabled',
  'enabled',
  'timeoutMs',
  'pingIntervalMs',
  'descriptions',
  'toolPrefix',
];
const STDIO_ONLY = ['args', 'env', 'cwd'];
/** The shortest ping interval a server may have (0 switches pings off). */
export const MIN_PING_MS = 1000;
/** The longest toolPrefix: `__` and at least one character of the tool's name still fit in 64. */
export const MAX_PREFIX = 61;
const HTTP_ONLY = ['headers'];

export function serverType(alias: string): ServerType | undefined {
  return Object.hasOwn(TYPE_ALIASES, alias) ? TYPE_ALIASES[alias] : undefined;
}

/** A URL whose path ends in `/sse` is, by long convention, the legacy SSE transport. */
export function inferUrlType(url: string): ServerType {
  try {
    return /\/sse\/?$/.test(new URL(url).pathname) ? 'sse' : 'http';
  } catch {
    return 'http';
  }
}

/**
 * Read `mcpServers` and `servers` (the VS Code spelling) into one list, in file order.
 * `baseDir` anchors a relative `cwd` to the config file rather than to wherever the hub started.
 */
export function readServers(doc: Fields, baseDir: string | undefined): ServerConfig[] {
  const out: ServerConfig[] = [];
  const seenIn = new Map<string, string>();
  for (const block of ['mcpServers', 'servers']) {
    const entries = doc.child(block);
    if (entries === undefined) continue;
    for (const [name, value] of Object.entries(entries.value)) {
      const other = seenIn.get(name);
      if (other !== undefined) {
        entries.issue(name, `also defined in ${other}; server names must be unique`);
        continue;
      }
      seenIn.set(name, block);
      const server = readServer(name, value, entries, baseDir);
      if (server !== undefined) out.push(server);
    }
  }
  return out;
}

function readServer(
  name: string,
  value: unknown,
  parent: Fields,
  baseDir: string | undefined,
): ServerConfig | undefined {
  const before = parent.issues.items.length;
  const f = Fields.of(value, parent.at(name), parent.issues);
  if (f === undefined) return undefined;
  f.allowOnly(SERVER_KEYS);
  if (name.trim() === '') f.issue(undefined, 'server name must not be empty');

  const type = readType(f);
  const common = readCommon(name, f);
  let server: ServerConfig | undefined;
  if (type === 'stdio') server = readStdio(f, common, baseDir);
  else if (type !== undefined) server = readHttp(f, type, common);
  return parent.issues.items.length === before ? server : undefined;
}

/** The declared type, or the one implied by `command` / `url`; undefined after an issue. */
function readType(f: Fields): ServerType | undefined {
  if (f.has('command') && f.has('url')) {
    f.issue(
      undefined,
      'has both "command" and "url"; keep "command" for stdio or "url" for http/sse',
    );
    return undefined;
  }
  const declared = f.string('type');
  if (declared !== undefined) {
    const type = serverType(declared);
    if (type === undefined) {
      f.issue('type', `unknown type "${declared}"; use stdio, http (streamable-http) or sse`);
    }
    return type;
  }
  if (f.has('type')) return undefined;
  if (f.has('command')) return 'stdio';
  if (f.has('url')) return inferUrlType(String(f.value['url']));
  f.issue(undefined, 'needs "command" (stdio) or "url" (http, sse)');
  return undefined;
}

function readCommon(
  name: string,
  f: Fields,
): Omit<StdioServerConfig, 'type' | 'command' | 'args' | 'env'> {
  const enabled = f.boolean('enabled');
  const disabled = f.boolean('disabled');
  if (enabled !== undefined && disabled !== undefined && enabled === disabled) {
    f.issue(undefined, '"enabled" and "disabled" contradict each other; keep one');
  }
  const timeoutMs = f.integer('timeoutMs', 1);
  const pingIntervalMs = f.integer('pingIntervalMs', 0);
  // Under a second a busy but healthy server would be killed for a slow answer.
  if (pingIntervalMs !== undefined && pingIntervalMs > 0 && pingIntervalMs < MIN_PING_MS) {
    f.issue(
      'pingIntervalMs',
      `must be 0 (never ping) or at least ${MIN_PING_MS}, got ${pingIntervalMs}`,
    );
  }
  const descriptions = f.stringRecord('descriptions');
  const toolPrefix = readPrefix(f);
  return {
    name,
    enabled: enabled ?? !(disabled ?? false),
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(pingIntervalMs !== undefined && { pingIntervalMs }),
    ...(descriptions !== undefined && { descriptions }),
    ...(toolPrefix !== undefined && { toolPrefix }),
  };
}

/**
 * The prefix is written into every served name, and globs and tool switches match served
 * names, so it is refused rather than quietly rewritten when it could not be one as written.
 */
function readPrefix(f: Fields): string | undefined {
  const prefix = f.string('toolPrefix');
  if (prefix === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]*$/.test(prefix))
    f.issue('toolPrefix', 'may hold only letters, digits, "_" and "-" (it begins every tool name)');
  else if (prefix.length > MAX_PREFIX)
    f.issue('toolPrefix', `must be at most ${MAX_PREFIX} characters (names are at most 64)`);
  else if (prefix.endsWith('__'))
    f.issue('toolPrefix', `must not end with "__": Tether puts "__" between prefix and tool`);
  else return prefix;
  return undefined;
}

function readStdio(
  f: Fields,
  common: ReturnType<typeof readCommon>,
  baseDir: string | undefined,
): StdioServerConfig | undefined {
  if (!f.has('command')) {
    if (f.has('url')) f.issue('url', 'a stdio server takes "command", not "url"');
    else f.issue('command', 'missing; a stdio server needs a command to run');
  }
  for (const key of HTTP_ONLY) if (f.has(key)) f.issue(key, 'only for http and sse servers');
  const command = f.string('command');
  if (command !== undefined && command.trim() === '') f.issue('command', 'must not be empty');
  const args = f.stringArray('args') ?? [];
  const env = f.stringRecord('env') ?? {};
  const cwd = f.string('cwd');
  if (command === undefined) return undefined;
  return {
    ...common,
    type: 'stdio',
    command,
    args,
    env,
    ...(cwd !== undefined && {
      cwd: baseDir !== undefined && !isAbsolute(cwd) ? resolve(baseDir, cwd) : cwd,
    }),
  };
}

function readHttp(
  f: Fields,
  type: 'http' | 'sse',
  common: ReturnType<typeof readCommon>,
): HttpServerConfig | undefined {
  if (!f.has('url')) {
    if (f.has('command')) f.issue('command', `an ${type} server takes "url", not "command"`);
    else f.issue('url', `missing; an ${type} server needs a url`);
  }
  for (const key of STDIO_ONLY) if (f.has(key)) f.issue(key, 'only for stdio servers');
  const url = f.string('url');
  const problem = url === undefined ? undefined : urlProblem(url, ['http:', 'https:']);
  if (problem !== undefined) f.issue('url', problem);
  const headers = f.stringRecord('headers') ?? {};
  if (url === undefined) return undefined;
  return { ...common, type, url, headers };
}

/**
 * What is wrong with a URL that should use one of `schemes` (`['ws:', 'wss:']`), or undefined.
 * Names the scheme found but never echoes the URL, which may carry a token into a log.
 */
export function urlProblem(url: string, schemes: readonly string[]): string | undefined {
  const wanted = schemes.map((scheme) => `${scheme}//`).join(' or ');
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return `must be a ${wanted} URL`;
  }
  return schemes.includes(protocol) ? undefined : `must start with ${wanted} (found ${protocol}//)`;
}
