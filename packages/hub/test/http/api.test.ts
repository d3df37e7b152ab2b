import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { Hub } from '../../src/hub.js';
import { createApi } from '../../src/http/api.js';
import { silentLogger } from '../../src/log/logger.js';

let sim: EndpointSimulator;
let hub: Hub;
let app: ReturnType<typeof createApi>;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.secret-part';

beforeAll(async () => {
  sim = await EndpointSimulator.start();
  const { command, args } = fakeStdioServerParams();
  hub = new Hub(
    {
      endpoints: [
        {
          name: 'home',
          url: sim.url(TOKEN),
          enabled: true,
          tools: { include: ['*'], exclude: [] },
          source: 'file',
        },
      ],
      servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
      hub: {
        ...DEFAULT_HUB,
        port: 0,
        callTimeoutMs: 5_000,
        toolChangeDebounceMs: 100,
        earlyReplyMs: 0,
      },
      notifications: [],
    },
    { logger: silentLogger() },
  );
  await hub.start();
  app = createApi(hub, 'test-instance');
  await sim.waitForReady({ token: TOKEN, timeoutMs: 10_000 });
});

afterAll(async () => {
  await hub.stop();
  await sim.close();
});

const json = async (path: string, init?: RequestInit) => {
  const response = await app.request(path, init);
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & Array<Record<string, unknown>>,
  };
};

describe('HTTP API', () => {
  it('answers /healthz', async () => {
    expect(await json('/healthz')).toEqual({ status: 200, body: { ok: true } });
  });

  it('lists endpoints with their state, and never shows the token', async () => {
    const { status, body } = await json('/api/endpoints');
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({
      id: 'home',
      name: 'home',
      enabled: true,
      state: 'ready',
      attempts: 1,
      owner: 'test-instance',
      lastClose: null,
    });
    expect(JSON.stringify(body)).not.toContain('secret-part');
  });

  it('lists tools with the endpoints that see them', async () => {
    const { body } = await json('/api/tools');
    expect(body.find((t) => t.name === 'fake__add')).toMatchObject({
      server: 'fake',
      tool: 'add',
      endpoints: ['home'],
    });
  });

  it('calls a tool', async () => {
    const { status, body } = await json('/api/tools/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fake__add', arguments: { a: 20, b: 22 } }),
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ result: { content: [{ type: 'text', text: '42' }] } });
  });

  it.each([
    ['an unknown tool', { name: 'nope__x' }, 404, 'UPSTREAM_UNKNOWN_TOOL'],
    ['a body without a name', { arguments: {} }, 400, 'BAD_REQUEST'],
    ['arguments that are not an object', { name: 'fake__add', arguments: [1] }, 400, 'BAD_REQUEST'],
  ])('answers %s with one error shape', async (_label, payload, status, code) => {
    const response = await json('/api/tools/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('answers a body that is not JSON, and an unknown route, with the same shape', async () => {
    expect(
      (await json('/api/tools/call', { method: 'POST', body: 'not json' })).body,
    ).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(await json('/api/nothing')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });

  it('retries an endpoint on request, and says so when there is none', async () => {
    expect(await json('/api/endpoints/home/retry', { method: 'POST' })).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect((await json('/api/endpoints/none/retry', { method: 'POST' })).status).toBe(404);
  });
});
