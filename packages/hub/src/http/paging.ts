import type { Context } from 'hono';
import { LinkStateSchema } from '@tether/protocol';
import type { EndpointView, LinkState } from '@tether/protocol';
import type { EndpointConfig } from '../config/types.js';
import type { HubPort } from '../hub/port.js';
import { failure } from './errors.js';
import { endpointViewOf, shownState } from './views.js';

/** The most endpoints one page holds. */
export const MAX_PAGE = 1_000;

/** What `GET /api/endpoints?limit=&after=&state=` asks for. */
export interface EndpointQuery {
  /** Absent: every endpoint after the cursor. */
  limit?: number;
  /** A name: the page starts with the first endpoint whose name sorts after it. */
  after?: string;
  state?: LinkState;
}

export interface EndpointPage {
  items: EndpointView[];
  /** Endpoints matching the query, on every page (the state filter, not the cursor). */
  total: number;
  /** The cursor for the next page; absent on the last. */
  after?: string;
}

/**
 * The list's query: undefined when there is none (the list is then the whole array in the order
 * it always had), or the 400 that says what is wrong with it.
 */
export function endpointQuery(c: Context): EndpointQuery | Response | undefined {
  const limit = c.req.query('limit');
  const after = c.req.query('after');
  const state = c.req.query('state');
  if (limit === undefined && after === undefined && state === undefined) return undefined;
  const issues: Array<{ path: string; message: string }> = [];
  // Digits only: Number() would take '', ' 5', '1e2' and '0x10'.
  const count = limit !== undefined && /^[0-9]{1,4}$/.test(limit) ? Number(limit) : NaN;
  if (limit !== undefined && !(count >= 1 && count <= MAX_PAGE))
    issues.push({ path: 'limit', message: `must be a whole number from 1 to ${MAX_PAGE}` });
  const parsed = state === undefined ? undefined : LinkStateSchema.safeParse(state);
  if (parsed?.success === false)
    issues.push({ path: 'state', message: `must be one of ${LinkStateSchema.options.join(', ')}` });
  if (issues.length > 0)
    return failure(
      c,
      400,
      'BAD_REQUEST',
      issues.map((i) => `${i.path}: ${i.message}`).join('; '),
      issues,
    );
  return {
    ...(limit !== undefined ? { limit: count } : {}),
    ...(after !== undefined ? { after } : {}),
    ...(parsed?.success ? { state: parsed.data } : {}),
  };
}

/**
 * One page of the list, in name order. The list's own order is the order the sessions were
 * created in, which moves an endpoint to the end when it is reconfigured or handed over, so a
 * cursor into it would skip or repeat endpoints; names are unique and do not move.
 *
 * Without a state filter only the page's endpoints are read and turned into views: a page of
 * 50 costs the same in a fleet of 10,000 as in one of 100 (the sort is done once per set of
 * definitions). The state filter has to read every endpoint's status to count the matches, but
 * still builds and sends views for the page alone.
 */
export function endpointPage(hub: HubPort, query: EndpointQuery): EndpointPage {
  const sorted = byName(hub.definitions());
  const from = query.after === undefined ? 0 : firstAfter(sorted, query.after);
  const limit = query.limit ?? Infinity;
  const items: EndpointView[] = [];
  if (query.state === undefined) {
    let i = from;
    for (; i < sorted.length && items.length < limit; i++) {
      const definition = sorted[i]!;
      // No session for a moment while it is restarted or handed over; the full list skips it too.
      const status = hub.endpoint(definition.name);
      if (status) items.push(endpointViewOf(definition, status));
    }
    return {
      items,
      total: sorted.length,
      ...(i < sorted.length ? { after: sorted[i - 1]!.name } : {}),
    };
  }
  let total = 0;
  let more = false;
  for (let i = 0; i < sorted.length; i++) {
    const definition = sorted[i]!;
    const status = hub.endpoint(definition.name);
    if (!status || shownState(status) !== query.state) continue;
    total += 1;
    if (i < from) continue;
    if (items.length < limit) items.push(endpointViewOf(definition, status));
    else more = true;
  }
  return { items, total, ...(more ? { after: items.at(-1)!.name } : {}) };
}

/** The RFC 8288 `Link` to the next page: the same query, continued after `after`. */
export function nextLink(path: string, query: EndpointQuery, after: string): string {
  const params = [
    ...(query.limit !== undefined ? [`limit=${query.limit}`] : []),
    ...(query.state !== undefined ? [`state=${query.state}`] : []),
    `after=${encodeURIComponent(after)}`,
  ];
  return `<${path}?${params.join('&')}>; rel="next"`;
}

/**
 * The definitions sorted by name, kept while the hub holds the same array (it replaces the
 * array, never edits it, when the configuration changes): sorting 10,000 names takes a few
 * milliseconds, which every page would otherwise pay.
 */
const sortedCache = new WeakMap<readonly EndpointConfig[], EndpointConfig[]>();
function byName(definitions: readonly EndpointConfig[]): EndpointConfig[] {
  let sorted = sortedCache.get(definitions);
  if (!sorted || sorted.length !== definitions.length) {
    sorted = [...definitions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sortedCache.set(definitions, sorted);
  }
  return sorted;
}

/** The index of the first definition whose name sorts after `name` (binary search). */
function firstAfter(sorted: readonly EndpointConfig[], name: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]!.name <= name) low = middle + 1;
    else high = middle;
  }
  return low;
}
