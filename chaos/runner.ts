// One chaos run: a real hub (child process), endpoints behind fault proxies on one simulator,
// fake stdio upstreams, a seeded fault schedule, and device-side calls checked one by one.
//
//   simulator (official mode) ◀── proxy ep1 ◀──┐
//          │  ◀── proxy ep2 ◀──────────────────┤  hub (tether start, kill -9-able)
//          │  …                                 │     ├── u1 (fake stdio, SIGKILL/SIGSTOP-able)
//   device-side workers: tools/call with        │     ├── u2
//   unique arguments on each ready socket ──────┘     └── u3 …
//
// After the schedule every fault is undone (heal), every endpoint must be ready again and
// answer a probe call to every upstream, and every call must have settled.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointSimulator, FaultProxy, seededRandom } from '@tether/testkit';
import type { Violation } from '@tether/testkit';
import { Caller, NetworkLog, sleep } from './calls.js';
import type { CallRecord, Outcome } from './calls.js';
import { ChaosConfig, DEFAULT_TUNING } from './config.js';
import { HubProcess } from './hub-process.js';
import type { HubExit } from './hub-process.js';
import { alive, signal, withEnv } from './procs.js';
import { describeEvent, makeSchedule } from './schedule.js';
import { classifyDoubleOpens, findDoubleOpens, hubReleases } from './sockets.js';
import type { DoubleOpen } from './sockets.js';
import type { ChaosEvent } from './schedule.js';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  endpoints?: number;
  servers?: number;
  workersPerEndpoint?: number;
  /** Keep the run's folder (config, hub logs, schedule, executed log) even when clean. */
  keep?: boolean;
  /** Fail on any moment with two sockets open at the endpoint, even one the network held. */
  strictSockets?: boolean;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export interface ChaosSummary {
  seed: number;
  durationMs: number;
  dir: string;
  /** Wall-clock start of the schedule (offsets in the logs count from here). */
  startedAt: number;
  schedule: ChaosEvent[];
  calls: Record<Outcome | 'made' | 'viaJob', number>;
  reasons: Record<Outcome, Record<string, number>>;
  idleWaits: number;
  maxOpen: Record<string, number>;
  doubleOpens: DoubleOpen[];
  violations: Violation[];
  hub: { starts: number; kills: number; crashes: HubExit[] };
  recovery: { ms: number; notReady: string[]; probes: number; probeFailures: string[] };
  problems: CallRecord[];
  faults: Record<string, number>;
  failures: string[];
  clean: boolean;
}

