/**
 * A cluster of real `tether start` processes for end-to-end tests: one PostgreSQL database and
 * one Redis key prefix of their own, one FaultProxy in front of Redis per instance (so a single
 * instance can be cut off, or Redis "restarted" for all), one EndpointSimulator serving every
 * endpoint, and a SocketWatch that turns the simulator's events into per-token outages and
 * double connections.
 *
 * Everything the harness starts is torn down by `Cluster.close()`, which never throws, and no
 * child can outlive the test runner: each is SIGKILLed on the runner's exit and, should the
 * runner die without running its handlers, kills itself when its stdin pipe closes
 * (orphan-guard.mjs).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { EndpointSimulator, FaultProxy } from '@tether/testkit';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BIN = join(ROOT, 'packages/hub/bin/tether.js');
const SOURCE_MAIN = join(ROOT, 'packages/hub/src/cli/main.ts');
const GUARD = pathToFileURL(fileURLToPath(new URL('./orphan-guard.mjs', import.meta.url))).href;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Bounded waits that say what was missing

/**
 * Polls `probe` until it returns true; anything else it returns is the current shortfall, in
 * words. On timeout the error carries the last shortfall (and `context()`, for the logs), so a
 * failure reads "… after 5000 ms: 12 endpoints not ready (ep-3, ep-17, …)" rather than "timed out".
 */
