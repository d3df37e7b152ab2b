import type { CallItem, EndpointView, HubEvent, ServerView, ToolView } from '@tether/protocol';

/**
 * The live half of the dashboard: what the hub pushes over SSE, folded into one state by a pure
 * reducer. Views that page through history (timeline, calls) keep their own cursors and refetch
 * when `syncStamp` or `toolsStamp` moves.
 */

/** A call as listed: live ones (from SSE) have no id yet, so every row has its own key. */
export type CallRow = Omit<CallItem, 'id'> & { id: number | null; key: string };

export interface CallFilter {
  /** '' means any. */
  endpoint: string;
  tool: string;
}

export type StreamStatus = 'connecting' | 'live' | 'down';

export interface HubState {
  endpoints: EndpointView[];
  servers: ServerView[];
  tools: ToolView[];
  /** False until the first snapshot arrived. */
  loaded: boolean;
  /** A snapshot is being fetched: events wait in `buffered` and are replayed on top of it. */
  syncing: boolean;
  buffered: HubEvent[];
  /** Moves after every snapshot: paged views reload their first page. */
  syncStamp: number;
  /** Moves after every snapshot and every `tools` event: tool lists reload. */
  toolsStamp: number;
  /** Moves with every call served, whatever the log's filter: the per-tool figures reload. */
  callStamp: number;
  stream: StreamStatus;
  syncError: string | null;
  calls: {
    filter: CallFilter;
    items: CallRow[];
    next: number | null;
    loaded: boolean;
    live: number;
  };
}

export type HubAction =
  | { type: 'stream'; status: StreamStatus }
  | { type: 'sync-start' }
  | { type: 'synced'; endpoints: EndpointView[]; servers: ServerView[] }
  | { type: 'sync-failed'; message: string }
  | { type: 'event'; event: HubEvent }
  /** Every event that arrived within one frame, in order: folded at once, one render. */
  | { type: 'events'; events: readonly HubEvent[] }
  | { type: 'tools-loaded'; tools: ToolView[] }
  | { type: 'server-removed'; id: string }
  | { type: 'calls-filter'; filter: CallFilter }
  | {
      type: 'calls-loaded';
      filter: CallFilter;
      page: { items: CallItem[]; next: number | null };
      append: boolean;
    };

/** Enough history for a glance; older rows are a "load more" away. */
export const CALLS_KEPT = 1000;

export function initialHubState(): HubState {
  return {
    endpoints: [],
    servers: [],
    tools: [],
    loaded: false,
    syncing: false,
    buffered: [],
    syncStamp: 0,
    toolsStamp: 0,
    callStamp: 0,
    stream: 'connecting',
    syncError: null,
    calls: { filter: { endpoint: '', tool: '' }, items: [], next: null, loaded: false, live: 0 },
  };
}

export function reduce(state: HubState, action: HubAction): HubState {
  switch (action.type) {
    case 'stream':
      return { ...state, stream: action.status };
    case 'sync-start':
      return { ...state, syncing: true, buffered: [] };
    case 'synced':
      // Events that arrived while the snapshot was on its way are newer than or equal to it:
      // replaying them keeps whichever is the latest truth.
      return applyEvents(
        {
          ...state,
          endpoints: action.endpoints,
          servers: action.servers,
          loaded: true,
          syncing: false,
          buffered: [],
          syncError: null,
          syncStamp: state.syncStamp + 1,
          toolsStamp: state.toolsStamp + 1,
        },
        state.buffered,
      );
    case 'sync-failed':
      return applyEvents(
        { ...state, syncing: false, buffered: [], syncError: action.message },
        state.buffered,
      );
    case 'event':
      // Calls are not part of the snapshot; they go straight to the log.
      if (state.syncing && action.event.type !== 'call')
        return { ...state, buffered: [...state.buffered, action.event] };
      return applyEvent(state, action.event);
    case 'events': {
      if (!state.syncing) return applyEvents(state, action.events);
      // As one by one: calls go to the log now, the rest wait for the snapshot. The two touch
      // different parts of the state, so splitting them keeps the outcome.
      const calls = action.events.filter((e) => e.type === 'call');
      const held = action.events.filter((e) => e.type !== 'call');
      const next = held.length > 0 ? { ...state, buffered: [...state.buffered, ...held] } : state;
      return calls.length > 0 ? applyEvents(next, calls) : next;
    }
    case 'tools-loaded':
      return { ...state, tools: action.tools };
    case 'server-removed':
      return { ...state, servers: state.servers.filter((s) => s.id !== action.id) };
    case 'calls-filter':
      if (sameFilter(state.calls.filter, action.filter)) return state;
      return {
        ...state,
        calls: { ...state.calls, filter: action.filter, items: [], next: null, loaded: false },
      };
    case 'calls-loaded':
      return loadCalls(state, action);
  }
}

