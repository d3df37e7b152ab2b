import type { IssueList } from './errors.js';
import { Fields } from './fields.js';
import { readMonitor } from './monitor.js';
import { urlProblem } from './servers.js';
import type { EndpointConfig, ToolFilter } from './types.js';

const ENDPOINT_KEYS = ['name', 'url', 'enabled', 'tools', 'servers', 'monitor'];
const WS_SCHEMES = ['ws:', 'wss:'];

/** The `endpoints` array. `serverNames` holds every declared server, valid or not, so one bad
 * server does not also make every endpoint that names it look wrong. */
export function readEndpoints(doc: Fields, serverNames: ReadonlySet<string>): EndpointConfig[] {
  const value = doc.value['endpoints'];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    doc.issue('endpoints', 'must be an array of endpoints');
    return [];
  }
  const out: EndpointConfig[] = [];
  const firstIndex = new Map<string, number>();
  value.forEach((item: unknown, i) => {
    const before = doc.issues.items.length;
    const f = Fields.of(item, ['endpoints', i], doc.issues);
    if (f === undefined) return;
    f.allowOnly(ENDPOINT_KEYS);
    const name = f.string('name', true);
    if (name !== undefined && name.trim() === '') f.issue('name', 'must not be empty');
    else if (name !== undefined) {
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, i);
      else f.issue('name', `duplicate endpoint name "${name}" (also endpoints[${first}])`);
    }
    const url = f.string('url', true);
    const problem = url === undefined ? undefined : urlProblem(url, WS_SCHEMES);
    if (problem !== undefined) f.issue('url', problem);
    const enabled = f.boolean('enabled') ?? true;
    const tools = readToolFilter(f);
    const monitorFields = f.child('monitor');
    const monitor = monitorFields ? readMonitor(monitorFields) : undefined;
    const servers = f.stringArray('servers');
    servers?.forEach((server, j) => {
      if (!serverNames.has(server))
        f.issues.add([...f.at('servers'), j], `unknown server "${server}"`);
    });
    if (doc.issues.items.length !== before || name === undefined || url === undefined) return;
    out.push({
      name,
      url,
      enabled,
      tools,
      ...(servers !== undefined && { servers }),
      ...(monitor !== undefined && { monitor }),
      source: 'file',
    });
  });
  return out;
}

function readToolFilter(endpoint: Fields): ToolFilter {
  const f = endpoint.child('tools');
  if (f === undefined) return { include: ['*'], exclude: [] };
  f.allowOnly(['include', 'exclude', 'budget', 'pinned', 'repairArguments']);
  // At least 1: a budget of 0 would send no tool at all, which `include: []` already says.
  const budget = f.integer('budget', 1);
  const pinned = f.stringArray('pinned');
  const repairArguments = f.boolean('repairArguments');
  pinned?.forEach((glob, i) => {
    if (glob.trim() === '') f.issues.add([...f.at('pinned'), i], 'must not be empty');
  });
  return {
    include: f.stringArray('include') ?? ['*'],
    exclude: f.stringArray('exclude') ?? [],
    ...(budget !== undefined && { budget }),
    ...(pinned !== undefined && { pinned }),
    ...(repairArguments !== undefined && { repairArguments }),
  };
}

/**
 * `MCP_ENDPOINT`, as the official mcp_pipe.py reads it, with several URLs separated by `;`.
 * A URL already in the file is skipped so that keeping the variable set while moving to a file
 * does not open a second socket to the same endpoint (it honours only one).
 */
export function readEnvEndpoints(
  env: NodeJS.ProcessEnv,
  fileEndpoints: readonly EndpointConfig[],
  issues: IssueList,
): EndpointConfig[] {
  const raw = env['MCP_ENDPOINT'];
  if (raw === undefined) return [];
  const urls = raw
    .split(';')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  const known = new Set(fileEndpoints.map((e) => e.url.trim()));
  const names = new Set(fileEndpoints.map((e) => e.name));
  const out: EndpointConfig[] = [];
  let counter = 0;
  urls.forEach((url, i) => {
    const problem = urlProblem(url, WS_SCHEMES);
    if (problem !== undefined) {
      issues.add(`MCP_ENDPOINT[${i}]`, problem);
      return;
    }
    if (known.has(url)) return;
    known.add(url);
    let name: string;
    do name = `endpoint-${++counter}`;
    while (names.has(name));
    names.add(name);
    out.push({ name, url, enabled: true, tools: { include: ['*'], exclude: [] }, source: 'env' });
  });
  return out;
}
