import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { Hub } from '../../src/hub.js';
import { Auth } from '../../src/http/auth.js';
import { createApi } from '../../src/http/api.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

let sim: EndpointSimulator;
let hub: Hub;
let store: Store;
let app: ReturnType<typeof createApi>;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.secret-part';

beforeAll(async () => {
  sim = await EndpointSimulator.start();
  store = await openStore({ file: ':memory:' });
  await store.migrate();
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
      servers: [
        {
          name: 'fake',
          type: 'stdio',
          command,
          args,
          env: { API_KEY: 'very-secret-key' },
          enabled: true,
        },
      ],
      hub: {
        ...DEFAULT_HUB,
        port: 0,
        callTimeoutMs: 5_000,
        toolChangeDebounceMs: 50,
        earlyReplyMs: 0,
      },
      notifications: [],
    },
    { logger: silentLogger(), store, instance: 'test-instance' },
  );
  await hub.start();
  app = createApi(hub);
  await sim.waitForReady({ token: TOKEN, timeoutMs: 10_000 });
});

afterAll(async () => {
  await hub.stop();
  await store.close();
  await sim.close();
});

type Json = Record<string, unknown> & Array<Record<string, unknown>>;
async function json(path: string, init?: RequestInit, api = app) {
  const response = await api.request(path, init);
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as Json,
    headers: response.headers,
  };
}
const send = (method: string, payload: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(payload),
});
const errorShape = (code: string) => ({
  error: expect.objectContaining({ code, message: expect.any(String) }),
});

describe('HTTP API: reading', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await json('/healthz')).toMatchObject({ status: 200, body: { ok: true } });
    expect(await json('/readyz')).toMatchObject({ status: 200, body: { ok: true, endpoints: 1 } });
  });

  it('lists endpoints with their live state, and never shows the token', async () => {
    const { status, body } = await json('/api/endpoints');
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({
      id: 'home',
      source: 'file',
      enabled: true,
      state: 'ready',
      owner: 'test-instance',
      lastClose: null,
      health: expect.any(Number),
    });
    expect(JSON.stringify(body)).not.toContain('secret-part');
    expect((await json('/api/endpoints/home')).body).toMatchObject({ id: 'home' });
    expect(await json('/api/endpoints/nope')).toMatchObject({
      status: 404,
      body: errorShape('NOT_FOUND'),
    });
  });

  it('lists servers with state and target, never their secrets', async () => {
    const { body } = await json('/api/servers');
    expect(body[0]).toMatchObject({
      id: 'fake',
      type: 'stdio',
      source: 'file',
      state: 'ready',
      restarts: 0,
      stderrTail: expect.any(Array),
    });
    expect(JSON.stringify(body)).not.toContain('very-secret-key');
  });

  it('lists tools with the endpoints that see them', async () => {
    const { body } = await json('/api/tools');
    expect(body.find((t) => t.name === 'fake__add')).toMatchObject({
      server: 'fake',
      tool: 'add',
      endpoints: ['home'],
    });
  });

  it('serves timeline, health and the call log', async () => {
    await json('/api/tools/call', send('POST', { name: 'fake__echo', arguments: { text: 'x' } }));
    await hub.flush();
    const timeline = await json('/api/endpoints/home/timeline?limit=1');
    expect(timeline.body).toMatchObject({
      items: [{ to: expect.any(String), at: expect.any(String) }],
      next: expect.any(Number),
    });
    expect((await json('/api/endpoints/home/health')).body).toMatchObject({
      score: expect.any(Number),
      uptime: expect.any(Number),
    });
    expect((await json('/api/calls?tool=fake__echo')).body).toMatchObject({
      items: [{ tool: 'fake__echo', outcome: 'ok' }],
    });
  });

  it('publishes an OpenAPI document of every route', async () => {
    const { body } = await json('/api/openapi.json');
    const paths = Object.keys((body as unknown as { paths: object }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/endpoints',
        '/api/endpoints/{id}/tools/{tool}',
        '/api/servers/{id}',
        '/api/events',
        '/api/calls',
      ]),
    );
  });

  it('streams state changes as Server-Sent Events', async () => {
    const response = await app.request('/api/events');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    void json('/api/endpoints/home/retry', { method: 'POST' });
    sim.closeSockets({ code: 4004, reason: 'Internal server error' });
    await waitUntil(
      async () => {
        const { value } = await reader.read();
        text += decoder.decode(value);
        return text.includes('"state":"backoff"') || text.includes('"state":"connecting"');
      },
      { timeoutMs: 5_000, what: 'an endpoint event' },
    );
    await reader.cancel();
    expect(text).toMatch(/event: endpoint\ndata: \{"type":"endpoint"/);
    await sim.waitForReady({ token: TOKEN, count: 2, timeoutMs: 5_000 });
  });
});

