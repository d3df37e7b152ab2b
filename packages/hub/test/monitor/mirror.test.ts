import type { LinkStatus, Transition } from '@tether/link';
import { ManualClock } from '@tether/testkit';
import { pino } from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { EndpointStatus } from '../../src/endpoint/session.js';
import { StatusMirror } from '../../src/monitor/mirror.js';
import { StoreError } from '../../src/store/errors.js';
import type { MirroredStatus, StatusMirrorOptions } from '../../src/monitor/mirror.js';
import type {
  EndpointStatusRow,
  Store,
  TimelineEntry,
  ToolCallEntry,
} from '../../src/store/types.js';

/**
 * A store that takes writes, or fails them while `down`, noting when each was tried. Endpoints
 * in `owned` belong to another instance (their rows are fenced out), those in `removed` are no
 * longer stored.
 */
function fakeStore(clock: ManualClock) {
  const state = {
    down: false,
    tried: [] as number[],
    rows: [] as EndpointStatusRow[],
    timeline: [] as TimelineEntry[],
    /** The endpoints of each status write: one list per batch (or per single write). */
    statusWrites: [] as string[][],
    batches: [] as ToolCallEntry[][],
    owned: new Set<string>(),
    removed: new Set<string>(),
  };
  const attempt = async <T>(write: () => T): Promise<T> => {
    state.tried.push(clock.now());
    await Promise.resolve();
    if (state.down) throw new Error('connection refused');
    return write();
  };
  const store = {
    status: {
      write: (row: EndpointStatusRow) =>
        attempt(() => {
          state.statusWrites.push([row.endpointId]);
          if (state.removed.has(row.endpointId))
            throw new StoreError('STORE_CONFLICT', 'FOREIGN KEY constraint failed');
          if (state.owned.has(row.endpointId)) return false;
          state.rows.push(row);
          return true;
        }),
      writeBatch: (rows: readonly EndpointStatusRow[], entries: readonly TimelineEntry[]) =>
        attempt(() => {
          state.statusWrites.push(rows.map((row) => row.endpointId));
          const fenced = rows.map((r) => r.endpointId).filter((id) => state.owned.has(id));
          const gone = rows.map((r) => r.endpointId).filter((id) => state.removed.has(id));
          const refused = (id: string) => fenced.includes(id) || gone.includes(id);
          state.rows.push(...rows.filter((row) => !refused(row.endpointId)));
          state.timeline.push(...entries.filter((entry) => !refused(entry.endpointId)));
          return { fenced, gone };
        }),
    },
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
  const handedOver: string[] = [];
  const mirror = new StatusMirror(store, 'solo', logger, (id) => handedOver.push(id), undefined, {
    clock,
    ...options,
  });
  return { mirror, clock, state, said, handedOver };
}

/** Lets the mirror's write chains run (the fake store answers in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const lease = { endpointId: 'home', owner: 'solo', fence: 1 };
const leaseOf = (endpointId: string) => ({ endpointId, owner: 'solo', fence: 1 });
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
    // Each retry tries the row and the timeline entry together, in one batch.
    expect([...new Set(state.tried)].map((t) => t - start)).toEqual([0, 100, 300, 600, 900]);
    expect(said.filter((m) => m.startsWith('store unreachable'))).toHaveLength(1);

    state.down = false;
    clock.advance(300);
    await settle();
    expect(state.rows).toHaveLength(1);
    expect(state.timeline).toHaveLength(1);
    expect(said.at(-1)).toBe('store reachable again; every kept write landed');
    expect(clock.pending).toBe(0);

    // The next outage waits retryFirstMs again (after a quiet spell, so its first write goes
    // at once rather than with the next batch).
    clock.advance(200);
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

  it('writes one status row per endpoint per batch however many transitions it saw, and every transition to the timeline', async () => {
    const { mirror, clock, state } = mirrorWith({ batchMs: 200 });
    // After a quiet spell the first change goes at once.
    mirror.transition(lease, transition(clock.now()), status, null);
    await settle();
    expect(state.statusWrites).toEqual([['home']]);
    for (let n = 1; n <= 4; n++) {
      clock.advance(10);
      mirror.transition(lease, transition(clock.now()), { ...status, attempts: n }, null);
      if (n % 2 === 0)
        mirror.transition(
          leaseOf('den'),
          transition(clock.now()),
          { ...status, attempts: n },
          null,
        );
    }
    await settle();
    expect(state.statusWrites).toHaveLength(1); // within batchMs of the last batch: held
    clock.advance(159);
    await settle();
    expect(state.statusWrites).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(state.statusWrites).toEqual([['home'], ['home', 'den']]);
    expect(state.rows.map((r) => [r.endpointId, r.attempts])).toEqual([
      ['home', 0],
      ['home', 4],
      ['den', 4],
    ]);
    const start = 1_000_000;
    expect(state.timeline.map((e) => [e.endpointId, e.at - start])).toEqual([
      ['home', 0],
      ['home', 10],
      ['home', 20],
      ['den', 20],
      ['home', 30],
      ['home', 40],
      ['den', 40],
    ]);
    expect(clock.pending).toBe(0);
  });

  it('a fenced-out row hands the endpoint over, once, and takes its timeline entries with it', async () => {
    const { mirror, clock, state, said, handedOver } = mirrorWith({ retryFirstMs: 100 });
    state.owned.add('home');
    mirror.transition(lease, transition(clock.now()), status, null);
    await settle();
    expect(handedOver).toEqual(['home']);
    expect(said.filter((m) => m.startsWith('status write fenced out'))).toHaveLength(1);
    expect(state.rows).toEqual([]);
    expect(state.timeline).toEqual([]);

    // A row kept through an outage and refused on its retry is old news: the endpoint was
    // already given up (the lease said so), so nothing is handed over again.
    clock.advance(1_000);
    state.down = true;
    mirror.transition(leaseOf('den'), transition(clock.now()), status, null);
    await settle();
    state.down = false;
    state.owned.add('den');
    clock.advance(100);
    await settle();
    expect(handedOver).toEqual(['home']);
    expect(said.at(-1)).toBe('store reachable again; every kept write landed');
    expect(clock.pending).toBe(0);
  });

  it('drops the row of an endpoint removed meanwhile, without holding back the rest or retrying', async () => {
    const { mirror, clock, state, said, handedOver } = mirrorWith();
    state.removed.add('home');
    mirror.transition(lease, transition(clock.now()), status, null);
    mirror.transition(leaseOf('den'), transition(clock.now()), status, null);
    await settle();
    clock.advance(1_000);
    await settle();
    expect(state.rows.map((r) => r.endpointId)).toEqual(['den']);
    expect(state.timeline.map((e) => e.endpointId)).toEqual(['den']);
    expect(handedOver).toEqual([]);
    expect(said.some((m) => m.startsWith('store unreachable'))).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('flush writes what waits for the batch at once; close leaves no timer', async () => {
    const { mirror, clock, state } = mirrorWith();
    mirror.transition(lease, transition(clock.now()), status, null);
    await settle();
    mirror.transition(lease, transition(clock.now()), { ...status, state: 'ready' }, null);
    await settle();
    expect(state.rows.map((r) => r.state)).toEqual(['open']);
    await mirror.flush();
    expect(state.rows.map((r) => r.state)).toEqual(['open', 'ready']);
    expect(clock.pending).toBe(0);

    mirror.transition(lease, transition(clock.now()), { ...status, state: 'backoff' }, null);
    await settle();
    mirror.close();
    expect(clock.pending).toBe(0);
  });
});