export async function eventually(
  what: string,
  timeoutMs: number,
  probe: () => true | string | Promise<true | string>,
  options: { intervalMs?: number; context?: () => string } = {},
): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const result = await probe();
      if (result === true) return Date.now() - started;
      last = result;
    } catch (error) {
      last = `probe failed: ${(error as Error).message}`;
    }
    if (Date.now() >= deadline) {
      const context = options.context?.();
      throw new Error(
        `${what}: still not the case after ${timeoutMs} ms: ${last}${context ? `\n${context}` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/** "ep-1, ep-2, ep-3 and 40 more" */
export function some(items: readonly string[], shown = 8): string {
  if (items.length <= shown) return items.join(', ');
  return `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}

// ---------------------------------------------------------------------------------------------
// What the simulator saw, per token

export interface Outage {
  token: string;
  /** When the token's last ready socket closed. */
  from: number;
  /** When a socket for it was ready again; absent while it is still down. */
  to?: number;
}

export interface Double {
  token: string;
  at: number;
  open: number;
}

/**
 * Listens to the simulator's events: a token is *up* while it has a socket that finished its
 * handshake. An outage runs from the close of its last ready socket to the next ready one (a
 * token that was never up has no outage: readiness checks cover that). A *double* is any moment
 * a token had more than one socket open, handshaking ones included, as the simulator's
 * `accounting().maxOpen` counts them, but timestamped, so each step can look at its own window.
 */
export class SocketWatch {
  readonly outages: Outage[] = [];
  readonly doubles: Double[] = [];
  private readonly readyIds = new Map<string, Set<string>>();
  private readonly openNow = new Map<string, number>();
  private readonly down = new Map<string, Outage>();
  private readonly lastReady = new Map<string, number>();
  private readonly lastLost = new Map<string, number>();

  constructor(sim: EndpointSimulator) {
    sim.on('open', (s) => {
      const open = (this.openNow.get(s.token) ?? 0) + 1;
      this.openNow.set(s.token, open);
      if (open > 1) this.doubles.push({ token: s.token, at: Date.now(), open });
    });
    sim.on('ready', (s) => {
      const now = Date.now();
      let ids = this.readyIds.get(s.token);
      if (!ids) this.readyIds.set(s.token, (ids = new Set()));
      ids.add(s.id);
      this.lastReady.set(s.token, now);
      const outage = this.down.get(s.token);
      if (outage) {
        outage.to = now;
        this.down.delete(s.token);
      }
    });
    sim.on('close', (s) => {
      const now = Date.now();
      this.openNow.set(s.token, (this.openNow.get(s.token) ?? 1) - 1);
      const ids = this.readyIds.get(s.token);
      if (!ids?.delete(s.id)) return;
      this.lastLost.set(s.token, now);
      if (ids.size === 0 && !this.down.has(s.token)) {
        const outage: Outage = { token: s.token, from: now };
        this.outages.push(outage);
        this.down.set(s.token, outage);
      }
    });
  }

  up(token: string): boolean {
    return (this.readyIds.get(token)?.size ?? 0) > 0;
  }

  /** Sockets open now (handshaking included). */
  open(token: string): number {
    return this.openNow.get(token) ?? 0;
  }

  /** Up on a socket that became ready at or after `since`. */
  servedSince(token: string, since: number): boolean {
    return this.up(token) && (this.lastReady.get(token) ?? 0) >= since;
  }

  lastReadyAt(token: string): number | undefined {
    return this.lastReady.get(token);
  }

  /** Tokens that lost a ready socket at or after `since`. */
  lostSince(since: number, tokens: readonly string[]): string[] {
    return tokens.filter((t) => (this.lastLost.get(t) ?? -1) >= since);
  }

  /** The longest outage that overlaps [since, now] (one still going counts up to now). */
  longestOutage(
    since: number,
    tokens?: ReadonlySet<string>,
  ): (Outage & { ms: number }) | undefined {
    const now = Date.now();
    let worst: (Outage & { ms: number }) | undefined;
    for (const outage of this.outages) {
      if (tokens && !tokens.has(outage.token)) continue;
      if (outage.to !== undefined && outage.to < since) continue;
      const ms = (outage.to ?? now) - outage.from;
      if (!worst || ms > worst.ms) worst = { ...outage, ms };
    }
    return worst;
  }

  /** Outages overlapping [since, now] longer than `ms`, described for a failure message. */
  outagesLongerThan(ms: number, since: number, tokens?: ReadonlySet<string>): string[] {
    const now = Date.now();
    return this.outages
      .filter((o) => !tokens || tokens.has(o.token))
      .filter((o) => o.to === undefined || o.to >= since)
      .filter((o) => (o.to ?? now) - o.from > ms)
      .map(
        (o) =>
          `${o.token} ${(o.to ?? now) - o.from} ms${o.to === undefined ? ' (still down)' : ''}`,
      );
  }

  doublesSince(since: number): Double[] {
    return this.doubles.filter((d) => d.at >= since);
  }
}

// ---------------------------------------------------------------------------------------------
// Services: a database and a key prefix of our own

/** Creates `tether_cluster_<random>` on the server of `serverUrl`; `drop()` removes it again. */
export async function createDatabase(
  serverUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tether_cluster_${randomBytes(5).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await adminQuery(serverUrl, [
        // Any connection still open (an instance killed mid-query leaves none for long) would block the drop.
        {
          text: 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          values: [name],
        },
        `drop database if exists ${name}`,
      ]);
    },
  };
}

async function adminQuery(
  serverUrl: string,
  queries: string | Array<string | { text: string; values: unknown[] }>,
): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    for (const query of Array.isArray(queries) ? queries : [queries]) await client.query(query);
  } finally {
    await client.end();
  }
}

/** Deletes every key under `prefix`; returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

// ---------------------------------------------------------------------------------------------
// How an instance is run

export type RunMode = 'bin' | 'source';

/**
 * `bin` runs `node packages/hub/bin/tether.js` (the built dist), as users do. When a source file
 * of the hub, link or protocol package is newer than its build (someone is editing src/ and
 * has not rebuilt), `source` runs src/cli/main.ts through tsx with the tests' tsconfig paths,
 * so the sibling packages come from their sources too, the way vitest resolves them. A stale
 * dist never hides a change. TETHER_CLUSTER_RUN=bin|source forces one.
 */
export function runMode(env: NodeJS.ProcessEnv = process.env): { mode: RunMode; why: string } {
  const forced = env.TETHER_CLUSTER_RUN;
  if (forced === 'bin' || forced === 'source') return { mode: forced, why: 'TETHER_CLUSTER_RUN' };
  for (const pkg of ['hub', 'link', 'protocol']) {
    const src = join(ROOT, 'packages', pkg, 'src');
    const dist = join(ROOT, 'packages', pkg, 'dist');
    for (const file of walk(src)) {
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
      const built = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs)
        return { mode: 'source', why: `${relative(ROOT, file)} is newer than its build` };
    }
  }
  return { mode: 'bin', why: 'the build is up to date' };
}

