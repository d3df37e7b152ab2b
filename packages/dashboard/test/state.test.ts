import type { CallItem, EndpointView, HubEvent, ServerView } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import {
  CALLS_KEPT,
  appendOlder,
  collapse,
  initialHubState,
  mergeNewest,
  reduce,
} from '../src/state.js';
import type { HubAction, HubState } from '../src/state.js';

const endpoint = (id: string, patch: Partial<EndpointView> = {}): EndpointView => ({
  id,
  name: id,
  url: 'wss://x/?token=ab***',
  enabled: true,
  source: 'api',
  state: 'ready',
  since: '2026-01-01T00:00:00.000Z',
  lastClose: null,
  lastError: null,
  attempts: 0,
  nextRetryAt: null,
  health: 100,
  owner: 'hub',
  tools: 3,
  callsInFlight: 0,
  ...patch,
});

const server = (id: string, patch: Partial<ServerView> = {}): ServerView => ({
  id,
  name: id,
  type: 'stdio',
  source: 'file',
  enabled: true,
  state: 'ready',
  since: null,
  tools: 1,
  restarts: 0,
  lastError: null,
  stderrTail: [],
  target: 'node x.js',
  health: null,
  ...patch,
});

const call = (id: number, patch: Partial<CallItem> = {}): CallItem => ({
  id,
  endpointId: 'a',
  tool: 'calc__add',
  server: 'calc',
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)).toISOString(),
  durationMs: 5,
  outcome: 'ok',
  argsBytes: 10,
  resultBytes: 20,
  error: null,
  ...patch,
});

const run = (actions: HubAction[], state: HubState = initialHubState()) =>
  actions.reduce(reduce, state);
const event = (e: HubEvent): HubAction => ({ type: 'event', event: e });
const liveCall = (c: CallItem): HubAction => {
  const { id: _id, ...rest } = c;
  return event({ type: 'call', call: rest });
};

describe('hub state: endpoints and servers', () => {
  it('applies a snapshot, then updates, adds and removes by id keeping the order', () => {
    const state = run([
      { type: 'sync-start' },
      { type: 'synced', endpoints: [endpoint('a'), endpoint('b')], servers: [server('s')] },
      event({ type: 'endpoint', endpoint: endpoint('a', { state: 'backoff', attempts: 2 }) }),
      event({ type: 'endpoint', endpoint: endpoint('c') }),
      event({ type: 'endpoint-removed', id: 'b' }),
      event({ type: 'server', server: server('s', { state: 'restarting', restarts: 1 }) }),
    ]);
    expect(state.loaded).toBe(true);
    expect(state.endpoints.map((e) => [e.id, e.state])).toEqual([
      ['a', 'backoff'],
      ['c', 'ready'],
    ]);
    expect(state.servers[0]).toMatchObject({ state: 'restarting', restarts: 1 });
    expect(run([{ type: 'server-removed', id: 's' }], state).servers).toEqual([]);
  });

  it('holds events that arrive during a fetch and replays them on top of the snapshot', () => {
    const state = run([
      { type: 'sync-start' },
      event({ type: 'endpoint', endpoint: endpoint('a', { state: 'backoff' }) }),
      event({ type: 'endpoint-removed', id: 'gone' }),
      // The snapshot was read before the drop was announced: it still says ready.
      {
        type: 'synced',
        endpoints: [endpoint('a', { state: 'ready' }), endpoint('gone')],
        servers: [],
      },
    ]);
    expect(state.endpoints.map((e) => [e.id, e.state])).toEqual([['a', 'backoff']]);
    expect(state.syncing).toBe(false);
    expect(state.buffered).toEqual([]);
  });

  it('still applies held events when the fetch fails, and says why', () => {
    const start = run([{ type: 'synced', endpoints: [endpoint('a')], servers: [] }]);
    const state = run(
      [
        { type: 'sync-start' },
        event({ type: 'endpoint', endpoint: endpoint('a', { state: 'parked' }) }),
        { type: 'sync-failed', message: 'HTTP 503' },
      ],
      start,
    );
    expect(state.endpoints[0]?.state).toBe('parked');
    expect(state.syncError).toBe('HTTP 503');
    expect(
      run([{ type: 'sync-start' }, { type: 'synced', endpoints: [], servers: [] }], state)
        .syncError,
    ).toBeNull();
  });

  it('moves the stamps that make paged views and tool lists reload', () => {
    const a = run([{ type: 'synced', endpoints: [], servers: [] }]);
    expect([a.syncStamp, a.toolsStamp]).toEqual([1, 1]);
    const b = run([event({ type: 'tools' })], a);
    expect([b.syncStamp, b.toolsStamp]).toEqual([1, 2]);
    // A tools event during a fetch waits for the snapshot like any other.
    const c = run([{ type: 'sync-start' }, event({ type: 'tools' })], b);
    expect(c.toolsStamp).toBe(2);
    expect(run([{ type: 'synced', endpoints: [], servers: [] }], c).toolsStamp).toBe(4);
  });

  it('tracks the stream', () => {
    expect(initialHubState().stream).toBe('connecting');
    expect(run([{ type: 'stream', status: 'down' }]).stream).toBe('down');
  });
});

