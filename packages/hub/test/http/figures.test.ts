import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeStdioServerParams } from '@tether/testkit';
import { ToolStatsSchema, UptimeSchema } from '@tether/protocol';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { Hub } from '../../src/hub.js';
import { Auth } from '../../src/http/auth.js';
import { createApi } from '../../src/http/api.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/index.js';
import type { Store, TimelineEntry } from '../../src/store/types.js';

// The uptime strip and the per-tool figures through the API, from entries appended with known
// times; the API's clock is fixed, so no test waits for an hour to pass.
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = Date.UTC(2099, 0, 5);
const NOW = DAY + 23 * HOUR + 53 * MIN;
const TOKEN = 'figures-admin-token';

let store: Store;
let hub: Hub;
let app: ReturnType<typeof createApi>;

const step = (at: number, from: string, to: string, patch: Partial<TimelineEntry> = {}) =>
  store.timeline.append({
    endpointId: 'home',
    at,
    from,
    to,
    cause: 'timer',
    code: null,
    reason: null,
    detectedBy: null,
    instance: 'test',
    ...patch,
  });

beforeAll(async () => {
  store = await openStore({ file: ':memory:' });
  await store.migrate();
  const { command, args } = fakeStdioServerParams();
  hub = new Hub(
    {
      // Switched off: the strip is what the test wrote, not a live link's.
      endpoints: [
        {
          name: 'home',
          url: 'ws://127.0.0.1:9/mcp/?token=x',
          enabled: false,
          tools: { include: ['*'], exclude: [] },
          source: 'file',
        },
      ],
      servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
      hub: { ...DEFAULT_HUB, port: 0 },
      notifications: [],
    },
    { logger: silentLogger(), store, instance: 'figures-test' },
  );
  await hub.start();
  app = createApi(hub, { now: () => NOW });

  // Ready since before the window; lost by heartbeat at 06:02, back at 06:09.
  await step(DAY - HOUR, 'open', 'ready', { cause: 'ready' });
  await step(DAY + 6 * HOUR + 2 * MIN, 'ready', 'backoff', {
    cause: 'heartbeat',
    detectedBy: 'heartbeat',
  });
  await step(DAY + 6 * HOUR + 3 * MIN, 'backoff', 'connecting');
  await step(DAY + 6 * HOUR + 9 * MIN - 500, 'connecting', 'open', { cause: 'open' });
  await step(DAY + 6 * HOUR + 9 * MIN, 'open', 'ready', { cause: 'ready' });

  const call = (at: number, durationMs: number, outcome: 'ok' | 'error') => ({
    endpointId: 'home',
    tool: 'fake__add',
    server: 'fake',
    at,
    durationMs,
    outcome,
    argsBytes: 10,
    resultBytes: 10,
    error: outcome === 'error' ? 'failed' : null,
  });
  // Ten calls at 20:xx taking 10…100 ms, the last one failing; one from yesterday.
  await store.toolCalls.appendMany([
    call(DAY - 2 * HOUR, 5, 'ok'),
    ...Array.from({ length: 10 }, (_, i) =>
      call(DAY + 20 * HOUR + i * MIN, (i + 1) * 10, i === 9 ? 'error' : 'ok'),
    ),
  ]);
}, 30_000);

afterAll(async () => {
  await hub?.stop();
  await store?.close();
});

