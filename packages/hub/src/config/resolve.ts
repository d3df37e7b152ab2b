import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError, IssueList } from './errors.js';
import { expandEnv } from './expand.js';
import { Fields, isRecord } from './fields.js';
import { readEndpoints, readEnvEndpoints } from './endpoints.js';
import { parseJsonc } from './jsonc.js';
import { DEFAULT_MONITOR, readMonitor, readNotifications } from './monitor.js';
import { readServers } from './servers.js';
import type { ClusterSettings, HubLimits, HubSettings, TetherConfig } from './types.js';

export const DEFAULT_LIMITS: Readonly<HubLimits> = Object.freeze({
  bodyBytes: 1_048_576,
  loginBodyBytes: 4_096,
  jsonDepth: 64,
  frameBytes: 4_194_304,
  argumentsBytes: 1_048_576,
  resultBytes: 8_388_608,
  callsPerEndpoint: 32,
  sseClients: 32,
});

export const DEFAULT_HUB: Readonly<HubSettings> = Object.freeze({
  host: '127.0.0.1',
  port: 8765,
  allowedHosts: Object.freeze([]) as unknown as string[],
  trustProxy: false,
  limits: DEFAULT_LIMITS as HubLimits,
  cluster: Object.freeze({ leaseTtlMs: 10_000, keyPrefix: 'tether:' }) as ClusterSettings,
  callTimeoutMs: 300_000,
  resultBudgetBytes: 16_384,
  toolChangeDebounceMs: 2_000,
  earlyReplyMs: 8_000,
  monitor: Object.freeze({ ...DEFAULT_MONITOR }),
  notifyDownAfterMs: 30_000,
});

const TOP_KEYS = ['$schema', 'endpoints', 'mcpServers', 'servers', 'hub', 'notifications'];

export interface ParseOptions {
  /** Absolute path, used in issues and to anchor relative `cwd`s. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Text of a config file (or undefined for "no file") → resolved config, or a ConfigError with
 * every issue. Order: parse, expand `${VAR}`, validate, then add MCP_ENDPOINT endpoints.
 */
export function parseConfig(text: string | undefined, options: ParseOptions = {}): TetherConfig {
  const env = options.env ?? process.env;
  const issues = new IssueList(options.file);
  let document: unknown = {};
  if (text !== undefined) {
    document = parseJsonc(text.replace(/^\uFEFF/, ''), issues);
    // Syntax errors make everything after them guesswork; report those alone.
    issues.throwIfAny();
  }
  const expanded = expandEnv(document, env, issues);
  const expansionIssues = issues.items.length;
  const config = validate(expanded.value, options.file, issues);
  // A variable that failed to expand already explains why the value at that path is wrong.
  const validation = issues.items
    .splice(expansionIssues)
    .filter((issue) => !expanded.failed.has(issue.path));
  issues.items.push(...validation);

  const envIssues = new IssueList();
  config.endpoints.push(...readEnvEndpoints(env, config.endpoints, envIssues));
  const all = [...issues.items, ...envIssues.items];
  if (all.length > 0) throw new ConfigError(all);
  return config;
}

/** Shape and cross-reference checks on an already expanded document. */
export function validate(
  document: unknown,
  file: string | undefined,
  issues: IssueList,
): TetherConfig {
  const doc = Fields.of(document, [], issues);
  const hub = {
    ...DEFAULT_HUB,
    allowedHosts: [],
    limits: { ...DEFAULT_LIMITS },
    cluster: { ...DEFAULT_HUB.cluster },
    monitor: { ...DEFAULT_MONITOR },
  };
  if (doc === undefined)
    return {
      endpoints: [],
      servers: [],
      hub,
      notifications: [],
      ...(file !== undefined && { file }),
    };
  doc.allowOnly(TOP_KEYS);
  const servers = readServers(doc, file === undefined ? undefined : dirname(file));
  const declared = new Set<string>();
  for (const block of ['mcpServers', 'servers']) {
    const entries = doc.value[block];
    if (isRecord(entries)) for (const name of Object.keys(entries)) declared.add(name);
  }
  const endpoints = readEndpoints(doc, declared);
  readHub(doc, hub);
  const notifications = readNotifications(doc);
  return { endpoints, servers, hub, notifications, ...(file !== undefined && { file }) };
}

/** `hub.trustProxy`: true, false, or the proxies' addresses and CIDR ranges. */
function readTrustProxy(f: Fields): boolean | string[] | undefined {
  const value = f.value.trustProxy;
  if (value === undefined || typeof value === 'boolean') return value;
  const list = f.stringArray('trustProxy');
  if (list === undefined) return undefined;
  for (const entry of list) {
    const [net = '', bits, extra] = entry.split('/');
    const family = isIP(net);
    const max = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      extra !== undefined ||
      (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))
    )
      f.issue('trustProxy', `${JSON.stringify(entry)} is not an IP address or CIDR range`);
  }
  return list;
}

function readHub(doc: Fields, hub: HubSettings): void {
  const f = doc.child('hub');
  if (f === undefined) return;
  f.allowOnly(Object.keys(DEFAULT_HUB));
  const host = f.string('host');
  if (host !== undefined && host.trim() === '') f.issue('host', 'must not be empty');
  else if (host !== undefined) hub.host = host;
  hub.port = f.integer('port', 0, 65_535) ?? hub.port;
  const allowedHosts = f.stringArray('allowedHosts');
  if (allowedHosts !== undefined) {
    hub.allowedHosts = allowedHosts.map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
    if (hub.allowedHosts.includes('*'))
      f.issue('allowedHosts', '"*" would let any web page drive the hub; name the hosts');
  }
  hub.trustProxy = readTrustProxy(f) ?? hub.trustProxy;
  const limits = f.child('limits');
  if (limits) readLimits(limits, hub.limits);
  const cluster = f.child('cluster');
  if (cluster) {
    cluster.allowOnly(['leaseTtlMs', 'keyPrefix']);
    // Renewals run at a third of the TTL; below a second they would crowd Redis for nothing.
    hub.cluster.leaseTtlMs = cluster.integer('leaseTtlMs', 1_000) ?? hub.cluster.leaseTtlMs;
    const keyPrefix = cluster.string('keyPrefix');
    if (keyPrefix !== undefined && (keyPrefix === '' || /[\s{}]/.test(keyPrefix)))
      cluster.issue('keyPrefix', 'must be a non-empty prefix without spaces or braces');
    else if (keyPrefix !== undefined) hub.cluster.keyPrefix = keyPrefix;
  }
  hub.callTimeoutMs = f.integer('callTimeoutMs', 0) ?? hub.callTimeoutMs;
  hub.resultBudgetBytes = f.integer('resultBudgetBytes', 0) ?? hub.resultBudgetBytes;
  hub.toolChangeDebounceMs = f.integer('toolChangeDebounceMs', 0) ?? hub.toolChangeDebounceMs;
  hub.earlyReplyMs = f.integer('earlyReplyMs', 0) ?? hub.earlyReplyMs;
  hub.notifyDownAfterMs = f.integer('notifyDownAfterMs', 0) ?? hub.notifyDownAfterMs;
  const monitor = f.child('monitor');
  if (monitor) hub.monitor = { ...hub.monitor, ...readMonitor(monitor) };
}

function readLimits(f: Fields, limits: HubLimits): void {
  f.allowOnly(Object.keys(DEFAULT_LIMITS));
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof HubLimits>) {
    limits[key] = f.integer(key, 1) ?? limits[key];
  }
}
