import type { LinkStatus, Transition } from '@tether/link';
import { ManualClock } from '@tether/testkit';
import { pino } from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { EndpointStatus } from '../../src/endpoint/session.js';
import { StatusMirror } from '../../src/monitor/mirror.js';
import type { MirroredStatus, StatusMirrorOptions } from '../../src/monitor/mirror.js';
import type {
  EndpointStatusRow,
  Store,
  TimelineEntry,
  ToolCallEntry,
} from '../../src/store/types.js';

/** A store that takes writes, or fails them while `down`, noting when each was tried. */
function fakeStore(clock: ManualClock) {
  const state = {
    down: false,
    tried: [] as number[],
    rows: [] as EndpointStatusRow[],
    timeline: [] as TimelineEntry[],
    batches: [] as ToolCallEntry[][],
  };
  const attempt = async <T>(write: () => T): Promise<T> => {
    state.tried.push(clock.now());
    await Promise.resolve();
    if (state.down) throw new Error('connection refused');
    return write();
  };
  const store = {
    status: { write: (row: EndpointStatusRow) => attempt(() => (state.rows.push(row), true)) },
    timeline: { append: (entry: TimelineEntry) => attempt(() => void state.timeline.push(entry)) },
    toolCalls: {
      appendMany: (batch: ToolCallEntry[]) => attempt(() => void state.batches.push(batch)),
    },
  } as unknown as Store;
  return { store, state };
}

function mirrorWith(options: Omit<StatusMirrorOptions, 'clock'> = {}) {
  const clock = new ManualClock(1_000_000);
  const { store, state } = fakeStore(clock);
  const said: string[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (raw: string) => void said.push(JSON.parse(raw).msg) },
  );
  const mirror = new StatusMirror(store, 'solo', logger, undefined, undefined, {
    clock,
    ...options,
  });
  return { mirror, clock, state, said };
}

/** Lets the mirror's write chains run (the fake store answers in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const lease = { endpointId: 'home', owner: 'solo', fence: 1 };
const status: MirroredStatus = {
  state: 'open',
  since: 0,
  lastClose: null,
  lastError: null,
  attempts: 0,
  nextRetryAt: null,
};
const transition = (at: number): Transition => ({
  from: 'connecting',
  to: 'open',
  at,
  cause: { type: 'open' },
  status: {} as LinkStatus,
});
const call = (tool: string): ToolCallEntry => ({
  endpointId: 'home',
  tool,
  server: 'fake',
  at: 0,
  durationMs: 1,
  outcome: 'ok',
  argsBytes: 0,
  resultBytes: 0,
  error: null,
});

describe('the status mirror on its clock', () => {
  it('takes the session status as it is (monitor/ declares the part it reads)', () => {
    expectTypeOf<EndpointStatus>().toMatchTypeOf<MirroredStatus>();
  });

  it('stamps each row with the clock', async () => {
    const { mirror, clock, state } = mirrorWith();
    clock.advance(1234);
    mirror.transition(lease, transition(clock.now()), status, 90);
    await settle();
    expect(state.rows.map((r) => r.updatedAt)).toEqual([1_001_234]);
    expect(state.timeline).toHaveLength(1);
  });

  it('logs the calls of one batch interval in one insert', async () => {
    const { mirror, clock, state } = mirrorWith({ batchMs: 50 });
    mirror.toolCall(call('a'));
    clock.advance(20);
    mirror.toolCall(call('b'));
    clock.advance(29);
    await settle();
    expect(state.batches).toEqual([]);
    clock.advance(1);
    mirror.toolCall(call('c')); // after the interval: the next batch
    await settle();
    expect(state.batches.map((b) => b.map((c) => c.tool))).toEqual([['a', 'b']]);
    clock.advance(50);
    await settle();
    expect(state.batches.map((b) => b.map((c) => c.tool))).toEqual([['a', 'b'], ['c']]);
    expect(clock.pending).toBe(0);
  });

  it('retries what the database failed with a doubling pause up to retryMaxMs, then starts over', async () => {
    const { mirror, clock, state, said } = mirrorWith({ retryFirstMs: 100, retryMaxMs: 300 });
    const start = clock.now();
    state.down = true;
    mirror.transition(lease, transition(start), status, null);
    for (const pause of [100, 200, 300, 300]) {
      await settle();
      expect(clock.nextAt).toBe(clock.now() + pause);
      clock.advance(pause);
    }
    await settle();
    // Each retry tries the row and the timeline entry at the same moment.
    expect([...new Set(state.tried)].map((t) => t - start)).toEqual([0, 100, 300, 600, 900]);
    expect(said.filter((m) => m.startsWith('store unreachable'))).toHaveLength(1);

    state.down = false;
    clock.advance(300);
    await settle();
    expect(state.rows).toHaveLength(1);
    expect(state.timeline).toHaveLength(1);
    expect(said.at(-1)).toBe('store reachable again; every kept write landed');
    expect(clock.pending).toBe(0);

    // The next outage waits retryFirstMs again.
    state.down = true;
    mirror.transition(lease, transition(clock.now()), status, null);
    await settle();
    expect(clock.nextAt).toBe(clock.now() + 100);
    mirror.close();
    expect(clock.pending).toBe(0);
  });

  it('keeps at most maxUnsent writes of a kind while the database is away, the newest', async () => {
    const { mirror, clock, state, said } = mirrorWith({ maxUnsent: 3, retryFirstMs: 100 });
    state.down = true;
    for (let i = 0; i < 5; i++) mirror.transition(lease, transition(i), status, null);
    await settle();
    state.down = false;
    clock.advance(100);
    await settle();
    expect(state.timeline.map((e) => e.at)).toEqual([2, 3, 4]);
    expect(said.at(-1)).toBe(
      'store reachable again; 2 of the oldest writes were dropped while it was away',
    );
  });
});
