// The fault schedule: a pure function of the seed and the run's shape, so a failing seed
// replays the same faults at the same offsets. Faults that last (a blackhole, a SIGSTOP, a
// disabled endpoint, a hub that is down) are scheduled with their undo; one resource (a proxy,
// an endpoint, an upstream, a config aspect, the hub) carries one lasting fault at a time.
import { seededRandom } from '@tether/testkit';
import type { ConfigEdit } from './config.js';

export type Direction = 'toServer' | 'toClient' | 'both';

export type ChaosAction =
  | { kind: 'proxy'; endpoint: string; op: 'blackhole' | 'pause'; direction: Direction }
  | { kind: 'proxy'; endpoint: string; op: 'latency'; ms: number; jitterMs: number }
  | { kind: 'proxy'; endpoint: string; op: 'pass' | 'resume' | 'reset' | 'refuse' | 'accept' }
  | { kind: 'close'; endpoint: string; code: number; reason: string }
  | { kind: 'terminate'; endpoint: string }
  | { kind: 'upstream'; server: string; op: 'kill' | 'stop' | 'cont' }
  | { kind: 'device-call'; endpoint: string; server: string; tool: 'crash' | 'hang' }
  | { kind: 'tools-change'; server: string; add: string[]; remove: string[] }
  | { kind: 'config'; edit: ConfigEdit }
  | { kind: 'api'; endpoint: string; op: 'retry' | 'enable' | 'disable' }
  | { kind: 'hub'; op: 'kill' | 'start' };

export type ChaosEvent = ChaosAction & {
  /** Offset from the start of the run, ms. */
  at: number;
  /** Index in the schedule; an undo names the fault it ends. */
  n: number;
  undoes?: number;
};

export interface ScheduleShape {
  seed: number;
  durationMs: number;
  endpoints: readonly string[];
  /** Upstreams present from the start. */
  servers: readonly string[];
  /** An upstream the config edits add and remove. */
  optionalServer?: string;
  /** Quiet time at the start (everything connects) and the end (faults undone before heal). */
  warmupMs?: number;
  cooldownMs?: number;
}

type Fault =
  | 'blackhole'
  | 'pause'
  | 'latency'
  | 'reset'
  | 'outage'
  | 'close'
  | 'terminate'
  | 'upstream-kill'
  | 'upstream-stop'
  | 'crash-call'
  | 'hang-call'
  | 'tools-change'
  | 'config'
  | 'retry'
  | 'disable'
  | 'hub-kill';

const WEIGHTS: ReadonlyArray<readonly [Fault, number]> = [
  ['blackhole', 9],
  ['pause', 7],
  ['latency', 7],
  ['reset', 6],
  ['outage', 5],
  ['close', 12],
  ['terminate', 5],
  ['upstream-kill', 5],
  ['upstream-stop', 6],
  ['crash-call', 3],
  ['hang-call', 3],
  ['tools-change', 5],
  ['config', 10],
  ['retry', 4],
  ['disable', 4],
  ['hub-kill', 3],
];

/** Close codes an endpoint uses: normal, going away, server error, Xiaozhi's 4004, "not welcome". */
const CLOSES: ReadonlyArray<readonly [number, string]> = [
  [1000, 'bye'],
  [1000, 'replaced by a new connection'],
  [1001, 'going away'],
  [1011, 'keepalive ping timeout'],
  [1012, 'service restart'],
  [4004, 'Internal server error'],
  [4000, 'idle'],
  [4401, 'token expired'],
  [1008, 'invalid token'],
];

