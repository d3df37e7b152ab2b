// Cluster benchmarks: real `tether start` processes sharing one PostgreSQL database and one
// Redis (the end-to-end harness of packages/hub/test/cluster, reused as it is).
//
//   1. failover after kill -9: 1,000 endpoints over three instances, one instance killed; for
//      each of its endpoints, the time from the kill to a ready socket again (necessarily on
//      another instance), with leaseTtlMs 10000 (the default) and 3000.
//   2. scale: 10,000 endpoints over three instances from one config file: spawn → all ready,
//      then resident memory per instance idle, per endpoint served beyond a baseline instance
//      with no endpoint (run at the same time), and what the idle cluster costs (CPU, Redis and
//      PostgreSQL traffic).
//
//   npm run bench -- cluster      (or: npx tsc -b && npx tsx bench/run.ts cluster)
//
// Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) and Redis
// (REDIS_URL, default redis://127.0.0.1:6379); skipped, saying so, when either is unreachable.
// Run alone, it replaces only the "## Cluster" section of docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { reachable } from '@tether/testkit';
import { Cluster, eventually, some, sleep } from '../packages/hub/test/cluster/harness.js';
import type { Instance } from '../packages/hub/test/cluster/harness.js';
import { summary } from './lib.js';

const DEFAULT_DATABASE = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
const THREE = ['hub-a', 'hub-b', 'hub-c'];
const VICTIM = 'hub-b';
/** "Shared evenly": within 30 % of the fair share, as the e2e test has it. */
const TOLERANCE = 0.3;
const IDLE_SETTLE_MS = 15_000;
const IDLE_WINDOW_MS = 20_000;
const DOC = new URL('../docs/benchmarks.md', import.meta.url);

const log = (line: string) => console.log(`[cluster] ${line}`);
/** How the instances were run (bin or source, and why), as each cluster chose. */
const modes = new Set<string>();
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

interface Services {
  redisUrl: string;
  databaseUrl: string;
}

/** The services' URLs, or why the cluster benchmarks cannot run. */
export async function clusterServices(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Services | string> {
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE;
  const redisUrl = env.REDIS_URL || DEFAULT_REDIS;
  const missing: string[] = [];
  if (!(await reachable(databaseUrl, 5432))) missing.push(`PostgreSQL at ${hostOf(databaseUrl)}`);
  if (!(await reachable(redisUrl, 6379))) missing.push(`Redis at ${hostOf(redisUrl)}`);
  if (missing.length === 0) return { redisUrl, databaseUrl };
  return `${missing.join(' and ')} unreachable (set DATABASE_URL and REDIS_URL)`;
}

function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
}

// ---------------------------------------------------------------------------------------------
// What /proc says about a process

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kib * 1024;
}

/** CPU time (user + system) in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / clockTicks();
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** The soft and hard limits on open files of this process (the instances inherit them). */
function fileLimits(): { soft: number; hard: number } {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const parse = (v: string | undefined) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
}

// ---------------------------------------------------------------------------------------------
// Bringing a cluster up

/** Spawns the instances; resolves when every token is ready at the simulator. */
async function startAll(
  cluster: Cluster,
  names: readonly string[],
  timeoutMs: number,
): Promise<{ listeningMs: number; readyMs: number; marks: string[] }> {
  const since = Date.now();
  await cluster.lineup(names);
  const listeningMs = Date.now() - since;
  const total = cluster.tokens.length;
  const marks: string[] = [];
  const pending = [0.5, 0.9];
  let lastReport = Date.now();
  await eventually(
    `all ${total} endpoints ready at the simulator`,
    timeoutMs,
    () => {
      const crashed = cluster.crashes();
      if (crashed.length) throw new Error(`an instance died:\n${crashed.join('\n')}`);
      const missing = cluster.notServed();
      const ready = total - missing.length;
      while (pending.length && ready >= pending[0]! * total)
        marks.push(`${pending.shift()! * 100} % at ${s(Date.now() - since)}`);
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        log(`  ${ready} of ${total} ready after ${s(Date.now() - since)}`);
      }
      return missing.length === 0 || `${missing.length} not ready (${some(missing)})`;
    },
    { intervalMs: total > 2_000 ? 250 : 50, context: () => cluster.report() },
  );
  return { listeningMs, readyMs: Date.now() - since, marks };
}