export function applyEvent(state: HubState, event: HubEvent): HubState {
  switch (event.type) {
    case 'endpoint':
      return { ...state, endpoints: upsert(state.endpoints, event.endpoint) };
    case 'endpoint-removed':
      return { ...state, endpoints: state.endpoints.filter((e) => e.id !== event.id) };
    case 'server':
      return { ...state, servers: upsert(state.servers, event.server) };
    case 'tools':
      return { ...state, toolsStamp: state.toolsStamp + 1 };
    case 'call': {
      const { calls } = state;
      const callStamp = state.callStamp + 1;
      if (!matches(calls.filter, event.call)) return { ...state, callStamp };
      const row: CallRow = { ...event.call, id: null, key: `live-${calls.live + 1}` };
      return {
        ...state,
        callStamp,
        calls: {
          ...calls,
          live: calls.live + 1,
          items: [row, ...calls.items].slice(0, CALLS_KEPT),
        },
      };
    }
  }
}

/**
 * A batch of events folded in one go: the same state as `applyEvent` one by one, but each list
 * is copied once per batch, not once per event, and found by id through a map, not a scan. At
 * 10,000 endpoints and thousands of events a second that is the difference between a page that
 * keeps up and one that does not.
 */
export function applyEvents(state: HubState, events: readonly HubEvent[]): HubState {
  if (events.length === 0) return state;
  let endpoints: KeyedEdit<EndpointView> | undefined;
  let servers: KeyedEdit<ServerView> | undefined;
  let tools = 0;
  let served = 0;
  let live = state.calls.live;
  const fresh: CallRow[] = [];
  for (const event of collapse(events)) {
    switch (event.type) {
      case 'endpoint':
        (endpoints ??= new KeyedEdit(state.endpoints)).upsert(event.endpoint);
        break;
      case 'endpoint-removed':
        (endpoints ??= new KeyedEdit(state.endpoints)).remove(event.id);
        break;
      case 'server':
        (servers ??= new KeyedEdit(state.servers)).upsert(event.server);
        break;
      case 'tools':
        tools++;
        break;
      case 'call':
        served++;
        if (matches(state.calls.filter, event.call))
          fresh.push({ ...event.call, id: null, key: `live-${++live}` });
        break;
    }
  }
  const next: HubState = { ...state };
  if (endpoints) next.endpoints = endpoints.result();
  if (servers) next.servers = servers.result();
  if (tools > 0) next.toolsStamp = state.toolsStamp + tools;
  if (served > 0) next.callStamp = state.callStamp + served;
  if (fresh.length > 0) {
    fresh.reverse();
    const items = [...fresh, ...state.calls.items].slice(0, CALLS_KEPT);
    next.calls = { ...state.calls, live, items };
  }
  return next;
}

/**
 * The batch with every `endpoint` (or `server`) update that a later one for the same id
 * replaces folded into the first: the first's place, the last's value. An `endpoint-removed`
 * in between ends the run, so a remove-then-add still ends up added (at the end of the list,
 * as one by one). Applying the result gives the same state as applying the whole batch.
 */