export function makeSchedule(shape: ScheduleShape): ChaosEvent[] {
  const random = seededRandom(shape.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const warmup = shape.warmupMs ?? 2_000;
  const end = shape.durationMs - (shape.cooldownMs ?? 3_000);
  const busy = new Map<string, number>();
  const free = (resource: string, at: number) => (busy.get(resource) ?? 0) <= at;
  type Pending = ChaosAction & { at: number; undoOf?: Pending };
  const events: Pending[] = [];
  const lasting = (
    resource: string,
    at: number,
    ms: number,
    start: ChaosAction,
    undo: ChaosAction,
  ) => {
    const until = Math.min(at + ms, end);
    busy.set(resource, until + 500);
    const first: Pending = { ...start, at };
    events.push(first);
    events.push({ ...undo, at: until, undoOf: first });
  };
  const extra = { n: 0 };
  let killed = false;
  const servers = [...shape.servers];

  let at = warmup;
  while (at < end - 1_000) {
    at += int(300, 2_500);
    if (at >= end - 1_000) break;
    const hubUp = free('hub', at);
    const endpoint = pick(shape.endpoints);
    const server = pick(servers);
    // Every run long enough gets at least one kill -9 of the hub, by mid-run at the latest.
    const fault =
      !killed && at >= shape.durationMs / 2 && hubUp && at >= warmup + 3_000
        ? 'hub-kill'
        : weighted(random, WEIGHTS);
    switch (fault) {
      case 'blackhole':
      case 'pause': {
        const resource = `proxy:${endpoint}`;
        if (!free(resource, at)) break;
        const direction = pick<Direction>(['both', 'toServer', 'toClient']);
        lasting(
          resource,
          at,
          int(800, fault === 'pause' ? 6_000 : 8_000),
          { kind: 'proxy', endpoint, op: fault, direction },
          { kind: 'proxy', endpoint, op: fault === 'pause' ? 'resume' : 'pass' },
        );
        break;
      }
      case 'latency': {
        const resource = `proxy:${endpoint}`;
        if (!free(resource, at)) break;
        lasting(
          resource,
          at,
          int(1_000, 10_000),
          { kind: 'proxy', endpoint, op: 'latency', ms: int(20, 1_200), jitterMs: int(0, 300) },
          { kind: 'proxy', endpoint, op: 'pass' },
        );
        break;
      }
      case 'reset':
        events.push({ kind: 'proxy', endpoint, op: 'reset', at });
        break;
      case 'outage': {
        // The endpoint goes away: connections reset, new ones refused until it is back.
        const resource = `proxy:${endpoint}`;
        if (!free(resource, at)) break;
        lasting(
          resource,
          at,
          int(500, 7_000),
          { kind: 'proxy', endpoint, op: 'refuse' },
          { kind: 'proxy', endpoint, op: 'accept' },
        );
        events.push({ kind: 'proxy', endpoint, op: 'reset', at: at + 1 });
        break;
      }
      case 'close': {
        const [code, reason] = pick(CLOSES);
        events.push({ kind: 'close', endpoint, code, reason, at });
        break;
      }
      case 'terminate':
        events.push({ kind: 'terminate', endpoint, at });
        break;
      case 'upstream-kill':
        if (!hubUp || !free(`up:${server}`, at)) break;
        events.push({ kind: 'upstream', server, op: 'kill', at });
        busy.set(`up:${server}`, at + 1_000);
        break;
      case 'upstream-stop':
        if (!hubUp || !free(`up:${server}`, at)) break;
        lasting(
          `up:${server}`,
          at,
          int(500, 10_000),
          { kind: 'upstream', server, op: 'stop' },
          { kind: 'upstream', server, op: 'cont' },
        );
        break;
      case 'crash-call':
      case 'hang-call':
        if (!hubUp || !free(`up:${server}`, at)) break;
        events.push({
          kind: 'device-call',
          endpoint,
          server,
          tool: fault === 'crash-call' ? 'crash' : 'hang',
          at,
        });
        if (fault === 'crash-call') busy.set(`up:${server}`, at + 1_000);
        break;
      case 'tools-change': {
        if (!hubUp) break;
        const name = `extra_${++extra.n}`;
        const remove = extra.n > 2 && random() < 0.5 ? [`extra_${extra.n - 2}`] : [];
        events.push({ kind: 'tools-change', server, add: [name], remove, at });
        break;
      }
      case 'config': {
        const edit = configEdit(random, int, pick, shape, endpoint, server);
        const resource = `config:${edit.key}`;
        if (!free(resource, at)) break;
        lasting(
          resource,
          at,
          int(1_000, 12_000),
          { kind: 'config', edit: edit.apply },
          { kind: 'config', edit: edit.revert },
        );
        break;
      }
      case 'retry':
        events.push({ kind: 'api', endpoint, op: 'retry', at });
        break;
      case 'disable': {
        const resource = `api:${endpoint}`;
        if (!free(resource, at)) break;
        lasting(
          resource,
          at,
          int(500, 8_000),
          { kind: 'api', endpoint, op: 'disable' },
          { kind: 'api', endpoint, op: 'enable' },
        );
        break;
      }
      case 'hub-kill':
        if (!hubUp || at < warmup + 3_000) break;
        killed = true;
        lasting(
          'hub',
          at,
          int(0, 3_000),
          { kind: 'hub', op: 'kill' },
          { kind: 'hub', op: 'start' },
        );
        // Let the hub come up and settle before it is killed again.
        busy.set('hub', (busy.get('hub') ?? at) + 6_000);
        break;
    }
  }

  // Stable order by time; an undo at the same moment runs after what it undoes.
  const ordered = events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at - b.e.at || a.i - b.i)
    .map(({ e }) => e);
  const index = new Map<Pending, number>(ordered.map((e, n) => [e, n]));
  return ordered.map((e, n) => {
    const { undoOf, ...action } = e;
    const event: ChaosEvent = { ...action, n };
    if (undoOf) event.undoes = index.get(undoOf);
    return event;
  });
}

