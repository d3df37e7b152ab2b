import type { CallItem, EndpointView, HubEvent, ServerView } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { CALLS_KEPT, appendOlder, initialHubState, mergeNewest, reduce } from '../src/state.js';
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