async function get(path: string, api = app) {
  const response = await api.request(path);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('uptime strip in the API', () => {
  it("answers the endpoint's last day as 96 quarter hours, the outage's one red", async () => {
    const { status, body } = await get('/api/endpoints/home/uptime');
    expect(status).toBe(200);
    const uptime = UptimeSchema.parse(body);
    expect(uptime).toMatchObject({
      endpoint: 'home',
      from: new Date(DAY).toISOString(),
      to: new Date(NOW).toISOString(),
      bucketMs: 15 * MIN,
      truncated: false,
    });
    expect(uptime.buckets).toHaveLength(96);
    const red = uptime.buckets.filter((b) => b.level === 'down');
    expect(red).toMatchObject([
      {
        start: new Date(DAY + 6 * HOUR).toISOString(),
        end: new Date(DAY + 6 * HOUR + 15 * MIN).toISOString(),
        degradedMs: MIN,
        downMs: 6 * MIN,
        reconnects: 1,
        causes: [{ cause: 'heartbeat', detectedBy: 'heartbeat', count: 1 }],
      },
    ]);
    expect(uptime.buckets.filter((b) => b.level !== 'ready')).toEqual(red);
    expect(uptime.causes).toEqual([
      { cause: 'heartbeat', code: null, detectedBy: 'heartbeat', count: 1 },
    ]);
    expect(uptime.totals.uptime).toBeCloseTo(1 - (7 * MIN) / (23 * HOUR + 53 * MIN), 9);
  });

  it('takes fewer, wider buckets and a shorter window when asked', async () => {
    const { body } = await get('/api/endpoints/home/uptime?hours=12&buckets=24');
    const uptime = UptimeSchema.parse(body);
    expect(uptime.bucketMs).toBe(30 * MIN);
    expect(uptime.buckets).toHaveLength(24);
    expect(uptime.from).toBe(new Date(DAY + 12 * HOUR).toISOString());
    // The outage was before this window.
    expect(uptime.buckets.every((b) => b.level === 'ready')).toBe(true);
  });

  it.each([
    ['hours=0', 'hours'],
    ['hours=169', 'hours'],
    ['buckets=289', 'buckets'],
    ['buckets=abc', 'buckets'],
    ['hours=24&buckets=100', 'whole minutes'],
  ])('refuses %s with a 400 that says what is wrong', async (query, said) => {
    const { status, body } = await get(`/api/endpoints/home/uptime?${query}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((body.error as { message: string }).message).toContain(said);
  });

  it('says 404 for an endpoint that does not exist', async () => {
    expect((await get('/api/endpoints/nowhere/uptime')).status).toBe(404);
  });
});

describe('per-tool figures in the API', () => {
  it('answers calls per hour, p50/p95, error rate, usage count and last use', async () => {
    const { status, body } = await get('/api/tools/stats');
    expect(status).toBe(200);
    const stats = ToolStatsSchema.parse(body);
    expect(stats).toMatchObject({ hours: 24, from: new Date(DAY).toISOString() });
    const add = stats.tools.find((t) => t.name === 'fake__add')!;
    expect(add).toMatchObject({
      server: 'fake',
      calls: 10,
      errors: 1,
      errorRate: 0.1,
      p50Ms: 50,
      p95Ms: 100,
      latency: 'exact',
      usageCount: 11,
      lastUsedAt: new Date(DAY + 20 * HOUR + 9 * MIN).toISOString(),
    });
    expect(add.perHour).toHaveLength(24);
    expect(add.perHour[20]).toBe(10);
    // Served, never called.
    expect(stats.tools.find((t) => t.name === 'fake__echo')).toMatchObject({
      calls: 0,
      usageCount: 0,
      lastUsedAt: null,
      p50Ms: null,
    });
  });

  it('refuses hours out of range', async () => {
    expect((await get('/api/tools/stats?hours=200')).status).toBe(400);
  });

  it('documents both routes in the OpenAPI document', async () => {
    const { body } = await get('/api/openapi.json');
    const paths = body.paths as Record<string, Record<string, unknown>>;
    expect(paths['/api/endpoints/{id}/uptime']?.get).toBeDefined();
    expect(paths['/api/tools/stats']?.get).toBeDefined();
  });
});

describe('figures with an admin token', () => {
  it('needs the token, like the rest of the API', async () => {
    const secured = createApi(hub, { auth: new Auth({ token: TOKEN }), now: () => NOW });
    for (const path of ['/api/endpoints/home/uptime', '/api/tools/stats']) {
      expect((await secured.request(path)).status).toBe(401);
      const ok = await secured.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
    }
  });
});

describe('per-tool figures once the call log is pruned', () => {
  // Last in this file: it empties the log the tests above read.
  it('still answers the whole day, with p50/p95 marked estimated', async () => {
    await store.toolCalls.prune(0, Infinity);
    const stats = ToolStatsSchema.parse((await get('/api/tools/stats')).body);
    const add = stats.tools.find((t) => t.name === 'fake__add')!;
    expect(add).toMatchObject({
      calls: 10,
      errors: 1,
      errorRate: 0.1,
      latency: 'estimated',
      usageCount: 11,
    });
    expect(add.perHour[20]).toBe(10);
    // From the histogram: the 5th of 10 is the last of three in (20, 50] ms, the 10th the
    // last of five in (50, 100] ms.
    expect(add.p50Ms).toBe(50);
    expect(add.p95Ms).toBe(100);
  });
});