const SIM_CALL_TIMEOUT_MS = 10_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const log = options.log ?? (() => {});
  const nEndpoints = options.endpoints ?? 6;
  const nServers = options.servers ?? 3;
  const runId = `${options.seed}-${process.pid}-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), `tether-chaos-${options.seed}-`));
  const home = join(dir, 'home');
  mkdirSync(home);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  const endpointNames = Array.from({ length: nEndpoints }, (_, i) => `ep${i + 1}`);
  const servers = Array.from({ length: nServers }, (_, i) => `u${i + 1}`);
  const optional = `u${nServers + 1}`;
  const tokens = new Map(endpointNames.map((name) => [name, `chaos-${name}`]));

  const schedule = makeSchedule({
    seed: options.seed,
    durationMs: options.durationMs,
    endpoints: endpointNames,
    servers,
    optionalServer: optional,
  });
  writeFileSync(
    join(dir, 'schedule.txt'),
    `seed ${options.seed}, ${options.durationMs} ms, ${nEndpoints} endpoints, ${nServers} upstreams\n` +
      schedule.map(describeEvent).join('\n') +
      '\n',
  );
  const executed: string[] = [];
  let wasClean = false;

  try {
    // The official endpoint, with JSON-RPC pings so a socket cut off by a blackhole is closed
    // from this side too (4004 after three missed), as xiaozhi.me would.
    const sim = await EndpointSimulator.start({
      jsonRpcPing: { intervalMs: 2_000, maxMissed: 3 },
      callTimeoutMs: SIM_CALL_TIMEOUT_MS,
    });
    cleanups.push(() => sim.close());
    const proxies = new Map<string, FaultProxy>();
    for (const [i, name] of endpointNames.entries()) {
      const proxy = await FaultProxy.start({
        target: { port: sim.port },
        random: seededRandom(options.seed * 31 + i + 1),
      });
      cleanups.push(() => proxy.close());
      proxies.set(name, proxy);
    }
    const config = new ChaosConfig(
      join(dir, 'tether.config.json'),
      endpointNames.map((name) => ({
        name,
        url: proxies.get(name)!.url(`/mcp/?token=${tokens.get(name)}`),
      })),
      [...servers, optional],
      new Set([optional]),
      runId,
    );
    config.write();
    let configInvalid = false;

    const hub = new HubProcess({ config: config.file, home, logDir: dir });
    cleanups.push(() => hub.stop());
    // Children of a killed hub are orphans in their own process groups; find them by marker.
    cleanups.push(() => sweep(runId));

    const network = new NetworkLog();
    const caller = new Caller({
      sim,
      tokens,
      servers,
      network,
      random: seededRandom(options.seed ^ 0x5bd1e995),
      callTimeoutMs: SIM_CALL_TIMEOUT_MS,
      jobDeadlineMs: DEFAULT_TUNING.callTimeoutMs + 20_000,
      workersPerEndpoint: options.workersPerEndpoint ?? 3,
    });

    await hub.start();
    for (const token of tokens.values()) await sim.waitForReady({ token, timeoutMs: 20_000 });
    log(`chaos: hub up at ${hub.url}, ${nEndpoints} endpoints ready; ${schedule.length} events`);

    caller.startWorkers();
    const t0 = Date.now();
    const stopped = new Map<string, number>();
    const pendingEnables = new Set<string>();
    let startAfterRepair = false;
    const api = async (path: string, body?: unknown, timeoutMs = 3_000): Promise<string> => {
      if (!hub.url) return 'hub down';
      const response = await fetch(`${hub.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      return `HTTP ${response.status}`;
    };
    /** Starts that failed on a valid file: the hub should have come up. */
    const badStarts: string[] = [];
    const startHub = async (): Promise<string> => {
      try {
        await hub.start();
      } catch (error) {
        const message = `start failed: ${(error as Error).message}`;
        if (!configInvalid) badStarts.push(`+${((Date.now() - t0) / 1000).toFixed(3)}s ${message}`);
        return message;
      }
      const results: string[] = [];
      for (const endpoint of pendingEnables)
        results.push(
          `enable ${endpoint}: ${await api(`/api/endpoints/${endpoint}/enable`).catch(String)}`,
        );
      pendingEnables.clear();
      return ['started', ...results].join('; ');
    };

    const execute = async (e: ChaosEvent): Promise<string> => {
      switch (e.kind) {
        case 'proxy': {
          const proxy = proxies.get(e.endpoint)!;
          switch (e.op) {
            case 'blackhole':
            case 'pause':
              if (e.op === 'blackhole') proxy.blackhole(e.direction);
              else proxy.pause(e.direction);
              network.start(e.endpoint, `${e.op} ${e.direction}`);
              return 'ok';
            case 'latency':
              proxy.latency({ ms: e.ms, jitterMs: e.jitterMs });
              network.start(e.endpoint, 'latency');
              return 'ok';
            case 'pass':
            case 'resume':
              if (e.op === 'pass') proxy.pass();
              else proxy.resume();
              network.end(e.endpoint);
              return 'ok';
            case 'reset':
              return `${proxy.resetAll()} connection(s) reset`;
            case 'refuse':
              await proxy.refuse();
              return 'ok';
            case 'accept':
              await proxy.accept();
              return 'ok';
          }
          break;
        }
        case 'close':
          return `${sim.closeSockets({ code: e.code, reason: e.reason }, { token: tokens.get(e.endpoint)! })} socket(s)`;
        case 'terminate':
          return `${sim.terminateSockets({ token: tokens.get(e.endpoint)! })} socket(s)`;
        case 'upstream': {
          if (e.op === 'cont') {
            const pid = stopped.get(e.server);
            stopped.delete(e.server);
            if (pid === undefined) return 'nothing stopped';
            return signal(pid, 'SIGCONT') ? `pid ${pid}` : `pid ${pid} gone`;
          }
          const child = hub.upstreams().find((u) => u.name === e.server);
          if (!child) return 'no such upstream running';
          if (e.op === 'stop') stopped.set(e.server, child.pid);
          signal(child.pid, e.op === 'kill' ? 'SIGKILL' : 'SIGSTOP');
          return `pid ${child.pid}`;
        }
        case 'device-call':
          return caller.scheduled(e.endpoint, `${e.server}__${e.tool}`)
            ? 'sent'
            : 'no ready socket';
        case 'tools-change':
          // Not awaited: a stopped upstream would hold the schedule up.
          void api(
            `/api/tools/call`,
            {
              name: `${e.server}__tools_change`,
              arguments: { add: e.add, remove: e.remove },
            },
            15_000,
          ).then(
            (r) => note(e, `answered ${r}`),
            (error: Error) => note(e, `failed: ${error.message}`),
          );
          return 'sent';
        case 'config':
          config.apply(e.edit);
          config.write();
          if (e.edit.aspect === 'invalid') {
            configInvalid = e.edit.on;
            if (!e.edit.on && startAfterRepair) {
              startAfterRepair = false;
              return `written; ${await startHub()}`;
            }
          }
          return 'written';
        case 'api': {
          if (!hub.url) {
            if (e.op === 'enable') pendingEnables.add(e.endpoint);
            return e.op === 'enable' ? 'hub down: enable after the restart' : 'hub down';
          }
          if (e.op === 'enable') pendingEnables.delete(e.endpoint);
          return await api(`/api/endpoints/${e.endpoint}/${e.op}`);
        }
        case 'hub':
          if (e.op === 'kill') {
            const children = hub.upstreams();
            caller.hubKilled();
            await hub.kill9();
            // Orphans exit when their stdin ends; a stopped one must run to notice.
            for (const pid of stopped.values()) signal(pid, 'SIGCONT');
            stopped.clear();
            return `killed; ${children.length} upstream(s) orphaned`;
          }
          if (hub.running) return 'already running';
          if (configInvalid) {
            // The hub must refuse a broken file rather than start half-configured.
            const refused = await startHub();
            if (refused === 'started' || refused.startsWith('started;')) {
              return 'STARTED ON AN INVALID FILE';
            }
            startAfterRepair = true;
            return `refused the invalid file (${refused}); starts after the repair`;
          }
          return await startHub();
      }
      return 'ok';
    };
    const note = (e: ChaosEvent, what: string) => {
      executed.push(
        `+${((Date.now() - t0) / 1000).toFixed(3).padStart(8)}s      #${String(e.n).padStart(3, '0')} … ${what}`,
      );
    };

    let nextProgress = 10_000;
    for (const event of schedule) {
      const wait = t0 + event.at - Date.now();
      if (wait > 0) await sleep(wait);
      const offset = Date.now() - t0;
      let result: string;
      try {
        result = await execute(event);
      } catch (error) {
        result = `error: ${(error as Error).message}`;
      }
      // The actual offset first; the planned one is in schedule.txt (and the same for a seed).
      executed.push(`${describeEvent({ ...event, at: offset })} → ${result}`);
      if (offset >= nextProgress) {
        nextProgress += 10_000;
        log(`chaos: +${Math.round(offset / 1000)} s ${progress(caller.records)}`);
      }
    }
    const rest = t0 + options.durationMs - Date.now();
    if (rest > 0) await sleep(rest);

    // Heal: every fault undone, every endpoint switched on and retried.
    log(`chaos: heal at +${Math.round((Date.now() - t0) / 1000)} s ${progress(caller.records)}`);
    const healAt = Date.now();
    for (const proxy of proxies.values()) {
      proxy.pass();
      await proxy.accept();
    }
    network.endAll();
    for (const pid of stopped.values()) signal(pid, 'SIGCONT');
    stopped.clear();
    config.reset();
    config.write();
    configInvalid = false;
    for (let attempt = 0; attempt < 3 && !hub.running; attempt++) {
      executed.push(`heal: hub start → ${await startHub()}`);
    }
    await sleep(1_000);
    for (const endpoint of endpointNames) {
      for (const op of ['enable', 'retry'])
        executed.push(
          `heal: ${op} ${endpoint} → ${await api(`/api/endpoints/${endpoint}/${op}`).catch(String)}`,
        );
    }
    const notReady = await settle(sim, tokens, 45_000);
    const recoveryMs = Date.now() - healAt;
    await caller.stopWorkers();
    const probes = notReady.length === 0 ? await caller.probeAll() : [];
    const probeFailures = probes
      .filter((p) => p.outcome !== 'answered')
      .map(
        (p) =>
          `${p.endpoint} ${p.tool}: ${p.outcome} (${p.reason}${p.detail ? `: ${p.detail}` : ''})`,
      );
    if (notReady.length === 0 && probes.length < nEndpoints * nServers)
      probeFailures.push(`only ${probes.length} of ${nEndpoints * nServers} probes could be sent`);
    await caller.drain(DEFAULT_TUNING.callTimeoutMs + 25_000);
    executed.push(`heal: done in ${recoveryMs} ms; not ready: ${notReady.join(', ') || 'none'}`);
    // Stopped now, so its logs are complete for reading who let go of which socket when.
    await hub.stop();
    await sleep(200);

    // Figures.
    const records = caller.records;
    const calls = {
      made: records.length,
      answered: 0,
      failed: 0,
      cutoff: 0,
      dropped: 0,
      lost: 0,
      misdelivered: 0,
      viaJob: records.filter((r) => r.jobs > 0 && r.outcome === 'answered').length,
    };
    const reasons: ChaosSummary['reasons'] = {
      answered: {},
      failed: {},
      cutoff: {},
      dropped: {},
      lost: {},
      misdelivered: {},
    };
    for (const r of records) {
      const outcome = r.outcome ?? 'lost';
      calls[outcome]++;
      const reason = r.reason ?? '?';
      reasons[outcome][reason] = (reasons[outcome][reason] ?? 0) + 1;
    }
    const maxOpen: Record<string, number> = {};
    const doubles: ReturnType<typeof findDoubleOpens> = [];
    for (const [endpoint, token] of tokens) {
      const accounting = sim.accounting(token);
      maxOpen[endpoint] = accounting.maxOpen;
      doubles.push(...findDoubleOpens(endpoint, accounting.timeline));
    }
    const doubleOpens: DoubleOpen[] = classifyDoubleOpens(
      doubles,
      hubReleases(dir),
      hub.exits,
      network,
      t0,
    );
    const faults: Record<string, number> = {};
    for (const e of schedule) {
      if (e.undoes !== undefined) continue;
      const kind = faultKind(e);
      faults[kind] = (faults[kind] ?? 0) + 1;
    }
    const problems = records.filter(
      (r) => r.outcome === 'lost' || r.outcome === 'misdelivered' || r.outcome === 'dropped',
    );
    const violations = [...sim.violations];

    const failures: string[] = [];
    if (calls.lost > 0) failures.push(`${calls.lost} call(s) lost`);
    if (calls.misdelivered > 0) failures.push(`${calls.misdelivered} call(s) misdelivered`);
    if (calls.dropped > 0) failures.push(`${calls.dropped} finished result(s) dropped by the hub`);
    const worst = Math.max(...Object.values(maxOpen));
    const held = doubleOpens.filter((d) => !d.heldByNetwork);
    if (held.length > 0)
      failures.push(
        `${held.length} moment(s) with two sockets open for one endpoint while the hub had not let go of the older`,
      );
    else if (worst > 1 && options.strictSockets === true)
      failures.push(`an endpoint had ${worst} sockets open at once (--strict-sockets)`);
    if (violations.length > 0) failures.push(`${violations.length} referee violation(s)`);
    if (badStarts.length > 0)
      failures.push(`the hub failed to start on a valid file: ${badStarts.join('; ')}`);
    if (hub.crashes.length > 0)
      failures.push(`the hub exited by itself ${hub.crashes.length} time(s)`);
    if (notReady.length > 0) failures.push(`not ready after the heal: ${notReady.join(', ')}`);
    if (probeFailures.length > 0)
      failures.push(`${probeFailures.length} probe call(s) failed after the heal`);
    if (executed.some((line) => line.includes('STARTED ON AN INVALID FILE')))
      failures.push('the hub started on an invalid config file');
    const summary: ChaosSummary = {
      seed: options.seed,
      durationMs: options.durationMs,
      dir,
      startedAt: t0,
      schedule,
      calls,
      reasons,
      idleWaits: caller.idleWaits,
      maxOpen,
      doubleOpens,
      violations,
      hub: { starts: hub.starts, kills: hub.kills, crashes: hub.crashes },
      recovery: { ms: recoveryMs, notReady, probes: probes.length, probeFailures },
      problems,
      faults,
      failures,
      clean: failures.length === 0,
    };
    wasClean = summary.clean;
    // Every call that was not simply answered, for whoever reads a failing run.
    writeFileSync(
      join(dir, 'calls.txt'),
      records
        .filter((r) => r.outcome !== 'answered' || r.jobs > 0)
        .map(
          (r) =>
            `#${r.seq} +${((r.sentAt - t0) / 1000).toFixed(3)}s..+${(((r.endedAt ?? Date.now()) - t0) / 1000).toFixed(3)}s ${r.endpoint} ${r.tool} ${JSON.stringify(r.args)} on ${r.sockets.join('→')} jobs ${r.jobs}: ${r.outcome} (${r.reason}${r.detail ? `: ${r.detail}` : ''})\n    ${r.trail.join(' | ')}`,
        )
        .join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify(
        { ...summary, schedule: undefined, problems: problems.slice(0, 200) },
        null,
        2,
      ),
    );
    return summary;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`chaos: cleanup failed: ${(error as Error).message}`);
      }
    }
    if (executed.length > 0) writeFileSync(join(dir, 'executed.txt'), executed.join('\n') + '\n');
    // The folder stays when asked, or when the run failed: it holds what a replay needs.
    if (options.keep !== true && wasClean) rmSync(dir, { recursive: true, force: true });
  }
}