function* walk(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

// ---------------------------------------------------------------------------------------------
// One `tether start` process

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** Every child the harness ever spawned in this process, so none survives the runner. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface LaunchSpec {
  name: string;
  configFile: string;
  env: NodeJS.ProcessEnv;
  mode: RunMode;
  /** How long until "API listening" must have been logged. */
  startTimeoutMs?: number;
}

export class Instance {
  readonly name: string;
  readonly pid: number;
  readonly startedAt = Date.now();
  url = '';
  /** Set when the process is gone. */
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  /** The harness asked it to go (SIGTERM / SIGKILL): an exit that is not a crash. */
  stopping = false;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  /** Log lines that name an endpoint, by endpoint, with their time: who did what to it, when. */
  private readonly byEndpoint = new Map<string, Array<{ at: number; msg: string }>>();
  private readonly problems: string[] = [];
  private stderrTail = '';

  private constructor(spec: LaunchSpec) {
    this.name = spec.name;
    const args =
      spec.mode === 'bin'
        ? ['--import', GUARD, BIN, 'start', '--config', spec.configFile, '--port', '0']
        : [
            '--import',
            'tsx',
            '--import',
            GUARD,
            SOURCE_MAIN,
            'start',
            '--config',
            spec.configFile,
            '--port',
            '0',
          ];
    const env = { ...spec.env };
    if (spec.mode === 'source') env.TSX_TSCONFIG_PATH = join(ROOT, 'tsconfig.tests.json');
    this.child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.child);
    this.pid = this.child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        children.delete(this.child);
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      });
    });
    this.child.once('error', (error) => this.problems.push(`spawn failed: ${error.message}`));
    this.child.stdin?.on('error', () => {});
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-16_000);
    });
  }

  /** Spawns the process and resolves once its API listens; rejects (and kills it) otherwise. */
  static async launch(spec: LaunchSpec): Promise<Instance> {
    const instance = new Instance(spec);
    const timeoutMs = spec.startTimeoutMs ?? 30_000;
    try {
      await eventually(
        `${spec.name} to log "API listening"`,
        timeoutMs,
        () => {
          if (instance.url) return true;
          if (instance.exit) throw new Error(`exited first (${describeExit(instance.exit)})`);
          return 'no such log line yet';
        },
        { intervalMs: 25 },
      );
    } catch (error) {
      const report = instance.report();
      instance.child.kill('SIGKILL');
      await instance.exited;
      throw new Error(`${spec.name} did not start: ${(error as Error).message}\n${report}`, {
        cause: error,
      });
    }
    return instance;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** kill -9: no handover, the leases must expire. */
  async kill9(): Promise<Exit> {
    this.stopping = true;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, the graceful stop; SIGKILL if it has not exited after `graceMs`. */
  async terminate(graceMs = 8_000): Promise<Exit & { forced: boolean }> {
    this.stopping = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return { ...exit, forced: exit.signal === 'SIGKILL' };
  }

  /** Closes the child's stdin, as the runner's death would: orphan-guard.mjs must kill it. */
  dropRunnerPipe(): void {
    this.stopping = true;
    this.child.stdin?.end();
  }

  /** GET/POST on the API; JSON in and out, bounded. */
  async api<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      signal: AbortSignal.timeout(5_000),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Left as text: the status says enough.
    }
    return { status: response.status, body: parsed as T };
  }

  async endpoints(): Promise<EndpointRow[]> {
    const { status, body } = await this.api<EndpointRow[]>('GET', '/api/endpoints');
    if (status !== 200 || !Array.isArray(body))
      throw new Error(
        `${this.name} GET /api/endpoints answered ${status}: ${JSON.stringify(body).slice(0, 200)}`,
      );
    return body;
  }

  /** The last log lines, errors and stderr: what a failure message needs. */
  report(lines = 15): string {
    const state = this.exit ? `exited (${describeExit(this.exit)})` : 'running';
    const parts = [`--- ${this.name} (pid ${this.pid}, ${state}, ${this.url || 'no API yet'})`];
    if (this.problems.length)
      parts.push(`  warnings/errors logged:\n    ${this.problems.slice(-lines).join('\n    ')}`);
    if (this.lines.length)
      parts.push(`  last log lines:\n    ${this.lines.slice(-lines).join('\n    ')}`);
    if (this.stderrTail.trim())
      parts.push(
        `  stderr:\n    ${this.stderrTail.trim().split('\n').slice(-lines).join('\n    ')}`,
      );
    return parts.join('\n');
  }

  /** What this instance logged about `endpoint` within `windowMs` of `at`. */
  logAbout(endpoint: string, at: number, windowMs: number): Array<{ at: number; msg: string }> {
    return (this.byEndpoint.get(endpoint) ?? []).filter((l) => Math.abs(l.at - at) <= windowMs);
  }

  /** Log lines at warn level or above. */
  get warnings(): readonly string[] {
    return this.problems;
  }

  private onLine(line: string): void {
    let entry:
      { level?: number; msg?: string; url?: string; time?: number; endpoint?: string } | undefined;
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      entry = undefined;
    }
    const msg = entry?.msg ?? line;
    const short = `${entry?.level ?? '?'} ${msg}`.slice(0, 300);
    this.lines.push(short);
    if (this.lines.length > 400) this.lines.splice(0, this.lines.length - 400);
    const endpoint = entry?.endpoint ?? /endpoint (\S+?):/.exec(msg)?.[1];
    if (endpoint) {
      let list = this.byEndpoint.get(endpoint);
      if (!list) this.byEndpoint.set(endpoint, (list = []));
      list.push({ at: entry?.time ?? Date.now(), msg: msg.slice(0, 200) });
      if (list.length > 200) list.splice(0, list.length - 200);
    }
    if ((entry?.level ?? 0) >= 40) {
      this.problems.push(line.slice(0, 500));
      if (this.problems.length > 100) this.problems.splice(0, this.problems.length - 100);
    }
    if (!this.url) {
      const url = entry?.url ?? /API listening on (http:\/\/\S+)/.exec(msg)?.[1];
      if (url && msg.startsWith('API listening on')) this.url = url.replace(/\/$/, '');
    }
  }
}

