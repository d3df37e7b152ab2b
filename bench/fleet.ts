// One `tether start` with 10,000 endpoints in its configuration file (issue #13): a real hub
// process, as packages/hub/test/scale/ten-thousand.test.ts runs it (the built dist, a fresh home,
// SQLite), launched through the cluster harness's Instance (it waits for "API listening", keeps
// the last log lines for a failure, and no child outlives the benchmark), against the endpoint
// simulator in a child process (bench/sim-process.ts), so neither end of 10,000 sockets shares a
// process with the other or with the benchmark. Times come from the simulator's own timeline.
//
//   hub-10k     spawn → all 10,000 ready at the simulator; then, once idle, the resident memory
//               per endpoint beyond a baseline instance with 0 endpoints run at the same time
//   hub-storm   the same fleet loses its endpoint host: the simulator's process is killed (the
//               kernel resets every connection), 10 s later it is started again on the same
//               port; the busiest 100 ms of connection attempts reaching it, as a share of the
//               fleet, and how long until every endpoint is ready again
//
//   npm run build && npx tsx bench/run.ts hub-10k      (or hub-storm)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance } from '../packages/hub/test/cluster/harness.js';
import {
  cpuOf,
  median,
  percentile,
  rssOf,
  sleep,
  startSimProcess,
  startSimProcessBelowEphemeral,
} from './lib.js';
import type { Row, SimProcess } from './lib.js';

const COUNT = 10_000;
const OUTAGE_MS = 10_000;
/** After all ready: V8's memory reducer runs about 8 s after a burst of allocation. */
const IDLE_SETTLE_MS = 15_000;
const IDLE_WINDOW_MS = 10_000;
/** The hub's ConnectBudget defaults (packages/link/src/budget.ts), for the floor they set. */
const BUDGET = { ratePerSecond: 1_000, burst: 50 };

const sampleServer = fileURLToPath(
  new URL('../packages/hub/dist/demo/sample-server.js', import.meta.url),
);

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const n$ = (n: number) => n.toLocaleString('en');
const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)} %`;

/** What the simulator saw since it listened (bench/sim-process.ts, `fleet`). */
interface Fleet {
  /** When each socket was opened: each a connection attempt that reached the endpoint host. */
  opens: number[];
  /** When each handshake (initialize and tools/list answered) finished. */
  handshakes: number[];
  /** Each token's first handshake. */
  firstReady: number[];
  maxOpen: number;
  closes: Record<string, number>;
}

const fleetOf = (sim: SimProcess) => sim.request<Fleet>({ type: 'fleet' }, 'fleet');

interface Hub {
  instance: Instance;
  home: string;
}

/** A fresh home with a configuration of `endpoints` endpoints at the simulator and one server. */
function configure(simPort: number, endpoints: number): { home: string; file: string } {
  const home = mkdtempSync(join(tmpdir(), 'tether-bench-fleet-'));
  const file = join(home, 'tether.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      endpoints: Array.from({ length: endpoints }, (_, i) => ({
        name: `ep-${i}`,
        url: `ws://127.0.0.1:${simPort}/mcp/?token=ep-${i}`,
      })),
      mcpServers: { sample: { command: process.execPath, args: [sampleServer] } },
    }),
  );
  return { home, file };
}

/** `tether start` of the built dist, alone on SQLite in `home`, at the default log level. */
async function launch(name: string, home: string, file: string): Promise<Instance> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env))
    if (key.startsWith('TETHER_') || key === 'MCP_ENDPOINT' || key === 'NODE_OPTIONS')
      delete env[key];
  Object.assign(env, { TETHER_HOME: home, DATABASE_URL: '', REDIS_URL: '', NO_COLOR: '1' });
  // The dist, always: `npm run bench` builds it first, and a hub run from its sources through
  // tsx would start slower than any user's.
  return Instance.launch({ name, configFile: file, env, mode: 'bin', startTimeoutMs: 120_000 });
}

async function stop(hub: Hub | undefined): Promise<void> {
  if (!hub) return;
  if (hub.instance.alive) await hub.instance.terminate();
  rmSync(hub.home, { recursive: true, force: true });
}