/** Until every endpoint has a ready socket and no socket opened or closed for 2 s. */
async function settle(
  sim: EndpointSimulator,
  tokens: ReadonlyMap<string, string>,
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let signature = '';
  let quietSince = Date.now();
  const notReady = () =>
    [...tokens]
      .filter(([, token]) => !sim.sockets(token).some((s) => s.state === 'ready'))
      .map(([name]) => name);
  while (Date.now() < deadline) {
    const now = [...tokens.values()]
      .map((t) => `${sim.accounting(t).opens}/${sim.accounting(t).closes}`)
      .join(',');
    if (now !== signature) {
      signature = now;
      quietSince = Date.now();
    }
    if (notReady().length === 0 && Date.now() - quietSince >= 2_000) return [];
    await sleep(100);
  }
  return notReady();
}

function faultKind(e: ChaosEvent): string {
  switch (e.kind) {
    case 'proxy':
      return `proxy ${e.op}`;
    case 'upstream':
      return `upstream ${e.op === 'kill' ? 'SIGKILL' : 'SIGSTOP'}`;
    case 'device-call':
      return `call ${e.tool}`;
    case 'config':
      return `config ${e.edit.aspect}`;
    case 'api':
      return `api ${e.op}`;
    case 'hub':
      return 'hub kill -9';
    case 'close':
      return `close ${e.code}`;
    default:
      return e.kind;
  }
}

function progress(records: readonly CallRecord[]): string {
  const count = (o: Outcome) => records.filter((r) => r.outcome === o).length;
  return `calls ${records.length}: answered ${count('answered')}, failed ${count('failed')}, cut off ${count('cutoff')}, dropped ${count('dropped')}, lost ${count('lost')}, misdelivered ${count('misdelivered')}`;
}

/** Stops what a killed hub left behind: children carrying this run's marker. */
async function sweep(runId: string): Promise<void> {
  const pids = withEnv('CHAOS_RUN', runId);
  for (const pid of pids) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 2_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
}