/** The first port the kernel hands out as an ephemeral source port (Linux; 32768 elsewhere). */
export function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** What the test reads of GET /api/endpoints (more fields come back; these are the contract). */
export interface EndpointRow {
  id: string;
  name: string;
  state: string;
  owner: string;
  enabled: boolean;
  nextRetryAt: string | null;
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// The cluster

export interface ClusterOptions {
  redisUrl: string;
  databaseServerUrl: string;
  endpoints: number;
  leaseTtlMs: number;
}

export interface Shares {
  /** Endpoints per owner, from the first live instance's view. */
  counts: Record<string, number>;
  /** Why this is not (yet) a settled, balanced cluster; empty when it is. */
  problems: string[];
}

export class Cluster {
  readonly tokens: string[];
  readonly names: string[];
  readonly watch: SocketWatch;
  readonly prefix = `test:cluster:${randomBytes(6).toString('hex')}:`;
  readonly secret = randomBytes(24).toString('base64url');
  readonly run = runMode();
  /** Live and dead, newest last: a restart is a new Instance under the same name. */
  readonly history: Instance[] = [];
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly homes: string[] = [];
  private readonly redisTarget: URL;

  private constructor(
    readonly options: ClusterOptions,
    readonly sim: EndpointSimulator,
    /** Tokens the simulator refuses for now (it closes them with 1008 "invalid token"). */
    readonly refused: Set<string>,
    readonly database: { url: string; drop(): Promise<void> },
    readonly redis: Redis,
    readonly dir: string,
    readonly configFile: string,
  ) {
    this.tokens = Array.from({ length: options.endpoints }, (_, i) => `tok-${i}`);
    this.names = this.tokens.map((_, i) => `ep-${i}`);
    this.watch = new SocketWatch(sim);
    this.redisTarget = new URL(options.redisUrl);
  }