describe('HTTP API: changing things', () => {
  it('creates, changes and deletes an endpoint through the API', async () => {
    const created = await json(
      '/api/endpoints',
      send('POST', { name: 'kitchen', url: sim.url('kitchen-token') }),
    );
    expect(created).toMatchObject({ status: 201, body: { id: 'kitchen', source: 'api' } });
    await sim.waitForReady({ token: 'kitchen-token', timeoutMs: 5_000 });
    const changed = await json(
      '/api/endpoints/kitchen',
      send('PUT', {
        name: 'kitchen',
        url: sim.url('kitchen-token'),
        tools: { include: ['fake__echo'] },
      }),
    );
    expect(changed.status).toBe(200);
    const again = await sim.waitForReady({ token: 'kitchen-token', count: 2, timeoutMs: 5_000 });
    expect(again.tools.map((t) => t.name)).toEqual(['fake__echo']);
    expect(await json('/api/endpoints/kitchen', { method: 'DELETE' })).toMatchObject({
      status: 200,
    });
    await sim.waitFor(() => sim.accounting('kitchen-token').openNow === 0);
    expect((await json('/api/endpoints')).body.map((e) => e.id)).toEqual(['home']);
  });

  it('keeps provisioned endpoints and servers read-only', async () => {
    expect(
      await json('/api/endpoints/home', send('PUT', { name: 'home', url: 'ws://x/' })),
    ).toMatchObject({ status: 409, body: errorShape('READ_ONLY') });
    expect(await json('/api/endpoints/home', { method: 'DELETE' })).toMatchObject({
      status: 409,
      body: errorShape('READ_ONLY'),
    });
    expect(await json('/api/servers/fake', { method: 'DELETE' })).toMatchObject({
      status: 409,
      body: errorShape('READ_ONLY'),
    });
    expect(
      await json('/api/endpoints', send('POST', { name: 'home', url: 'ws://x/' })),
    ).toMatchObject({ status: 409, body: errorShape('CONFLICT') });
  });

  it('keeps a tool budget, pinned tools, argument repair and a tool prefix given through the API', async () => {
    const { command, args } = fakeStdioServerParams();
    const tools = { budget: 3, pinned: ['px__add'], repairArguments: true };
    const created = await json(
      '/api/endpoints',
      send('POST', { name: 'budgeted', url: sim.url('budgeted'), tools }),
    );
    expect(created.status).toBe(201);
    expect(hub.definitions().find((e) => e.name === 'budgeted')?.tools).toMatchObject(tools);
    expect(
      await json(
        '/api/servers',
        send('POST', { name: 'prefixed', type: 'stdio', command, args, toolPrefix: 'px' }),
      ),
    ).toMatchObject({ status: 201 });
    await waitUntil(async () => (await json('/api/tools')).body.some((t) => t.name === 'px__add'), {
      timeoutMs: 10_000,
      what: 'the prefixed tools',
    });
    expect(
      await json(
        '/api/servers',
        send('POST', { name: 'bad', type: 'stdio', command, toolPrefix: 'a b' }),
      ),
    ).toMatchObject({ status: 400 });
    expect(
      await json(
        '/api/endpoints',
        send('POST', { name: 'b0', url: sim.url('b0'), tools: { budget: 0 } }),
      ),
    ).toMatchObject({ status: 400 });
    expect(await json('/api/endpoints/budgeted', { method: 'DELETE' })).toMatchObject({
      status: 200,
    });
    expect(await json('/api/servers/prefixed', { method: 'DELETE' })).toMatchObject({
      status: 200,
    });
  });

  it('adds and removes a server through the API; its tools come and go', async () => {
    const { command, args } = fakeStdioServerParams();
    expect(
      await json('/api/servers', send('POST', { name: 'extra', type: 'stdio', command, args })),
    ).toMatchObject({ status: 201, body: { id: 'extra', source: 'api' } });
    await waitUntil(
      async () => (await json('/api/tools')).body.some((t) => t.name === 'extra__echo'),
      { timeoutMs: 10_000, what: 'the new tools' },
    );
    const changed = await json(
      '/api/servers/extra',
      send('PUT', { name: 'extra', type: 'stdio', command, args, enabled: false }),
    );
    expect(changed).toMatchObject({
      status: 200,
      body: { id: 'extra', enabled: false, state: 'disabled' },
    });
    await waitUntil(
      async () => !(await json('/api/tools')).body.some((t) => t.name === 'extra__echo'),
      {
        timeoutMs: 5_000,
        what: 'a disabled server to lose its tools',
      },
    );
    expect(
      await json('/api/servers/fake', send('PUT', { name: 'fake', type: 'stdio', command })),
    ).toMatchObject({ status: 409, body: errorShape('READ_ONLY') });
    expect(
      await json('/api/servers/extra', send('PUT', { name: 'other', type: 'stdio', command })),
    ).toMatchObject({ status: 400, body: errorShape('BAD_REQUEST') });
    expect(await json('/api/servers/extra', { method: 'DELETE' })).toMatchObject({ status: 200 });
    expect(await json('/api/servers/extra', { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: errorShape('NOT_FOUND'),
    });
    await waitUntil(
      async () => !(await json('/api/tools')).body.some((t) => t.name === 'extra__echo'),
      { timeoutMs: 5_000, what: 'the tools to go' },
    );
  });

  it('switches one tool off for one endpoint, and the endpoint sees the change', async () => {
    const before = sim.accounting(TOKEN).handshakes;
    const tools = await json(
      '/api/endpoints/home/tools/fake__add',
      send('PUT', { enabled: false }),
    );
    expect(tools.body.find((t) => t.name === 'fake__add')).toMatchObject({ enabled: false });
    const ready = await sim.waitForReady({ token: TOKEN, count: before + 1, timeoutMs: 5_000 });
    expect(ready.tools.map((t) => t.name)).not.toContain('fake__add');
    // The same session reconnected (its history kept), rather than a new one replacing it.
    await hub.flush();
    const recent = (await json('/api/endpoints/home/timeline?limit=5')).body as unknown as {
      items: Array<{ cause: string }>;
    };
    expect(recent.items.map((e) => e.cause)).toContain('reconnect');
    expect(recent.items.map((e) => e.cause)).not.toContain('person');
    await json('/api/endpoints/home/tools/fake__add', send('PUT', { enabled: true }));
    const back = await sim.waitForReady({ token: TOKEN, count: before + 2, timeoutMs: 5_000 });
    expect(back.tools.map((t) => t.name)).toContain('fake__add');
  });

  it('disables and enables an endpoint, and retries it on request', async () => {
    expect(await json('/api/endpoints/home/disable', { method: 'POST' })).toMatchObject({
      status: 200,
    });
    await sim.waitFor(() => sim.accounting(TOKEN).openNow === 0);
    expect((await json('/api/endpoints/home')).body).toMatchObject({
      enabled: false,
      state: 'disabled',
    });
    const handshakes = sim.accounting(TOKEN).handshakes;
    expect(await json('/api/endpoints/home/enable', { method: 'POST' })).toMatchObject({
      status: 200,
    });
    await sim.waitForReady({ token: TOKEN, count: handshakes + 1, timeoutMs: 5_000 });
    expect(await json('/api/endpoints/nope/retry', { method: 'POST' })).toMatchObject({
      status: 404,
      body: errorShape('NOT_FOUND'),
    });
  });

  it("a viewer's event stream hears an endpoint switched off and a tool switched off", async () => {
    const response = await app.request('/api/events');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // Read in the background, so a stream that stays silent fails the wait, not the test's clock.
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value);
      }
    })().catch(() => {});
    const hear = (what: string, heard: (text: string) => boolean) =>
      waitUntil(() => heard(text), { timeoutMs: 5_000, what });
    try {
      await json('/api/endpoints/home/disable', { method: 'POST' });
      await hear('home shown as disabled', (t) => /"id":"home"[^\n]*"state":"disabled"/.test(t));
      const handshakes = sim.accounting(TOKEN).handshakes;
      await json('/api/endpoints/home/enable', { method: 'POST' });
      await sim.waitForReady({ token: TOKEN, count: handshakes + 1, timeoutMs: 5_000 });

      text = '';
      const served = sim.accounting(TOKEN).handshakes;
      await json('/api/endpoints/home/tools/fake__add', send('PUT', { enabled: false }));
      await hear('a tools event', (t) => t.includes('event: tools\n'));
      const without = await sim.waitForReady({ token: TOKEN, count: served + 1, timeoutMs: 5_000 });
      expect(without.tools.map((t) => t.name)).not.toContain('fake__add');
    } finally {
      await reader.cancel();
      await reading;
      // Leave home as the next test expects it: on, with every tool.
      const before = sim.accounting(TOKEN).handshakes;
      await json('/api/endpoints/home/enable', { method: 'POST' });
      await json('/api/endpoints/home/tools/fake__add', send('PUT', { enabled: true }));
      await sim.waitForReady({ token: TOKEN, count: before + 1, timeoutMs: 5_000 });
    }
  });

  it('calls a tool, and answers bad calls with one error shape', async () => {
    expect(
      (
        await json(
          '/api/tools/call',
          send('POST', { name: 'fake__add', arguments: { a: 20, b: 22 } }),
        )
      ).body,
    ).toMatchObject({
      result: { content: [{ type: 'text', text: '42' }] },
    });
    expect(await json('/api/tools/call', send('POST', { name: 'nope__x' }))).toMatchObject({
      status: 404,
      body: errorShape('UPSTREAM_UNKNOWN_TOOL'),
    });
    expect(await json('/api/tools/call', send('POST', { arguments: {} }))).toMatchObject({
      status: 400,
      body: errorShape('BAD_REQUEST'),
    });
    expect(await json('/api/tools/call', { method: 'POST', body: 'not json' })).toMatchObject({
      status: 400,
      body: errorShape('BAD_REQUEST'),
    });
    expect(
      await json('/api/endpoints', send('POST', { name: 'bad name!', url: 'http://x' })),
    ).toMatchObject({
      status: 400,
      body: {
        error: {
          code: 'BAD_REQUEST',
          message: expect.stringMatching(/name: .*url: must be a ws/s),
        },
      },
    });
    expect(await json('/api/nothing')).toMatchObject({
      status: 404,
      body: errorShape('NOT_FOUND'),
    });
  });

  it('refuses state changes from another origin (strict CORS), and sends no CORS headers', async () => {
    const response = await json('/api/endpoints/home/retry', {
      method: 'POST',
      headers: { origin: 'https://evil.example', host: 'localhost' },
    });
    expect(response).toMatchObject({ status: 403, body: errorShape('FORBIDDEN_ORIGIN') });
    expect(
      (
        await app.request('/api/endpoints', { headers: { origin: 'https://evil.example' } })
      ).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('serves Prometheus metrics', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/tether_endpoint_state\{endpoint="home",state="ready"\} 1/);
    expect(text).toMatch(/tether_tool_call_seconds_count\{outcome="ok"\} \d+/);
    expect(text).toMatch(/tether_upstream_restarts\{server="fake"\} 0/);
  });

  it('shows one state per endpoint in the metrics after it went through others', async () => {
    const metrics = async () => (await app.request('/metrics')).text();
    sim.closeSockets({ code: 4004, reason: 'Internal server error' }, { token: TOKEN });
    await waitUntil(async () => !/state="ready"\} 1/.test(await metrics()), {
      timeoutMs: 5_000,
      what: 'the loss to show',
    });
    await waitUntil(async () => /state="ready"\} 1/.test(await metrics()), {
      timeoutMs: 10_000,
      what: 'ready again',
    });
    const lit = (await metrics())
      .split('\n')
      .filter(
        (line) => line.startsWith('tether_endpoint_state{endpoint="home"') && / 1$/.test(line),
      );
    expect(lit).toEqual(['tether_endpoint_state{endpoint="home",state="ready"} 1']);
  });

  it('restarts a server with a new child and its tools back, and says which server is unknown', async () => {
    const before = hub.servers().find((s) => s.name === 'fake');
    const restarted = await json('/api/servers/fake/restart', { method: 'POST' });
    expect(restarted).toMatchObject({ status: 200, body: { id: 'fake', state: 'ready' } });
    const after = hub.servers().find((s) => s.name === 'fake');
    expect(after?.pid).toBeGreaterThan(0);
    expect(after?.pid).not.toBe(before?.pid);
    expect(hub.tools().some((t) => t.name === 'fake__add')).toBe(true);
    expect(await json('/api/servers/ghost/restart', { method: 'POST' })).toMatchObject({
      status: 404,
      body: errorShape('NOT_FOUND'),
    });
  });
});