export function collapse(events: readonly HubEvent[]): HubEvent[] {
  const out: HubEvent[] = [];
  const endpointAt = new Map<string, number>();
  const serverAt = new Map<string, number>();
  for (const event of events) {
    if (event.type === 'endpoint' || event.type === 'server') {
      const at = event.type === 'endpoint' ? endpointAt : serverAt;
      const id = event.type === 'endpoint' ? event.endpoint.id : event.server.id;
      const first = at.get(id);
      if (first !== undefined) {
        out[first] = event;
        continue;
      }
      at.set(id, out.length);
    } else if (event.type === 'endpoint-removed') {
      endpointAt.delete(event.id);
    }
    out.push(event);
  }
  return out;
}

/** A list keyed by id, edited in place on a private copy: upserts keep the place, adds append. */
class KeyedEdit<T extends { id: string }> {
  private readonly items: (T | undefined)[];
  private readonly index = new Map<string, number>();
  private removed = false;

  constructor(list: readonly T[]) {
    this.items = list.slice();
    list.forEach((item, i) => {
      if (!this.index.has(item.id)) this.index.set(item.id, i);
    });
  }

  upsert(item: T): void {
    const at = this.index.get(item.id);
    if (at !== undefined) {
      this.items[at] = item;
      return;
    }
    this.index.set(item.id, this.items.length);
    this.items.push(item);
  }

  remove(id: string): void {
    const at = this.index.get(id);
    if (at === undefined) return;
    this.items[at] = undefined;
    this.index.delete(id);
    this.removed = true;
  }

  result(): T[] {
    return this.removed
      ? this.items.filter((item): item is T => item !== undefined)
      : (this.items as T[]);
  }
}

function loadCalls(
  state: HubState,
  action: Extract<HubAction, { type: 'calls-loaded' }>,
): HubState {
  const { calls } = state;
  // An answer for a filter the person has since changed is stale.
  if (!sameFilter(calls.filter, action.filter)) return state;
  const fetched: CallRow[] = action.page.items.map((c) => ({ ...c, key: `id-${c.id}` }));
  let items: CallRow[];
  if (action.append) {
    const seen = new Set(calls.items.map((c) => c.key));
    items = [...calls.items, ...fetched.filter((c) => !seen.has(c.key))];
  } else {
    // Live rows newer than the page's newest were logged after the page was read: keep them.
    const newest = fetched[0]?.at ?? '';
    const live = calls.items.filter((c) => c.id === null && c.at > newest);
    items = [...live, ...fetched];
  }
  return {
    ...state,
    calls: { ...calls, items: items.slice(0, CALLS_KEPT), next: action.page.next, loaded: true },
  };
}

function upsert<T extends { id: string }>(list: T[], item: T): T[] {
  const index = list.findIndex((x) => x.id === item.id);
  if (index === -1) return [...list, item];
  const next = list.slice();
  next[index] = item;
  return next;
}

function matches(filter: CallFilter, call: { endpointId: string | null; tool: string }): boolean {
  return (
    (filter.endpoint === '' || call.endpointId === filter.endpoint) &&
    (filter.tool === '' || call.tool === filter.tool)
  );
}

function sameFilter(a: CallFilter, b: CallFilter): boolean {
  return a.endpoint === b.endpoint && a.tool === b.tool;
}

/** A fresh first page merged into what is shown: newest first, each entry once, older pages kept. */
export function mergeNewest<T extends { id: number }>(
  shown: { items: T[]; next: number | null; loaded: boolean },
  page: { items: T[]; next: number | null },
): { items: T[]; next: number | null; loaded: boolean } {
  if (!shown.loaded) return { items: page.items, next: page.next, loaded: true };
  const byId = new Map<number, T>();
  for (const item of [...page.items, ...shown.items])
    if (!byId.has(item.id)) byId.set(item.id, item);
  return { items: [...byId.values()].sort((a, b) => b.id - a.id), next: shown.next, loaded: true };
}

/** An older page appended: "load more". */
export function appendOlder<T extends { id: number }>(
  shown: { items: T[]; next: number | null; loaded: boolean },
  page: { items: T[]; next: number | null },
): { items: T[]; next: number | null; loaded: boolean } {
  const seen = new Set(shown.items.map((i) => i.id));
  return {
    items: [...shown.items, ...page.items.filter((i) => !seen.has(i.id))],
    next: page.next,
    loaded: true,
  };
}