/** Polls the simulator until `count` tokens had a handshake; fails at once if the hub died. */
async function allReady(
  sim: SimProcess,
  hub: Instance,
  count: number,
  timeoutMs: number,
): Promise<{ cpuMs: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  for (;;) {
    if (!hub.alive) throw new Error(`bench: ${hub.name} exited\n${hub.report()}`);
    const { ready } = await sim.request<{ ready: number }>({ type: 'progress' }, 'progress');
    // CPU within 100 ms of the last handshake: the poll's resolution.
    if (ready >= count) return { cpuMs: cpuOf(hub.pid) };
    if (Date.now() > deadline)
      throw new Error(
        `bench: ${ready} of ${count} ready after ${timeoutMs} ms (${ready - last} in the last poll)\n${hub.report()}`,
      );
    last = ready;
    await sleep(100);
  }
}

/** The most events within any aligned 100 ms bin from `from` on. */
function busiest100(times: number[], from: number): number {
  const bins = new Map<number, number>();
  for (const at of times) {
    if (at < from) continue;
    const bin = Math.floor((at - from) / 100);
    bins.set(bin, (bins.get(bin) ?? 0) + 1);
  }
  return Math.max(0, ...bins.values());
}

const closes$ = (closes: Record<string, number>) =>
  Object.entries(closes)
    .map(([key, n]) => `${n$(n)} × ${key}`)
    .join(', ') || 'none';

interface Start {
  hub: Hub;
  spawnAt: number;
  listeningMs: number;
  cpuMs: number;
  fleet: Fleet;
}