/** Waits for every endpoint served once and the shares even; returns the shares either way. */
async function balanced(
  cluster: Cluster,
  timeoutMs: number,
  intervalMs: number,
): Promise<{ counts: Record<string, number>; ms: number; problems: string[] }> {
  const since = Date.now();
  let last: { counts: Record<string, number>; problems: string[] } = { counts: {}, problems: [] };
  try {
    await eventually(
      'a settled cluster, shared evenly',
      timeoutMs,
      async () => {
        last = await cluster.shares(TOLERANCE);
        return last.problems.length === 0 || last.problems.join('; ');
      },
      { intervalMs },
    );
    return { counts: last.counts, ms: Date.now() - since, problems: [] };
  } catch (error) {
    return { counts: last.counts, ms: Date.now() - since, problems: [(error as Error).message] };
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Failover after kill -9

interface Failover {
  ttlMs: number;
  endpoints: number;
  counts: Record<string, number>;
  owned: number;
  times: number[];
  notBack: string[];
  othersMoved: number;
  maxOpen: number;
  doubles: string[];
  crashes: string[];
  startMs: number;
}

export async function failover(
  services: Services,
  ttlMs: number,
  endpoints = 1_000,
): Promise<Failover> {
  const cluster = await Cluster.create({
    redisUrl: services.redisUrl,
    databaseServerUrl: services.databaseUrl,
    endpoints,
    leaseTtlMs: ttlMs,
  });
  try {
    modes.add(`${cluster.run.mode}: ${cluster.run.why}`);
    log(`failover, leaseTtlMs ${ttlMs}: instances run as ${cluster.run.mode} (${cluster.run.why})`);
    const start = await startAll(cluster, THREE, 180_000);
    const shares = await balanced(cluster, 60_000, 500);
    if (shares.problems.length) log(`  not settled evenly: ${shares.problems.join('; ')}`);
    // Let balancing rounds that were under way finish, so the kill is the only thing moving.
    await sleep(2_000);
    const owned = (await cluster.ownedBy(VICTIM)).map((n) => cluster.tokenOf(n));
    log(`  ${endpoints} ready in ${s(start.readyMs)}; shares ${JSON.stringify(shares.counts)}`);
    const since = Date.now();
    await cluster.instance(VICTIM).kill9();
    let notBack: string[] = [];
    try {
      await eventually(
        `${VICTIM}'s endpoints ready again elsewhere`,
        3 * ttlMs + 60_000,
        () => {
          const waiting = owned.filter((t) => !cluster.watch.servedSince(t, since));
          return waiting.length === 0 || `${waiting.length} of ${owned.length} not ready again`;
        },
        { intervalMs: 20 },
      );
    } catch {
      notBack = owned.filter((t) => !cluster.watch.servedSince(t, since));
    }
    const times = owned
      .map((t) => cluster.firstAfter(t, 'ready', since))
      .filter((ms): ms is number => ms !== undefined);
    const ownedSet = new Set(owned);
    const othersMoved = cluster.watch
      .lostSince(since, cluster.tokens)
      .filter((t) => !ownedSet.has(t)).length;
    const most = cluster.mostAtOnce();
    const doubles = cluster.watch.doubles.map(
      (d) => `${d.token}: ${d.open} sockets at +${d.at - since} ms`,
    );
    return {
      ttlMs,
      endpoints,
      counts: shares.counts,
      owned: owned.length,
      times,
      notBack,
      othersMoved,
      maxOpen: most.max,
      doubles,
      crashes: cluster.crashes(),
      startMs: start.readyMs,
    };
  } finally {
    const failures = await cluster.close();
    if (failures.length) log(`cleanup problems: ${failures.join('; ')}`);
  }
}

function failoverRow(f: Failover): string {
  const t = summary(f.times);
  const back =
    f.notBack.length === 0
      ? ''
      : `; **${f.notBack.length} not ready again** after ${s(3 * f.ttlMs + 60_000)} (${some(f.notBack)})`;
  const crashes = f.crashes.length ? `; **instances died unasked: ${f.crashes.length}**` : '';
  return (
    `| kill -9 of one of three instances, ${f.endpoints.toLocaleString('en')} endpoints, leaseTtlMs ${f.ttlMs}: kill → ready again on another instance, per endpoint of the killed one (shares before ${shareText(f.counts)}) ` +
    `| p50 ${s(t.p50)}, p99 ${s(t.p99)}, max ${s(t.max)} (n = ${t.n} of ${f.owned})${back}; ` +
    `${f.othersMoved} other endpoints lost their socket meanwhile; most sockets per token at once ${f.maxOpen}${f.doubles.length ? ` (**${some(f.doubles, 3)}**)` : ''}${crashes} |`
  );
}

function shareText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// 2. 10,000 endpoints: start-up time, memory, the idle cluster's cost
//
// Nothing here polls an instance's API while the cluster comes up: at 10,000 endpoints
// GET /api/endpoints is a large answer, and polling three of them every few seconds (as
// Cluster.shares() does) loaded the instances enough to tip them into losing leases in a
// first run. Who holds what is read from Redis (Cluster.leaseHolders()), readiness from the
// simulator; the API is asked once, at the end, and its answer timed.

interface Sample {
  rss: number[];
  cpuMs: number;
}

interface Idle {
  seconds: number;
  /** Per instance name. */
  samples: Map<string, Sample>;
  redisBytesPerSecond: Map<string, { toServer: number; toClient: number }>;
  /** Slowest GET /healthz seen during the window, per instance (event-loop responsiveness). */
  healthMaxMs: Map<string, number>;
  openFiles: Map<string, number>;
  benchCpuPercent: number;
}

async function timedGet(instance: Instance, path: string): Promise<{ ms: number; bytes: number }> {
  const started = Date.now();
  const response = await fetch(`${instance.url}${path}`, { signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  return { ms: Date.now() - started, bytes: text.length };
}

async function idleWindow(
  instances: Array<{
    instance: Instance;
    proxy?: { stats(): { bytes: { toServer: number; toClient: number } } };
  }>,
): Promise<Idle> {
  const samples = new Map<string, Sample>(
    instances.map(({ instance }) => [instance.name, { rss: [], cpuMs: cpuMs(instance.pid) }]),
  );
  const health = new Map(instances.map(({ instance }) => [instance.name, 0]));
  const bytesBefore = new Map(
    instances.map(({ instance, proxy }) => [instance.name, proxy?.stats().bytes]),
  );
  const benchBefore = process.cpuUsage();
  const at = Date.now();
  while (Date.now() - at < IDLE_WINDOW_MS) {
    await Promise.all(
      instances.map(async ({ instance }) => {
        samples.get(instance.name)!.rss.push(rssBytes(instance.pid));
        try {
          const { ms } = await timedGet(instance, '/healthz');
          health.set(instance.name, Math.max(health.get(instance.name)!, ms));
        } catch {
          health.set(instance.name, Infinity);
        }
      }),
    );
    await sleep(1_000);
  }
  const elapsed = Date.now() - at;
  const bench = process.cpuUsage(benchBefore);
  const idle: Idle = {
    seconds: elapsed / 1000,
    samples,
    redisBytesPerSecond: new Map(),
    healthMaxMs: health,
    openFiles: new Map(),
    benchCpuPercent: ((bench.user + bench.system) / 1000 / elapsed) * 100,
  };
  for (const { instance, proxy } of instances) {
    const sample = samples.get(instance.name)!;
    sample.cpuMs = cpuMs(instance.pid) - sample.cpuMs;
    const then = bytesBefore.get(instance.name);
    if (proxy && then) {
      const now = proxy.stats().bytes;
      idle.redisBytesPerSecond.set(instance.name, {
        toServer: ((now.toServer - then.toServer) * 1000) / elapsed,
        toClient: ((now.toClient - then.toClient) * 1000) / elapsed,
      });
    }
    idle.openFiles.set(instance.name, openFiles(instance.pid));
  }
  return idle;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function heapUsed(instance: Instance): Promise<{ heap: number; ms: number }> {
  const started = Date.now();
  try {
    const { body } = await instance.api<string>('GET', '/metrics');
    const heap = Number(
      /^tether_process_nodejs_heap_size_used_bytes (\S+)/m.exec(String(body))?.[1],
    );
    return { heap, ms: Date.now() - started };
  } catch {
    return { heap: NaN, ms: Date.now() - started };
  }
}

/** Redis command counts (server-wide) and, with a cluster, its database's transactions. */
async function serviceCounters(
  cluster: Cluster,
): Promise<{ commands: Map<string, number>; xacts: number; at: number }> {
  const info = await cluster.redis.info('commandstats');
  const commands = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm))
    commands.set(match[1]!, Number(match[2]));
  const client = new pg.Client({ connectionString: cluster.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ x: string }>(
      'select xact_commit + xact_rollback as x from pg_stat_database where datname = current_database()',
    );
    return { commands, xacts: Number(rows[0]?.x ?? NaN), at: Date.now() };
  } finally {
    await client.end();
  }
}

/**
 * Waits until the cluster's database sees fewer than 5 transactions a second (over 5 s): the
 * status writes of the start-up have drained. Returns how long that took from now.
 */
async function storeQuiet(cluster: Cluster, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  let last = await serviceCounters(cluster);
  while (Date.now() - started < timeoutMs) {
    await sleep(5_000);
    const now = await serviceCounters(cluster);
    const rate = (now.xacts - last.xacts) / ((now.at - last.at) / 1000);
    last = now;
    if (rate < 5) return Date.now() - started;
  }
  return undefined;
}

function rates(
  before: Map<string, number>,
  after: Map<string, number>,
  seconds: number,
): Array<[string, number]> {
  return [...after]
    .map(([name, calls]): [string, number] => [name, (calls - (before.get(name) ?? 0)) / seconds])
    .filter(([, rate]) => rate > 0)
    .sort((a, b) => b[1] - a[1]);
}

const sum = (list: Array<[string, number]>) => list.reduce((total, [, n]) => total + n, 0);

/** Owners by Redis (lease holders), and why that is not a settled, even cluster yet. */
async function settledByRedis(
  cluster: Cluster,
  names: readonly string[],
): Promise<{ counts: Record<string, number>; problem?: string }> {
  const holders = await cluster.leaseHolders();
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const owner of holders.values()) counts[owner] = (counts[owner] ?? 0) + 1;
  const total = cluster.names.length;
  const fair = total / names.length;
  const slack = Math.floor(fair * TOLERANCE);
  const problems: string[] = [];
  if (holders.size < total) problems.push(`${total - holders.size} endpoints without a lease`);
  for (const n of names)
    if (Math.abs((counts[n] ?? 0) - fair) > slack)
      problems.push(`${n} holds ${counts[n] ?? 0}, outside ${Math.round(fair)} ± ${slack}`);
  const notServed = cluster.notServed().length;
  if (notServed) problems.push(`${notServed} not ready at the simulator`);
  return { counts, problem: problems.join('; ') || undefined };
}

interface Scale {
  endpoints: number;
  listeningMs: number;
  readyMs: number;
  marks: string[];
  settledMs: number;
  settleProblem?: string;
  counts: Record<string, number>;
  outagesDuringStart: number;
  idle: Idle;
  baselineName: string;
  background: Array<[string, number]>;
  redisPerSecond: Array<[string, number]>;
  pgPerSecond: number;
  /** From settling until the cluster's database saw under 5 transactions/s; undefined: never. */
  drainedMs?: number;
  api: Map<string, { ms: number; bytes: number } | string>;
  heap: Map<string, { heap: number; ms: number }>;
  viewProblems: string[];
  maxOpen: number;
  doubles: number;
  crashes: string[];
  warnings: Map<string, string[]>;
  limits: { soft: number; hard: number };
}

export async function scale(services: Services, endpoints = 10_000): Promise<Scale | string> {
  const limits = fileLimits();
  // This process holds the simulator's side of every socket; an instance may hold up to all of
  // them while the first claims run (it starts alone); plus Redis, PostgreSQL, log pipes.
  const needed = endpoints + 1_000;
  if (limits.soft < needed)
    return `open-file limit ${limits.soft} (hard ${limits.hard}) is below the ${needed} that ${endpoints} endpoints need (the simulator in this process holds one socket per endpoint; an instance may briefly hold them all): run \`ulimit -n ${Math.min(limits.hard, 65_536)}\` first`;
  const baseline = await Cluster.create({
    redisUrl: services.redisUrl,
    databaseServerUrl: services.databaseUrl,
    endpoints: 0,
    leaseTtlMs: 10_000,
  });
  let cluster: Cluster | undefined;
  try {
    const base = await baseline.launch('hub-base');
    // What the Redis server does without our cluster: other users of this machine's Redis.
    const quiet = await serviceCounters(baseline);
    await sleep(10_000);
    const quietAfter = await serviceCounters(baseline);
    const background = rates(
      quiet.commands,
      quietAfter.commands,
      (quietAfter.at - quiet.at) / 1000,
    );
    cluster = await Cluster.create({
      redisUrl: services.redisUrl,
      databaseServerUrl: services.databaseUrl,
      endpoints,
      leaseTtlMs: 10_000,
    });
    modes.add(`${cluster.run.mode}: ${cluster.run.why}`);
    log(
      `scale, ${endpoints} endpoints: instances run as ${cluster.run.mode} (${cluster.run.why}); open-file limit ${limits.soft}`,
    );
    const since = Date.now();
    const start = await startAll(cluster, THREE, 600_000);
    log(`  all ready ${s(start.readyMs)} after spawning (${start.marks.join(', ')})`);
    let last: { counts: Record<string, number>; problem?: string } = { counts: {} };
    let settleProblem: string | undefined;
    try {
      await eventually(
        'a settled cluster, shared evenly (by Redis lease holders)',
        300_000,
        async () => {
          last = await settledByRedis(cluster!, THREE);
          return last.problem ?? true;
        },
        { intervalMs: 2_000 },
      );
    } catch (error) {
      settleProblem = (error as Error).message.split('\n')[0];
    }
    const settledMs = Date.now() - since;
    const settledAt = Date.now();
    const outagesDuringStart = cluster.watch.outages.length;
    log(`  settled ${s(settledMs)} after spawning: ${JSON.stringify(last.counts)}`);
    await sleep(IDLE_SETTLE_MS);
    const before = await serviceCounters(cluster);
    const measured = [
      ...(await Promise.all(
        THREE.map(async (name) => ({
          instance: cluster!.instance(name),
          proxy: await cluster!.proxyOf(name),
        })),
      )),
      { instance: base, proxy: await baseline.proxyOf('hub-base') },
    ];
    const idle = await idleWindow(measured);
    const after = await serviceCounters(cluster);
    const owners = await settledByRedis(cluster, THREE);
    const drainedMs = await storeQuiet(cluster, 120_000);
    // The API, once, after the measurements: how long one full listing takes at this size.
    const api = new Map<string, { ms: number; bytes: number } | string>();
    for (const name of THREE)
      api.set(
        name,
        await timedGet(cluster.instance(name), '/api/endpoints').catch(
          (error: Error) => error.message,
        ),
      );
    const heap = new Map<string, { heap: number; ms: number }>();
    for (const { instance } of measured) heap.set(instance.name, await heapUsed(instance));
    const views = await cluster.shares(TOLERANCE).catch((error: Error) => ({
      problems: [`could not read the views: ${error.message}`],
    }));
    const most = cluster.mostAtOnce();
    // What a double needs to be read: the token's sockets and what each instance logged.
    for (const d of cluster.watch.doubles.slice(0, 3))
      log(`  double ${d.token} at +${d.at - since} ms: ${cluster.story(d.token, d.at, since)}`);
    return {
      endpoints,
      listeningMs: start.listeningMs,
      readyMs: start.readyMs,
      marks: start.marks,
      settledMs,
      settleProblem,
      counts: owners.counts,
      outagesDuringStart,
      idle,
      baselineName: base.name,
      background,
      redisPerSecond: rates(before.commands, after.commands, (after.at - before.at) / 1000),
      pgPerSecond: (after.xacts - before.xacts) / ((after.at - before.at) / 1000),
      drainedMs: drainedMs === undefined ? undefined : drainedMs + (Date.now() - settledAt),
      api,
      heap,
      viewProblems: views.problems,
      maxOpen: most.max,
      doubles: cluster.watch.doubles.length,
      crashes: cluster.crashes(),
      warnings: new Map(cluster.live().map((i) => [i.name, tally(i.warnings)])),
      limits,
    };
  } catch (error) {
    const report = cluster
      ? `${cluster.report()}\nopen files: ${cluster
          .live()
          .map((i) => `${i.name} ${openFiles(i.pid)}`)
          .join(', ')}, this process ${openFiles(process.pid)}`
      : '';
    return `failed: ${(error as Error).message.split('\n')[0]}\n${report}`;
  } finally {
    for (const c of [cluster, baseline]) {
      const failures = (await c?.close()) ?? [];
      if (failures.length) log(`cleanup problems: ${failures.join('; ')}`);
    }
  }
}

/** Warnings by message, endpoint names folded ("endpoint ep-N: …"), as "message × count". */
function tally(lines: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) {
    let msg: string;
    try {
      const entry = JSON.parse(line) as { msg?: string; reason?: string };
      msg = String(entry.msg ?? line) + (entry.reason ? ` (${entry.reason})` : '');
    } catch {
      // The harness keeps 500 characters of a line: a long one (an error's stack) is cut.
      const field = (name: string) => new RegExp(`"${name}":"([^"]*)`).exec(line)?.[1];
      msg = field('msg') ?? (field('message') ? `error: ${field('message')}` : line);
    }
    const key = msg
      .replace(/ep-\d+/g, 'ep-N')
      .replace(/\d+ ms/g, '# ms')
      .slice(0, 120);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([msg, n]) => `"${msg}" × ${n}`);
}

export function scaleRows(r: Scale): string[] {
  const baseRss = median(r.idle.samples.get(r.baselineName)!.rss);
  const baseHeap = r.heap.get(r.baselineName)?.heap ?? NaN;
  const memory = THREE.map((name) => {
    const rss = r.idle.samples.get(name)!.rss;
    const owned = r.counts[name] ?? 0;
    const per = owned > 0 ? kb((median(rss) - baseRss) / owned) : 'n/a';
    const heap = r.heap.get(name)?.heap ?? NaN;
    return `${name}: median ${mb(median(rss))} (${mb(Math.min(...rss))}–${mb(Math.max(...rss))}) for ${owned} endpoints → **${per} per endpoint**${Number.isFinite(heap) ? `, heap used ${mb(heap)} after the window` : ''}`;
  });
  const cpu = [...THREE, r.baselineName]
    .map(
      (n) => `${n} ${((r.idle.samples.get(n)!.cpuMs / 1000 / r.idle.seconds) * 100).toFixed(1)} %`,
    )
    .join(', ');
  const redis = [...THREE, r.baselineName]
    .map((n) => {
      const b = r.idle.redisBytesPerSecond.get(n);
      return b ? `${n} ${kb(b.toServer)}/s to Redis, ${kb(b.toClient)}/s back` : `${n} ?`;
    })
    .join('; ');
  const top = (list: Array<[string, number]>) =>
    list
      .slice(0, 5)
      .map(([name, rate]) => `${name} ${Math.round(rate).toLocaleString('en')}`)
      .join(', ');
  const total = sum(r.redisPerSecond);
  const health = [...THREE, r.baselineName]
    .map((n) => `${n} ${r.idle.healthMaxMs.get(n)} ms`)
    .join(', ');
  const api = THREE.map((n) => {
    const a = r.api.get(n)!;
    return typeof a === 'string' ? `${n} failed (${a})` : `${n} ${a.ms} ms (${mb(a.bytes)})`;
  }).join(', ');
  const warnings = [...r.warnings]
    .filter(([, w]) => w.length)
    .map(([n, w]) => `${n}: ${some(w, 4)}`)
    .join('; ');
  const n = r.endpoints.toLocaleString('en');
  return [
    `| ${n} endpoints from one config file, three instances spawned at once: spawn → all ready at the simulator | all three listening after ${s(r.listeningMs)}; all ${n} ready after **${s(r.readyMs)}** (${r.marks.join(', ')}); settled (every lease held, shares within ±${TOLERANCE * 100} %, all ready) ${r.settleProblem ? `**not within 300 s**: ${oneLine(r.settleProblem).slice(0, 300)}` : `after ${s(r.settledMs)}`}: ${shareText(r.counts)}; ${r.outagesDuringStart.toLocaleString('en')} times an endpoint's ready socket closed before it settled (handovers while the shares evened out); most sockets per token at once ${r.maxOpen}${r.doubles ? ` (**${r.doubles} doubles**)` : ''}${r.crashes.length ? `; **${r.crashes.length} instances died**` : ''} |`,
    `| resident memory per instance, idle after ready (VmRSS each second over ${s(r.idle.seconds * 1000)}, ${s(IDLE_SETTLE_MS)} after settling), beyond a baseline instance with 0 endpoints run at the same time (median ${mb(baseRss)}${Number.isFinite(baseHeap) ? `, heap used ${mb(baseHeap)}` : ''}) | ${memory.join('; ')} |`,
    `| what the idle cluster of ${n} endpoints costs, over ${s(r.idle.seconds * 1000)} | CPU (share of one core): ${cpu}; the benchmark process (simulator, Redis proxies, log parsing) ${r.idle.benchCpuPercent.toFixed(1)} %. Slowest GET /healthz: ${health}. Redis traffic (each instance's own proxy): ${redis}. Redis commands/s, whole server ¹: ${Math.round(total).toLocaleString('en')} (${top(r.redisPerSecond)}), ${(total / r.endpoints).toFixed(2)} per endpoint per second; before the cluster started: ${Math.round(sum(r.background)).toLocaleString('en')}/s. PostgreSQL transactions/s on the cluster's database: ${r.pgPerSecond.toFixed(1)}, under 5/s ${r.drainedMs === undefined ? '**not within 120 s more**' : `${s(r.drainedMs)} after settling`}. Open files: ${THREE.map((x) => `${x} ${r.idle.openFiles.get(x)}`).join(', ')} (limit ${r.limits.soft}) |`,
    `| the API at ${n} endpoints, once, after the idle window | GET /api/endpoints: ${api}; GET /metrics: ${THREE.map((x) => `${x} ${r.heap.get(x)?.ms} ms`).join(', ')}; every view agrees on the owners: ${r.viewProblems.length ? `**no**: ${oneLine(r.viewProblems.join('; ')).slice(0, 300)}` : 'yes'}${warnings ? `. Warnings logged (the harness keeps each instance's last 100): ${warnings}` : ''} |`,
  ];
}

// ---------------------------------------------------------------------------------------------
// The section

/**
 * Runs the cluster benchmarks and returns the "## Cluster" section of docs/benchmarks.md, or
 * `skipped` (with why) when PostgreSQL or Redis cannot be reached.
 */
export async function clusterBench(
  command: string,
): Promise<{ section?: string; skipped?: string }> {
  const services = await clusterServices();
  if (typeof services === 'string') return { skipped: services };
  // `npm run bench` has just built every package: the instances run the dist, never the
  // sources through tsx (whose loader would count in every memory figure), even when someone
  // edits src/ meanwhile. TETHER_CLUSTER_RUN=source asks for the sources.
  process.env.TETHER_CLUSTER_RUN ??= 'bin';
  const started = new Date();
  const load = loadAverage();
  const rows: string[] = [];
  for (const ttl of [10_000, 3_000]) {
    try {
      const f = await failover(services, ttl);
      rows.push(failoverRow(f));
      log(rows.at(-1)!);
    } catch (error) {
      const message = (error as Error).message;
      rows.push(
        `| kill -9 of one of three instances, 1,000 endpoints, leaseTtlMs ${ttl} | **failed**: ${oneLine(message)} |`,
      );
      log(`failover ${ttl} failed: ${message}`);
    }
  }
  const result = await scale(services);
  if (typeof result === 'string') {
    rows.push(
      `| 10,000 endpoints over three instances | **could not be measured**: ${oneLine(result)} |`,
    );
    log(`scale: ${result}`);
  } else {
    rows.push(...scaleRows(result));
    for (const row of rows.slice(-4)) log(row);
  }
  const mode = [...modes]
    .map((m) =>
      m.startsWith('bin')
        ? `\`node packages/hub/bin/tether.js start\`: the dist that \`npm run bench\` builds first`
        : `through tsx from src/ (${m.slice(8)}), which costs memory of its own`,
    )
    .join('; ');
  const section = `## Cluster

Produced by \`${command}\` (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC), on loopback:
Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB,
${serverVersions()}. A shared, noisy machine: load average ${load} (1 / 5 / 15 min) when the run
began, other sessions' tests and benchmarks running beside it. Real \`tether start\` processes
(${mode}) with one PostgreSQL database and one Redis key prefix of their own, each instance
reaching Redis through its own TCP proxy, and one endpoint simulator (in the benchmark process)
serving every endpoint: the end-to-end harness of \`packages/hub/test/cluster/harness.ts\`.
Times come from the simulator's own timeline; "ready" is a socket whose MCP handshake finished.

| what | result |
|---|---|
${rows.join('\n')}

¹ \`INFO commandstats\` of the Redis server, which other processes on this machine may use too;
the per-instance byte counts come from each instance's own proxy and are exact.
`;
  return { section };
}

function oneLine(text: string): string {
  return text.replace(/\|/g, '\\|').split('\n').slice(0, 6).join(' / ').slice(0, 1_500);
}

function serverVersions(): string {
  const ask = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5_000 }).trim();
    } catch {
      return undefined;
    }
  };
  const redis = /v=(\S+)/.exec(ask('redis-server', ['--version']) ?? '')?.[1];
  const postgres = /(\d+(\.\d+)?)/.exec(ask('psql', ['--version']) ?? '')?.[1];
  return `PostgreSQL ${postgres ?? '?'} and Redis ${redis ?? '?'} on the same machine`;
}

/** Replaces the "## Cluster" section of docs/benchmarks.md (or appends it), nothing else. */
export function writeClusterSection(section: string): void {
  writeFileSync(DOC, withClusterSection(readFileSync(DOC, 'utf8'), section));
}

export function withClusterSection(doc: string, section: string): string {
  const body = section.trimEnd() + '\n';
  const start = doc.search(/^## Cluster$/m);
  if (start < 0) return `${doc.trimEnd()}\n\n${body}`;
  const next = doc.slice(start + 1).search(/^## /m);
  const end = next < 0 ? doc.length : start + 1 + next;
  return `${doc.slice(0, start)}${body}${next < 0 ? '' : `\n${doc.slice(end)}`}`;
}

/** The section as docs/benchmarks.md has it now, if it has one. */
export function currentClusterSection(): string | undefined {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.search(/^## Cluster$/m);
  if (start < 0) return undefined;
  const next = doc.slice(start + 1).search(/^## /m);
  return doc.slice(start, next < 0 ? doc.length : start + 1 + next).trimEnd();
}