function configEdit(
  random: () => number,
  int: (lo: number, hi: number) => number,
  pick: <T>(items: readonly T[]) => T,
  shape: ScheduleShape,
  endpoint: string,
  server: string,
): { key: string; apply: ConfigEdit; revert: ConfigEdit } {
  const roll = random();
  if (roll < 0.22)
    return {
      key: `exclude:${endpoint}`,
      apply: {
        aspect: 'exclude',
        endpoint,
        globs: [pick([`${server}__*`, `${server}__echo`, '*__slow'])],
      },
      revert: { aspect: 'exclude', endpoint, globs: [] },
    };
  if (roll < 0.4)
    return {
      key: `extraTools:${server}`,
      apply: { aspect: 'extraTools', server, count: int(1, 4) },
      revert: { aspect: 'extraTools', server, count: 0 },
    };
  if (roll < 0.55 && shape.optionalServer)
    return {
      key: `present:${shape.optionalServer}`,
      apply: { aspect: 'serverPresent', server: shape.optionalServer, present: true },
      revert: { aspect: 'serverPresent', server: shape.optionalServer, present: false },
    };
  if (roll < 0.66) {
    const removed = shape.servers.at(-1)!;
    return {
      key: `present:${removed}`,
      apply: { aspect: 'serverPresent', server: removed, present: false },
      revert: { aspect: 'serverPresent', server: removed, present: true },
    };
  }
  if (roll < 0.78)
    return {
      key: `enabled:${endpoint}`,
      apply: { aspect: 'endpointEnabled', endpoint, enabled: false },
      revert: { aspect: 'endpointEnabled', endpoint, enabled: true },
    };
  if (roll < 0.88)
    return {
      key: 'heartbeat',
      apply: { aspect: 'heartbeat', intervalMs: pick([500, 1_500, 2_000]), misses: int(2, 3) },
      revert: { aspect: 'heartbeat', intervalMs: 1_000, misses: 2 },
    };
  return {
    key: 'invalid',
    apply: { aspect: 'invalid', on: true },
    revert: { aspect: 'invalid', on: false },
  };
}

function weighted<T>(random: () => number, table: ReadonlyArray<readonly [T, number]>): T {
  const total = table.reduce((sum, [, w]) => sum + w, 0);
  let roll = random() * total;
  for (const [value, weight] of table) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return table.at(-1)![0];
}

/** One line per event, e.g. `+12.345s #17 proxy ep3 blackhole toClient`. */
export function describeEvent(e: ChaosEvent): string {
  const head = `+${(e.at / 1000).toFixed(3).padStart(8)}s #${String(e.n).padStart(3, '0')}`;
  const tail = e.undoes === undefined ? '' : `   (ends #${String(e.undoes).padStart(3, '0')})`;
  return `${head} ${describeAction(e)}${tail}`;
}

export function describeAction(a: ChaosAction): string {
  switch (a.kind) {
    case 'proxy':
      if (a.op === 'blackhole' || a.op === 'pause')
        return `proxy ${a.endpoint} ${a.op} ${a.direction}`;
      if (a.op === 'latency') return `proxy ${a.endpoint} latency ${a.ms}±${a.jitterMs} ms`;
      return `proxy ${a.endpoint} ${a.op}`;
    case 'close':
      return `endpoint ${a.endpoint} closes ${a.code} "${a.reason}"`;
    case 'terminate':
      return `endpoint ${a.endpoint} drops the socket (no close frame)`;
    case 'upstream':
      return `upstream ${a.server} ${a.op === 'kill' ? 'SIGKILL' : a.op === 'stop' ? 'SIGSTOP' : 'SIGCONT'}`;
    case 'device-call':
      return `device on ${a.endpoint} calls ${a.server}__${a.tool}`;
    case 'tools-change':
      return `upstream ${a.server} tools: +${a.add.join(',')}${a.remove.length ? ` -${a.remove.join(',')}` : ''}`;
    case 'config':
      return `config ${describeEdit(a.edit)}`;
    case 'api':
      return `api ${a.op} ${a.endpoint}`;
    case 'hub':
      return a.op === 'kill' ? 'hub kill -9' : 'hub start';
  }
}

function describeEdit(edit: ConfigEdit): string {
  switch (edit.aspect) {
    case 'exclude':
      return `${edit.endpoint} exclude [${edit.globs.join(', ')}]`;
    case 'extraTools':
      return `${edit.server} --extra-tools ${edit.count}`;
    case 'serverPresent':
      return `${edit.present ? 'add' : 'remove'} server ${edit.server}`;
    case 'endpointEnabled':
      return `${edit.endpoint} enabled: ${edit.enabled}`;
    case 'heartbeat':
      return `heartbeat ${edit.intervalMs} ms × ${edit.misses}`;
    case 'invalid':
      return edit.on ? 'file cut in half (invalid)' : 'file repaired';
  }
}