describe('HTTP API with an admin token', () => {
  const secured = () => createApi(hub, { auth: new Auth({ token: 'admin-token-123' }) });

  it('refuses the API without the token, and lets health checks through', async () => {
    const api = secured();
    expect(await json('/api/endpoints', undefined, api)).toMatchObject({
      status: 401,
      body: errorShape('UNAUTHORIZED'),
    });
    expect(await json('/metrics', undefined, api)).toMatchObject({ status: 401 });
    expect((await json('/healthz', undefined, api)).status).toBe(200);
    expect((await json('/api/session', undefined, api)).body).toEqual({
      authRequired: true,
      authenticated: false,
    });
  });

  it('accepts a Bearer token', async () => {
    const api = secured();
    expect(
      (await json('/api/endpoints', { headers: { authorization: 'Bearer admin-token-123' } }, api))
        .status,
    ).toBe(200);
    expect(
      (await json('/api/endpoints', { headers: { authorization: 'Bearer wrong' } }, api)).status,
    ).toBe(401);
  });

  it('logs in with the token for an HttpOnly session cookie', async () => {
    const api = secured();
    const login = await api.request('/api/login', send('POST', { token: 'admin-token-123' }));
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/tether_session=.*HttpOnly.*SameSite=Strict/i);
    const session = cookie.split(';')[0]!;
    expect((await json('/api/endpoints', { headers: { cookie: session } }, api)).status).toBe(200);
    expect(
      (
        await json(
          '/api/endpoints',
          { headers: { cookie: 'tether_session=9999999999999.forged' } },
          api,
        )
      ).status,
    ).toBe(401);
    const logout = await api.request('/api/logout', {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(logout.headers.get('set-cookie')).toMatch(/tether_session=;.*Max-Age=0/i);
  });

  it('rate-limits login attempts', async () => {
    const api = secured();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await api.request('/api/login', send('POST', { token: 'guess' }))).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });
});