  /** Everything but the instances: simulator, database, config file. Cleans up if a part fails. */
  static async create(options: ClusterOptions): Promise<Cluster> {
    const refused = new Set<string>();
    const sim = await EndpointSimulator.start({ tokens: (t) => t.length > 0 && !refused.has(t) });
    let database: { url: string; drop(): Promise<void> } | undefined;
    let redis: Redis | undefined;
    try {
      database = await createDatabase(options.databaseServerUrl);
      redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
      await redis.connect();
      const dir = mkdtempSync(join(tmpdir(), 'tether-cluster-'));
      const configFile = join(dir, 'tether.config.json');
      const cluster = new Cluster(options, sim, refused, database, redis, dir, configFile);
      writeFileSync(
        configFile,
        JSON.stringify(
          {
            endpoints: cluster.tokens.map((token, i) => ({
              name: cluster.names[i],
              url: sim.url(token),
            })),
            hub: { cluster: { leaseTtlMs: options.leaseTtlMs, keyPrefix: cluster.prefix } },
          },
          null,
          2,
        ),
      );
      return cluster;
    } catch (error) {
      redis?.disconnect();
      await database?.drop().catch(() => {});
      await sim.close();
      throw error;
    }
  }

  tokenOf(name: string): string {
    return this.tokens[this.names.indexOf(name)]!;
  }

  nameOf(token: string): string {
    return this.names[this.tokens.indexOf(token)]!;
  }

  /** The running instance of each name. */
  live(): Instance[] {
    const latest = new Map<string, Instance>();
    for (const instance of this.history) latest.set(instance.name, instance);
    return [...latest.values()].filter((i) => i.alive);
  }

  instance(name: string): Instance {
    const found = this.live().find((i) => i.name === name);
    if (!found) throw new Error(`no running instance ${name}`);
    return found;
  }

  /** Instances that died without being asked to: a crash the test should hear about. */
  crashes(): string[] {
    return this.history
      .filter((i) => i.exit && !i.stopping)
      .map((i) => `${i.name} (pid ${i.pid}) ${describeExit(i.exit!)}\n${i.report()}`);
  }

  /**
   * Redis as `name` sees it: through its own proxy, made on first use and kept across restarts.
   * It listens on a port below the kernel's ephemeral range: while it refuses (a Redis
   * restart), a client reconnecting to an ephemeral port could be handed that very port as its
   * source and connect to itself (TCP simultaneous open), and the port would be taken.
   */
  async proxyOf(name: string): Promise<FaultProxy> {
    let proxy = this.proxies.get(name);
    if (!proxy) {
      const target = {
        host: this.redisTarget.hostname,
        port: Number(this.redisTarget.port) || 6379,
      };
      const low = ephemeralLow();
      for (let attempt = 0; !proxy; attempt++) {
        const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
        try {
          proxy = await FaultProxy.start({ target, port });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw error;
        }
      }
      this.proxies.set(name, proxy);
    }
    return proxy;
  }

