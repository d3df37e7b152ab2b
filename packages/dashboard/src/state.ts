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
      return state.buffered.reduce(applyEvent, {
        ...state,
        endpoints: action.endpoints,
        servers: action.servers,
        loaded: true,
        syncing: false,
        buffered: [],
        syncError: null,
        syncStamp: state.syncStamp + 1,
        toolsStamp: state.toolsStamp + 1,
      });
    case 'sync-failed':
      return state.buffered.reduce(applyEvent, {
        ...state,
        syncing: false,
        buffered: [],
        syncError: action.message,
      });
    case 'event':
      // Calls are not part of the snapshot; they go straight to the log.
      if (state.syncing && action.event.type !== 'call')
        return { ...state, buffered: [...state.buffered, action.event] };
      return applyEvent(state, action.event);
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
      if (!matches(calls.filter, event.call)) return state;
      const row: CallRow = { ...event.call, id: null, key: `live-${calls.live + 1}` };
      return {
        ...state,
        calls: {
          ...calls,
          live: calls.live + 1,
          items: [row, ...calls.items].slice(0, CALLS_KEPT),
        },
      };
    }
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