describe('HTTP API under concurrent requests', () => {
  it('keeps one socket per endpoint when many changes arrive at once', async () => {
    const before = sim.accounting(TOKEN).handshakes;
    const send = (enabled: boolean) =>
      app.request('/api/endpoints/home/tools/fake__echo', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enabled }),
      });
    await Promise.all([
      send(false),
      send(true),
      send(false),
      send(true),
      app.request('/api/endpoints/home/disable', { method: 'POST' }),
      app.request('/api/endpoints/home/enable', { method: 'POST' }),
    ]);
    // The burst may reconnect more than once (the debounced tool change can follow the
    // enable), so a socket counted here may already be closing: wait for the handshake count,
    // then for the final state below.
    await sim.waitFor(
      () => sim.accounting(TOKEN).handshakes >= before + 1,
      5_000,
      'a new handshake after the burst',
    );
    // Settled once the socket's handshake listed the tool as it ends up (enabled): the
    // debounced tool change then finds nothing to reconnect for.
    await waitUntil(
      () =>
        hub.endpoints()[0]!.state === 'ready' &&
        sim
          .sockets(TOKEN)
          .some((s) => s.state === 'ready' && s.tools.some((t) => t.name === 'fake__echo')),
      { what: 'the endpoint to be served the final tool set' },
    );
    expect(sim.accounting(TOKEN)).toMatchObject({ openNow: 1, maxOpen: 1 });
    expect(hub.endpointTools('home').find((t) => t.name === 'fake__echo')!.enabled).toBe(true);
  });
});