describe('hub state: the call log', () => {
  const any = { endpoint: '', tool: '' };

  it('prepends live calls that match the filter, each with its own key', () => {
    let state = run([
      {
        type: 'calls-loaded',
        filter: any,
        page: { items: [call(2), call(1)], next: null },
        append: false,
      },
      liveCall(call(3)),
      liveCall(call(4, { endpointId: null })),
    ]);
    expect(state.calls.items.map((c) => [c.id, c.key])).toEqual([
      [null, 'live-2'],
      [null, 'live-1'],
      [2, 'id-2'],
      [1, 'id-1'],
    ]);
    state = run(
      [
        { type: 'calls-filter', filter: { endpoint: 'a', tool: '' } },
        liveCall(call(5, { endpointId: 'b' })),
        liveCall(call(6, { endpointId: 'a' })),
      ],
      state,
    );
    expect(state.calls.items.map((c) => c.endpointId)).toEqual(['a']);
  });

  it('drops an answer for a filter that is no longer chosen', () => {
    const state = run([
      { type: 'calls-filter', filter: { endpoint: '', tool: 'calc__add' } },
      { type: 'calls-loaded', filter: any, page: { items: [call(1)], next: 7 }, append: false },
    ]);
    expect(state.calls.items).toEqual([]);
    expect(state.calls.loaded).toBe(false);
  });

  it('appends older pages once each and keeps live rows newer than a reloaded first page', () => {
    let state = run([
      {
        type: 'calls-loaded',
        filter: any,
        page: { items: [call(5), call(4)], next: 4 },
        append: false,
      },
      {
        type: 'calls-loaded',
        filter: any,
        page: { items: [call(4), call(3)], next: null },
        append: true,
      },
    ]);
    expect(state.calls.items.map((c) => c.id)).toEqual([5, 4, 3]);
    expect(state.calls.next).toBeNull();
    state = run(
      [
        liveCall(call(6)),
        liveCall(call(8)),
        {
          type: 'calls-loaded',
          filter: any,
          page: { items: [call(6), call(5)], next: 5 },
          append: false,
        },
      ],
      state,
    );
    expect(state.calls.items.map((c) => c.key)).toEqual(['live-2', 'id-6', 'id-5']);
  });

  it('keeps a bounded number of rows', () => {
    const actions = Array.from({ length: CALLS_KEPT + 10 }, (_, i) => liveCall(call(i)));
    expect(run(actions).calls.items).toHaveLength(CALLS_KEPT);
  });
});

