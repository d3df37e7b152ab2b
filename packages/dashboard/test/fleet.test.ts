import type { EndpointView } from '@tether/protocol';
import { LinkStateSchema } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import {
  PAGE_SIZE,
  STATE_ORDER,
  countStates,
  filterEndpoints,
  pageOf,
  rosterOf,
} from '../src/fleet.js';

const endpoint = (id: string, patch: Partial<EndpointView> = {}): EndpointView => ({
  id,
  name: id,
  url: `wss://api.xiaozhi.me/mcp/?token=${id.slice(0, 2)}***`,
  enabled: true,
  source: 'file',
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

const fleet = Array.from({ length: 10_000 }, (_, i) =>
  endpoint(`ep-${String(i).padStart(5, '0')}`, {
    state: i < 130 ? 'connecting' : i % 1000 === 999 ? 'backoff' : 'ready',
  }),
);

describe('fleet: counts, filter, pages', () => {
  it('orders every state the protocol knows', () => {
    expect([...STATE_ORDER].sort()).toEqual([...LinkStateSchema.options].sort());
  });

  it('counts the whole fleet by state, healthy first, leaving none out', () => {
    const counts = countStates(fleet);
    expect(counts).toEqual([
      { state: 'ready', n: 9860 },
      { state: 'connecting', n: 130 },
      { state: 'backoff', n: 10 },
    ]);
    expect(counts.reduce((sum, c) => sum + c.n, 0)).toBe(10_000);
    // A state this build does not know yet still counts, after the known ones.
    const odd = [endpoint('x', { state: 'warming' as EndpointView['state'] }), endpoint('y')];
    expect(countStates(odd)).toEqual([
      { state: 'ready', n: 1 },
      { state: 'warming', n: 1 },
    ]);
  });

  it('filters by text (name, id or URL, any case) and by state', () => {
    expect(filterEndpoints(fleet, { text: '', state: null })).toBe(fleet);
    expect(filterEndpoints(fleet, { text: 'EP-0777', state: null }).map((e) => e.id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `ep-0777${i}`),
    );
    expect(filterEndpoints(fleet, { text: '  ep-07770 ', state: null })).toHaveLength(1);
    expect(filterEndpoints(fleet, { text: '', state: 'backoff' })).toHaveLength(10);
    expect(filterEndpoints(fleet, { text: 'ep-000', state: 'connecting' })).toHaveLength(100);
    expect(filterEndpoints(fleet, { text: 'api.xiaozhi.me', state: null })).toHaveLength(10_000);
    expect(filterEndpoints(fleet, { text: 'nothing', state: null })).toEqual([]);
  });

  it('slices a page and says where it is, clamping a page that no longer exists', () => {
    const first = pageOf(fleet, 0);
    expect(first.items).toHaveLength(PAGE_SIZE);
    expect(first).toMatchObject({ page: 0, pages: 200, from: 1, to: 50, total: 10_000 });
    const last = pageOf(fleet.slice(0, 120), 99);
    expect(last).toMatchObject({ page: 2, pages: 3, from: 101, to: 120, total: 120 });
    expect(last.items[0]).toBe(fleet[100]);
    expect(pageOf([], 3)).toMatchObject({ items: [], page: 0, pages: 1, from: 0, to: 0 });
    expect(pageOf(fleet, -1).page).toBe(0);
  });

  it('keeps the same roster while only states change', () => {
    const roster = rosterOf([], fleet);
    expect(roster).toHaveLength(10_000);
    const moved = fleet.map((e, i) => (i % 2 ? { ...e, state: 'backoff' as const } : e));
    expect(rosterOf(roster, moved)).toBe(roster);
    const renamed = fleet.map((e, i) => (i === 42 ? { ...e, name: 'kitchen' } : e));
    expect(rosterOf(roster, renamed)[42]).toEqual({ id: fleet[42]?.id, name: 'kitchen' });
    expect(rosterOf(roster, fleet.slice(1))).toHaveLength(9999);
  });
});