  /** Starts `tether start` as `name` (a restart when that name ran before). */
  async launch(name: string): Promise<Instance> {
    if (this.live().some((i) => i.name === name)) throw new Error(`${name} is already running`);
    const proxy = await this.proxyOf(name);
    const redisUrl = new URL(this.redisTarget.toString());
    redisUrl.hostname = proxy.host;
    redisUrl.port = String(proxy.port);
    const home = mkdtempSync(join(tmpdir(), `tether-home-${name}-`));
    this.homes.push(home);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env))
      if (key.startsWith('TETHER_') || key === 'MCP_ENDPOINT' || key === 'NODE_OPTIONS')
        delete env[key];
    Object.assign(env, {
      DATABASE_URL: this.database.url,
      REDIS_URL: redisUrl.toString(),
      TETHER_INSTANCE: name,
      TETHER_HOME: home,
      TETHER_SECRET: this.secret,
      TETHER_LOG_LEVEL: 'info',
      NO_COLOR: '1',
    });
    const instance = await Instance.launch({
      name,
      configFile: this.configFile,
      env,
      mode: this.run.mode,
    });
    this.history.push(instance);
    return instance;
  }

  /** Makes the running set exactly `names`: starts the missing, stops (SIGTERM) the others. */
  async lineup(names: readonly string[]): Promise<void> {
    for (const extra of this.live().filter((i) => !names.includes(i.name))) await extra.terminate();
    const missing = names.filter((n) => !this.live().some((i) => i.name === n));
    await Promise.all(missing.map((n) => this.launch(n)));
  }

  /** Every token has a ready socket (the simulator's view). */
  notServed(tokens: readonly string[] = this.tokens): string[] {
    return tokens.filter((t) => !this.watch.up(t));
  }

  /**
   * How long after `since` the token's first socket event of `type` came (from the
   * simulator's timeline), or undefined if none has yet.
   */
  firstAfter(token: string, type: 'open' | 'ready' | 'close', since: number): number | undefined {
    const event = this.sim.accounting(token).timeline.find((e) => e.type === type && e.at >= since);
    return event && event.at - since;
  }

  /**
   * The token's socket events within `windowMs` of `at`, as "+ms open s12", "+ms close s9
   * 1001 lease lost (provider)", timed from `since`, and what each instance logged about the
   * endpoint meanwhile: what a double or an outage needs to be read.
   */
  story(token: string, at: number, since: number, windowMs = 3_000): string {
    const sim = this.sim
      .accounting(token)
      .timeline.filter((e) => Math.abs(e.at - at) <= windowMs)
      .map((e) => {
        const head = `+${e.at - since} ${e.type} ${e.socketId}`;
        return e.type === 'close' ? `${head} ${e.code} ${e.reason} (${e.by})` : head;
      });
    const name = this.nameOf(token);
    const logs = this.history.flatMap((i) =>
      i.logAbout(name, at, windowMs).map((l) => `+${l.at - since} ${i.name}: ${l.msg}`),
    );
    return `simulator: ${sim.join(' | ')}; instances: ${logs.join(' | ') || 'nothing logged'}`;
  }

  /** The most sockets any token ever had open at once, and which tokens went past one. */
  mostAtOnce(): { max: number; tokens: string[] } {
    let max = 0;
    const tokens: string[] = [];
    for (const t of this.tokens) {
      const m = this.sim.accounting(t).maxOpen;
      max = Math.max(max, m);
      if (m > 1) tokens.push(t);
    }
    return { max, tokens };
  }

  /** Every live instance's view of the cluster, by instance name. */
  async views(): Promise<Map<string, EndpointRow[]>> {
    const live = this.live();
    const rows = await Promise.all(live.map((i) => i.endpoints()));
    return new Map(live.map((i, n) => [i.name, rows[n]!]));
  }

  /**
   * Reads every live instance's /api/endpoints and says what keeps it from a settled cluster:
   * endpoints missing, not ready, owned by nobody or by an instance that is not running, views
   * that disagree on an owner, and (with `tolerance`, a fraction of the fair share) an owner
   * count outside fair ± tolerance; plus tokens the simulator does not see ready.
   */
  async shares(tolerance?: number): Promise<Shares> {
    const views = await this.views();
    const liveNames = new Set(views.keys());
    const problems: string[] = [];
    const [first] = [...views.values()];
    const counts: Record<string, number> = {};
    for (const name of liveNames) counts[name] = 0;
    if (!first) return { counts, problems: ['no instance is running'] };
    const byName = new Map(first.map((row) => [row.name, row]));
    const missing = this.names.filter((n) => !byName.has(n));
    if (missing.length)
      problems.push(`${missing.length} endpoints missing from the API (${some(missing)})`);
    for (const row of first)
      counts[row.owner || '(none)'] = (counts[row.owner || '(none)'] ?? 0) + 1;
    for (const [instance, rows] of views) {
      const notReady = rows.filter((r) => r.state !== 'ready');
      if (notReady.length)
        problems.push(
          `${instance} shows ${notReady.length} not ready (${some(
            notReady.map((r) => `${r.name}:${r.state}`),
            5,
          )})`,
        );
      const badOwner = rows.filter((r) => !liveNames.has(r.owner));
      if (badOwner.length)
        problems.push(
          `${instance} shows ${badOwner.length} owned by no running instance (${some(
            badOwner.map((r) => `${r.name}:${r.owner || "''"}`),
            5,
          )})`,
        );
      if (rows === first) continue;
      const disagree = rows.filter((r) => byName.get(r.name)?.owner !== r.owner);
      if (disagree.length)
        problems.push(
          `${instance} disagrees with ${[...views.keys()][0]} on ${disagree.length} owners (${some(
            disagree.map((r) => r.name),
            5,
          )})`,
        );
    }
    if (tolerance !== undefined) {
      const fair = this.names.length / liveNames.size;
      const slack = Math.floor(fair * tolerance);
      for (const name of liveNames) {
        const n = counts[name] ?? 0;
        if (Math.abs(n - fair) > slack)
          problems.push(`${name} owns ${n}, outside ${Math.round(fair)} ± ${slack}`);
      }
    }
    const notServed = this.notServed();
    if (notServed.length)
      problems.push(
        `simulator: ${notServed.length} tokens without a ready socket (${some(notServed)})`,
      );
    return { counts, problems };
  }

  /** Endpoint names the instance's own view says it owns. */
  async ownedBy(name: string): Promise<string[]> {
    const rows = await this.instance(name).endpoints();
    return rows.filter((r) => r.owner === name).map((r) => r.name);
  }

  /** Lease holders as Redis has them: endpoint id → instance. */
  async leaseHolders(): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.prefix}ep:*:lease`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.redis.mget(...keys);
      keys.forEach((key, i) => {
        const id = /ep:\{(.*)\}:lease$/.exec(key)?.[1];
        const value = values[i];
        if (id && value) holders.set(id, value.slice(value.indexOf(' ') + 1));
      });
    } while (cursor !== '0');
    return holders;
  }

  /**
   * A Redis restart as the instances live it: every connection reset and new ones refused for
   * `outageMs`, and a Redis that comes back empty (every key under the prefix deleted) before
   * it accepts connections again.
   */
  async restartRedis(outageMs = 2_000): Promise<void> {
    const proxies = [...this.proxies.values()];
    for (const proxy of proxies) await proxy.refuse();
    for (const proxy of proxies) proxy.resetAll();
    await sleep(outageMs);
    await deleteKeys(this.redis, this.prefix);
    for (const proxy of proxies) {
      proxy.pass();
      try {
        await proxy.accept();
      } catch (error) {
        throw new Error(`the Redis proxy on port ${proxy.port} could not listen again`, {
          cause: error,
        });
      }
    }
  }

  /** Every instance's report, for a failure message. */
  report(): string {
    const latest = new Map<string, Instance>();
    for (const instance of this.history) latest.set(instance.name, instance);
    return [...latest.values()].map((i) => i.report(10)).join('\n');
  }

  /** Never throws: children killed (and awaited), proxies and simulator closed, database dropped, keys deleted. */
  async close(): Promise<string[]> {
    const failures: string[] = [];
    // Each part bounded: one that hangs is reported, and the rest is still cleaned up.
    const attempt = async (what: string, work: () => unknown, timeoutMs = 10_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still going after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([Promise.resolve().then(work), timeout]);
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    };
    await Promise.all(
      this.history.filter((i) => i.alive).map((i) => attempt(`kill ${i.name}`, () => i.kill9())),
    );
    for (const [name, proxy] of this.proxies)
      await attempt(`proxy of ${name}`, () => proxy.close());
    await attempt('simulator', () => this.sim.close());
    await attempt('database', () => this.database.drop());
    await attempt('redis keys', () => deleteKeys(this.redis, this.prefix));
    this.redis.disconnect();
    for (const dir of [this.dir, ...this.homes])
      await attempt(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    return failures;
  }
}