describe('hub state: events in batches', () => {
  /** A small deterministic PRNG (mulberry32), so a failing case can be replayed by its seed. */
  const prng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const states = ['connecting', 'open', 'ready', 'backoff', 'parked', 'reconnecting'] as const;

  /** Updates of known and new ids, removals, servers, tools and calls, mixed. */
  function randomEvents(random: () => number, n: number): HubEvent[] {
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    return Array.from({ length: n }, (_, i): HubEvent => {
      const r = random();
      if (r < 0.55)
        return {
          type: 'endpoint',
          endpoint: endpoint(pick(ids), { state: pick(states), attempts: i }),
        };
      if (r < 0.68) return { type: 'endpoint-removed', id: pick(ids) };
      if (r < 0.78) return { type: 'server', server: server(pick(['s', 't']), { restarts: i }) };
      if (r < 0.85) return { type: 'tools' };
      const { id: _id, ...rest } = call(i, { endpointId: pick(['a', 'b', null]) });
      return { type: 'call', call: rest };
    });
  }

  const oneByOne = (state: HubState, events: HubEvent[]) =>
    events.reduce((s, e) => reduce(s, event(e)), state);
  const batch = (events: HubEvent[]): HubAction => ({ type: 'events', events });
  const start = (filter = { endpoint: '', tool: '' }) =>
    run([
      { type: 'calls-filter', filter },
      { type: 'calls-loaded', filter, page: { items: [call(1)], next: null }, append: false },
      {
        type: 'synced',
        endpoints: [endpoint('a'), endpoint('b'), endpoint('c', { state: 'backoff' })],
        servers: [server('s')],
      },
    ]);

  it('gives the same state as applying the events one by one', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const events = randomEvents(random, 1 + Math.floor(random() * 60));
      const filter = seed % 3 === 0 ? { endpoint: 'a', tool: '' } : { endpoint: '', tool: '' };
      const from = start(filter);
      expect(reduce(from, batch(events)), `seed ${seed}`).toEqual(oneByOne(from, events));
    }
  });

  it('gives the same state however the events are cut into batches', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const random = prng(seed);
      const events = randomEvents(random, 80);
      const batches: HubEvent[][] = [];
      for (let i = 0; i < events.length;) {
        const size = 1 + Math.floor(random() * 15);
        batches.push(events.slice(i, i + size));
        i += size;
      }
      const from = start();
      expect(
        batches.reduce((s, b) => reduce(s, batch(b)), from),
        `seed ${seed}`,
      ).toEqual(oneByOne(from, events));
    }
  });

  it('holds a batch that arrives during a fetch, calls aside, and replays it on the snapshot', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const random = prng(seed);
      const events = randomEvents(random, 40);
      const from = run([{ type: 'sync-start' }], start());
      const snapshot: HubAction = {
        type: 'synced',
        endpoints: [endpoint('b', { state: 'parked' }), endpoint('z')],
        servers: [],
      };
      const batched = reduce(from, batch(events));
      const single = oneByOne(from, events);
      expect(batched, `seed ${seed}`).toEqual(single);
      expect(batched.buffered.some((e) => e.type === 'call')).toBe(false);
      expect(reduce(batched, snapshot), `seed ${seed}`).toEqual(reduce(single, snapshot));
      const failed: HubAction = { type: 'sync-failed', message: 'HTTP 503' };
      expect(reduce(batched, failed), `seed ${seed}`).toEqual(reduce(single, failed));
    }
  });

  it('collapses updates of one id to the last, in the place of the first', () => {
    const events: HubEvent[] = [
      { type: 'endpoint', endpoint: endpoint('new', { state: 'connecting' }) },
      { type: 'endpoint', endpoint: endpoint('b', { state: 'connecting' }) },
      { type: 'endpoint', endpoint: endpoint('new', { state: 'open' }) },
      { type: 'endpoint', endpoint: endpoint('later') },
      { type: 'endpoint', endpoint: endpoint('new', { state: 'ready' }) },
      { type: 'endpoint', endpoint: endpoint('b', { state: 'backoff' }) },
    ];
    const folded = collapse(events);
    expect(folded.map((e) => e.type === 'endpoint' && [e.endpoint.id, e.endpoint.state])).toEqual([
      ['new', 'ready'],
      ['b', 'backoff'],
      ['later', 'ready'],
    ]);
    const state = reduce(start(), batch(events));
    expect(state.endpoints.map((e) => [e.id, e.state])).toEqual([
      ['a', 'ready'],
      ['b', 'backoff'],
      ['c', 'backoff'],
      ['new', 'ready'],
      ['later', 'ready'],
    ]);
    expect(state).toEqual(oneByOne(start(), events));
  });

  it('does not collapse across a removal: removed then added again is added, at the end', () => {
    const events: HubEvent[] = [
      { type: 'endpoint', endpoint: endpoint('a', { state: 'backoff' }) },
      { type: 'endpoint-removed', id: 'a' },
      { type: 'endpoint', endpoint: endpoint('a', { state: 'connecting' }) },
      { type: 'endpoint', endpoint: endpoint('a', { state: 'ready', attempts: 9 }) },
    ];
    expect(collapse(events)).toEqual([
      events[0],
      events[1],
      { type: 'endpoint', endpoint: endpoint('a', { state: 'ready', attempts: 9 }) },
    ]);
    const state = reduce(start(), batch(events));
    expect(state.endpoints.map((e) => [e.id, e.state, e.attempts])).toEqual([
      ['b', 'ready', 0],
      ['c', 'backoff', 0],
      ['a', 'ready', 9],
    ]);
  });

  it('folds a reconnect wave over 10,000 endpoints like one by one, and leaves the rest alone', () => {
    const fleet = Array.from({ length: 10_000 }, (_, i) => endpoint(`ep-${i}`));
    const from = run([{ type: 'synced', endpoints: fleet, servers: [] }]);
    const wave: HubEvent[] = Array.from({ length: 3000 }, (_, i) => ({
      type: 'endpoint',
      endpoint: endpoint(`ep-${(i * 7) % 1000}`, { state: i < 2000 ? 'connecting' : 'ready' }),
    }));
    const state = reduce(from, batch(wave));
    expect(state).toEqual(oneByOne(from, wave));
    expect(state.endpoints).toHaveLength(10_000);
    expect(state.endpoints[5000]).toBe(fleet[5000]);
    expect(state.servers).toBe(from.servers);
    expect(state.calls).toBe(from.calls);
  });

  it('ignores an empty batch', () => {
    const from = start();
    expect(reduce(from, batch([]))).toBe(from);
  });
});

describe('paging helpers', () => {
  const item = (id: number) => ({ id });

  it('merges a fresh first page, newest first, keeping older pages and their cursor', () => {
    const first = mergeNewest(
      { items: [], next: null, loaded: false },
      { items: [item(9), item(8)], next: 8 },
    );
    expect(first).toEqual({ items: [item(9), item(8)], next: 8, loaded: true });
    const older = appendOlder(first, { items: [item(8), item(7)], next: null });
    expect(older.items.map((i) => i.id)).toEqual([9, 8, 7]);
    const fresh = mergeNewest(older, { items: [item(11), item(10), item(9)], next: 9 });
    expect(fresh).toEqual({ items: [11, 10, 9, 8, 7].map(item), next: null, loaded: true });
  });
});
