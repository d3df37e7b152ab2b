import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EndpointSimulator, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { EndpointConfig } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { createApi } from '../../src/http/api.js';
import { silentLogger } from '../../src/log/logger.js';

// 25 endpoints configured out of name order, so a page in name order and the unpaged list in
// configured order can be told apart. One is live at the simulator; the rest are switched off
// (no sockets), which is enough for a list.
const NAMES = Array.from({ length: 25 }, (_, i) => `ep-${String(i).padStart(2, '0')}`);
const CONFIGURED = [
  ...NAMES.filter((_, i) => i % 2 === 1).reverse(),
  ...NAMES.filter((_, i) => i % 2 === 0),
];
const LIVE = 'ep-07';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.paging-secret';

let sim: EndpointSimulator;
let hub: Hub;
let app: ReturnType<typeof createApi>;

beforeAll(async () => {
  sim = await EndpointSimulator.start();
  const endpoints: EndpointConfig[] = CONFIGURED.map((name) => ({
    name,
    url: name === LIVE ? sim.url(TOKEN) : sim.url(`token-of-${name}`),
    enabled: name === LIVE,
    tools: { include: ['*'], exclude: [] },
    source: 'file',
  }));
  hub = new Hub(
    { endpoints, servers: [], hub: { ...DEFAULT_HUB, port: 0 }, notifications: [] },
    { logger: silentLogger(), instance: 'paging-instance' },
  );
  await hub.start();
  app = createApi(hub);
  await sim.waitForReady({ token: TOKEN, timeoutMs: 10_000 });
  await waitUntil(() => hub.endpoint(LIVE)?.state === 'ready', { what: `${LIVE} ready` });
});

afterAll(async () => {
  await hub.stop();
  await sim.close();
});

type Listed = Array<Record<string, unknown> & { id: string }>;
async function get(path: string) {
  const response = await app.request(path);
  return {
    status: response.status,
    body: (await response.json()) as Listed & { error?: { code: string; message: string } },
    link: response.headers.get('link'),
    total: response.headers.get('x-total-count'),
  };
}
const ids = (body: Listed) => body.map((e) => e.id);
/** The target of a `Link: <…>; rel="next"` header, or undefined. */
const nextOf = (link: string | null) => link?.match(/^<([^>]+)>;\s*rel="next"$/)?.[1];

describe('HTTP API: paging the endpoint list', () => {
  it('pages the endpoint list in name order with a Link to the next page', async () => {
    const page = await get('/api/endpoints?limit=10');
    expect(page.status).toBe(200);
    expect(ids(page.body)).toEqual(NAMES.slice(0, 10));
    expect(page.link).toBe('</api/endpoints?limit=10&after=ep-09>; rel="next"');
    expect(page.total).toBe('25');
    // The items are the same objects the full list shows, URL masked.
    expect(page.body.find((e) => e.id === LIVE)).toMatchObject({
      name: LIVE,
      source: 'file',
      enabled: true,
      state: 'ready',
      owner: 'paging-instance',
    });
    expect(JSON.stringify(page.body)).not.toContain('paging-secret');
  });

  it('gives every endpoint exactly once, in order, when following Link to the last page, which has none', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let next: string | undefined = '/api/endpoints?limit=10';
    let last: Awaited<ReturnType<typeof get>> | undefined;
    while (next) {
      last = await get(next);
      expect(last.status).toBe(200);
      expect(last.total).toBe('25');
      seen.push(...ids(last.body));
      sizes.push(last.body.length);
      next = nextOf(last.link);
      expect(sizes.length).toBeLessThan(10);
    }
    expect(seen).toEqual(NAMES);
    expect(sizes).toEqual([10, 10, 5]);
    expect(last?.link).toBeNull();
  });

  it('has no Link when a page ends exactly at the last endpoint', async () => {
    const page = await get('/api/endpoints?limit=5&after=ep-19');
    expect(ids(page.body)).toEqual(NAMES.slice(20));
    expect(page.link).toBeNull();
  });

  it('refuses a bad limit with a 400 that says what is wrong', async () => {
    for (const limit of ['0', '1001', '-1', 'ten', '2.5', '1e2', '', ' 5']) {
      const answer = await get(`/api/endpoints?limit=${encodeURIComponent(limit)}`);
      expect({ limit, status: answer.status }).toEqual({ limit, status: 400 });
      expect(answer.body.error).toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('limit'),
      });
    }
    expect((await get('/api/endpoints?limit=1000')).status).toBe(200);
    expect((await get('/api/endpoints?limit=1')).body).toHaveLength(1);
  });

  it('goes on from where an unknown cursor would sort (an endpoint deleted between pages does not break the walk)', async () => {
    const page = await get('/api/endpoints?limit=3&after=ep-07a');
    expect(ids(page.body)).toEqual(['ep-08', 'ep-09', 'ep-10']);
    expect(page.link).toBe('</api/endpoints?limit=3&after=ep-10>; rel="next"');
    const past = await get('/api/endpoints?limit=3&after=zzz');
    expect(past).toMatchObject({ status: 200, body: [], link: null, total: '25' });
    // A cursor alone, without a limit: everything after it.
    expect(ids((await get('/api/endpoints?after=ep-21')).body)).toEqual([
      'ep-22',
      'ep-23',
      'ep-24',
    ]);
  });

  it('lists only the endpoints in the state asked for, and counts them', async () => {
    const ready = await get('/api/endpoints?state=ready');
    expect(ready).toMatchObject({ status: 200, total: '1', link: null });
    expect(ids(ready.body)).toEqual([LIVE]);

    const off = await get('/api/endpoints?state=disabled&limit=20');
    expect(off.total).toBe('24');
    expect(ids(off.body)).toEqual(NAMES.filter((n) => n !== LIVE).slice(0, 20));
    expect(off.link).toBe('</api/endpoints?limit=20&state=disabled&after=ep-20>; rel="next"');
    const rest = await get(nextOf(off.link)!);
    expect(ids(rest.body)).toEqual(['ep-21', 'ep-22', 'ep-23', 'ep-24']);
    expect(rest.link).toBeNull();

    const bad = await get('/api/endpoints?state=asleep');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('state'),
    });
  });

  it('lists every endpoint as before without query parameters: one array, configured order, no paging headers', async () => {
    const all = await get('/api/endpoints');
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual(CONFIGURED);
    expect(all.link).toBeNull();
    expect(all.total).toBeNull();
  });

  it('builds only the endpoints of the page it serves, not the whole fleet', async () => {
    const every = vi.spyOn(hub, 'endpoints');
    const one = vi.spyOn(hub, 'endpoint');
    try {
      expect((await get('/api/endpoints?limit=2&after=ep-03')).body).toHaveLength(2);
      expect(every).not.toHaveBeenCalled();
      expect(one).toHaveBeenCalledTimes(2);
    } finally {
      every.mockRestore();
      one.mockRestore();
    }
  });

  it('documents the paging parameters and headers in the OpenAPI document', async () => {
    const doc = (await (await app.request('/api/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ name: string; in: string }>;
            responses: Record<string, { headers?: Record<string, unknown> }>;
          }
        >
      >;
    };
    const list = doc.paths['/api/endpoints']!.get!;
    expect(list.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual([
      'query:limit',
      'query:after',
      'query:state',
    ]);
    expect(Object.keys(list.responses['200']!.headers ?? {})).toEqual(['Link', 'X-Total-Count']);
    expect(list.responses['400']).toBeDefined();
  });
});
