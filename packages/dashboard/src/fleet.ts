import type { EndpointView } from '@tether/protocol';

/**
 * The endpoint list at fleet size (10,000 endpoints from one file): counts by state, a filter,
 * and pages. Pure, so the list view only slices what it shows.
 */

export type EndpointState = EndpointView['state'];

/** The order the counts are shown in: the healthy first, then on the way up, then in trouble. */
export const STATE_ORDER = [
  'ready',
  'open',
  'connecting',
  'reconnecting',
  'backoff',
  'parked',
  'disabled',
] as const satisfies readonly EndpointState[];
type Unordered = Exclude<EndpointState, (typeof STATE_ORDER)[number]>;
const everyStateOrdered: [Unordered] extends [never] ? true : Unordered = true;
void everyStateOrdered;

export const PAGE_SIZE = 50;

export interface StateCount {
  state: string;
  n: number;
}

/** How many endpoints are in each state, in STATE_ORDER (any other state after), none left out. */
export function countStates(endpoints: readonly EndpointView[]): StateCount[] {
  const counts = new Map<string, number>();
  for (const e of endpoints) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
  const known: readonly string[] = STATE_ORDER;
  const rank = (state: string) => {
    const at = known.indexOf(state);
    return at === -1 ? known.length : at;
  };
  return [...counts]
    .map(([state, n]) => ({ state, n }))
    .sort((a, b) => rank(a.state) - rank(b.state) || a.state.localeCompare(b.state));
}

export interface EndpointFilter {
  /** Matched, ignoring case, against the name, the id and the (masked) URL; '' matches all. */
  text: string;
  /** null means any state. */
  state: string | null;
}

export function filterEndpoints(
  endpoints: readonly EndpointView[],
  filter: EndpointFilter,
): readonly EndpointView[] {
  const text = filter.text.trim().toLowerCase();
  if (text === '' && filter.state === null) return endpoints;
  return endpoints.filter(
    (e) =>
      (filter.state === null || e.state === filter.state) &&
      (text === '' ||
        e.name.toLowerCase().includes(text) ||
        e.id.toLowerCase().includes(text) ||
        e.url.toLowerCase().includes(text)),
  );
}

export interface PageSlice<T> {
  items: readonly T[];
  /** 0-based, clamped to the pages there are. */
  page: number;
  pages: number;
  /** 1-based positions of the first and last item shown; 0 and 0 when there is none. */
  from: number;
  to: number;
  total: number;
}

export function pageOf<T>(items: readonly T[], page: number, size = PAGE_SIZE): PageSlice<T> {
  const total = items.length;
  const pages = Math.max(1, Math.ceil(total / size));
  const at = Math.min(Math.max(0, Math.floor(page) || 0), pages - 1);
  const slice = items.slice(at * size, at * size + size);
  return {
    items: slice,
    page: at,
    pages,
    from: slice.length === 0 ? 0 : at * size + 1,
    to: at * size + slice.length,
    total,
  };
}

/** What pickers need of the endpoints: their ids and names, not their states. */
export type Roster = ReadonlyArray<{ readonly id: string; readonly name: string }>;

/**
 * The roster of `endpoints`, or `previous` itself when the ids and names are the same: a state
 * change then leaves the pickers (10,000 `<option>`s each) untouched.
 */
export function rosterOf(previous: Roster, endpoints: readonly EndpointView[]): Roster {
  const same =
    previous.length === endpoints.length &&
    endpoints.every((e, i) => previous[i]?.id === e.id && previous[i]?.name === e.name);
  return same ? previous : endpoints.map((e) => ({ id: e.id, name: e.name }));
}