/** Spawns a hub for `count` endpoints at `sim` and waits for every one ready at the simulator. */
async function startFleet(sim: SimProcess, count: number, name: string): Promise<Start> {
  const { home, file } = configure(sim.port, count);
  let hub: Hub | undefined;
  try {
    const instance = await launch(name, home, file);
    hub = { instance, home };
    const listeningMs = Date.now() - instance.startedAt;
    const { cpuMs } = await allReady(sim, instance, count, 300_000);
    return {
      hub,
      spawnAt: instance.startedAt,
      listeningMs,
      cpuMs,
      fleet: await fleetOf(sim),
    };
  } catch (error) {
    if (hub) await stop(hub);
    else rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

/** VmRSS of each pid once a second over `windowMs`. */
async function rssWindow(pids: number[], windowMs: number): Promise<number[][]> {
  const samples = pids.map(() => [] as number[]);
  for (let t = 0; t <= windowMs; t += 1_000) {
    pids.forEach((pid, i) => samples[i]!.push(rssOf(pid)));
    if (t < windowMs) await sleep(1_000);
  }
  return samples;
}

async function heapUsed(instance: Instance): Promise<number> {
  try {
    const { body } = await instance.api<string>('GET', '/metrics');
    return Number(/^tether_process_nodejs_heap_size_used_bytes (\S+)/m.exec(String(body))?.[1]);
  } catch {
    return NaN;
  }
}

export async function hub10k(count = COUNT): Promise<Row[]> {
  const sim = await startSimProcess();
  let start: Start | undefined;
  let base: Hub | undefined;
  try {
    start = await startFleet(sim, count, 'hub-10k');
    const { fleet, spawnAt } = start;
    const ready = [...fleet.firstReady].sort((a, b) => a - b);
    const opens = [...fleet.opens].sort((a, b) => a - b);
    const readyAt = ready.at(-1)!;
    const readyMs = readyAt - spawnAt;
    const at = (p: number) => s(percentile(ready, p) - spawnAt);
    // Where the time goes: the first socket reaching the simulator, then the dial, paced by the
    // hub's connect budget (1,000 attempts/s after a burst of 50: 10,000 attempts take ≥ 9.95 s).
    const firstOpen = opens[0]! - spawnAt;
    const nthOpen = opens[count - 1]! - spawnAt;
    const dialRate = (count - 1) / ((opens[count - 1]! - opens[0]!) / 1000);
    const floorMs = ((count - BUDGET.burst) / BUDGET.ratePerSecond) * 1000;

    // A baseline: the same configuration with 0 endpoints, started now, so both sit idle the
    // same while measured. Neither has a call; the 10k hub's heartbeats are its only work.
    const baseConfig = configure(sim.port, 0);
    base = { instance: await launch('hub-base', baseConfig.home, baseConfig.file), ...baseConfig };
    await sleep(Math.max(0, readyAt + IDLE_SETTLE_MS - Date.now()));
    const [many, zero] = await rssWindow(
      [start.hub.instance.pid, base.instance.pid],
      IDLE_WINDOW_MS,
    );
    const [heapMany, heapZero] = [
      await heapUsed(start.hub.instance),
      await heapUsed(base.instance),
    ];
    const perEndpoint = (median(many!) - median(zero!)) / count;
    const after = await fleetOf(sim);
    return [
      {
        what: `${n$(count)} endpoints from one config file on one instance (\`tether start\`, SQLite, one stdio server, default log level): spawn → all ${n$(count)} ready (initialize and tools/list answered) at the endpoint simulator, in a child process`,
        result:
          `**${s(readyMs)}** (50 % at ${at(50)}, 90 % at ${at(90)}); API listening at ${s(start.listeningMs)}; ` +
          `first socket at the simulator at ${s(firstOpen)}, the ${n$(count)}th at ${s(nthOpen)} ` +
          `(${n$(Math.round(dialRate))} attempts/s; the hub's connect budget allows ${n$(BUDGET.ratePerSecond)}/s after a burst of ${BUDGET.burst}, so the dial alone takes ≥ ${s(floorMs)}); ` +
          `hub CPU ${s(start.cpuMs)} by then; ${n$(fleet.opens.length)} sockets for ${n$(count)} endpoints, at most ${fleet.maxOpen} per endpoint at once; closes: ${closes$(fleet.closes)}`,
        target: '≤ 15 s',
        met: readyMs <= 15_000,
      },
      {
        what: `resident memory per endpoint at ${n$(count)}, idle (VmRSS each second over ${s(IDLE_WINDOW_MS)}, from ${s(IDLE_SETTLE_MS)} after all ready), beyond a baseline instance with 0 endpoints and the same server run at the same time`,
        result:
          `**${(perEndpoint / 1024).toFixed(1)} KB** per endpoint: median ${mb(median(many!))} (${mb(Math.min(...many!))}–${mb(Math.max(...many!))}), ` +
          `baseline ${mb(median(zero!))}; heap used after the window ${mb(heapMany)} against ${mb(heapZero)}; ` +
          `sockets opened meanwhile ${n$(after.opens.length - fleet.opens.length)}`,
        target: '≤ 30 KB each beyond the base',
        met: perEndpoint <= 30 * 1024,
      },
    ];
  } finally {
    await stop(base);
    await stop(start?.hub);
    await sim.kill();
  }
}

export async function hubStorm(count = COUNT): Promise<Row> {
  // Below the ephemeral range: it is restarted on the same port while 10,000 links reconnect.
  let sim = await startSimProcessBelowEphemeral();
  const port = sim.port;
  let start: Start | undefined;
  try {
    start = await startFleet(sim, count, 'hub-storm');
    const readyMs = Math.max(...start.fleet.firstReady) - start.spawnAt;
    await sleep(5_000);
    await sim.kill(); // the process dies: the kernel resets every connection
    await sleep(OUTAGE_MS);
    sim = await startSimProcess(port);
    const backAt = sim.listeningAt;
    await allReady(sim, start.hub.instance, count, 180_000);
    // Attempts still arriving after the last endpoint is back (a second socket) would count too.
    await sleep(2_000);
    const fleet = await fleetOf(sim);
    const attempts = busiest100(fleet.opens, backAt);
    const handshakes = busiest100(fleet.handshakes, backAt);
    const allBackMs = Math.max(...fleet.firstReady) - backAt;
    const share = attempts / count;
    return {
      what: `reconnect storm at the hub: \`tether start\` with ${n$(count)} endpoints (all ready ${s(readyMs)} after spawn), its endpoint host (the simulator's process) killed, away ${s(OUTAGE_MS)}, started again on the same port; busiest 100 ms of connection attempts reaching the host after it listens again, as a share of the fleet`,
      result:
        `**${n$(attempts)} attempts (${pct(attempts, count)})**; busiest 100 ms of handshakes done ${n$(handshakes)} (${pct(handshakes, count)}); ` +
        `all ${n$(count)} ready ${s(allBackMs)} after the return; ${n$(fleet.opens.length)} sockets, at most ${fleet.maxOpen} per endpoint at once; closes after the return: ${closes$(fleet.closes)}`,
      target: '≤ 3 % of the fleet in the busiest 100 ms',
      met: share <= 0.03,
    };
  } finally {
    await stop(start?.hub);
    await sim.kill();
  }
}
