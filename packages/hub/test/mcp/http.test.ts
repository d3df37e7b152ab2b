import { ProtocolError } from '@modelcontextprotocol/client';
import { CONTENT_RESULTS, CONTENT_TOOLS, waitUntil } from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { INITIALIZE, TOKEN, allPages, asSent, connect, raw, startHub, within } from './harness.js';
import type { Page, TestHub } from './harness.js';

let t: TestHub;

beforeAll(async () => {
  // Three calls at once per session, so the cap can be met without a crowd.
  t = await startHub({ limits: { ...DEFAULT_HUB.limits, callsPerEndpoint: 3 } });
});

afterAll(async () => {
  await t?.stop();
});

describe('/mcp: the handshake and the tool list', () => {
  it('an MCP client connects, pings, and sees Tether announce tools that can change', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    expect(client.getServerVersion()).toMatchObject({ name: 'tether' });
    expect(client.getServerCapabilities()).toMatchObject({ tools: { listChanged: true } });
    await expect(client.ping()).resolves.toEqual({});
    await client.close();
  });

  it('lists every tool in pages of 100 that add up to the whole catalog, in name order', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const pages = await allPages(client);
    const catalog = t.hub.servedTools()!.listed;
    expect(catalog.length).toBeGreaterThan(150);
    expect(pages.map((p) => p.tools.length)).toEqual([100, catalog.length - 100]);
    expect(pages.flatMap((p) => p.tools)).toEqual(catalog.map((e) => e.definition));
    // The SDK's own listTools follows the cursors too.
    expect((await client.listTools()).tools).toHaveLength(catalog.length);
    await client.close();
  });

  it('refuses a cursor it never handed out as invalid params', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const refused = client.request(
      { method: 'tools/list', params: { cursor: 'not-a-cursor!' } },
      asSent,
    );
    await expect(refused).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });

  it('lists 2020-12 input and output schemas exactly as the server wrote them', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const tools: Page['tools'] = [];
    let cursor: string | undefined;
    do {
      const page = (await client.request(
        { method: 'tools/list', ...(cursor !== undefined && { params: { cursor } }) },
        asSent,
      )) as Page;
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    for (const tool of CONTENT_TOOLS)
      expect(tools.find((listed) => listed.name === `content__${tool.name}`)).toEqual({
        ...tool,
        name: `content__${tool.name}`,
      });
    await client.close();
  });
});

describe('/mcp: tool calls', () => {
  it.each(Object.keys(CONTENT_RESULTS))(
    "the %s tool's result reaches the client exactly as the server sent it",
    async (kind) => {
      const { client } = await connect(`${t.url}/mcp`);
      const result = await client.request(
        { method: 'tools/call', params: { name: `content__${kind}`, arguments: {} } },
        asSent,
      );
      expect(result).toEqual(CONTENT_RESULTS[kind]);
      // And the SDK's own callTool (which checks structured content against the output
      // schema) reads it as valid.
      const read = await client.callTool({ name: `content__${kind}`, arguments: {} });
      expect(read).toMatchObject(CONTENT_RESULTS[kind]!);
      await client.close();
    },
  );

  it("a slow tool's progress reaches the client as it works, and ping is answered meanwhile", async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const progress: Array<{ progress: number; total?: number }> = [];
    const call = client.callTool(
      { name: 'fake__slow', arguments: { ms: 400, text: 'done' } },
      { onprogress: (p) => void progress.push(p) },
    );
    await waitUntil(() => progress.length >= 2, { what: 'two progress notifications' });
    const pinged = Date.now();
    await client.ping();
    expect(Date.now() - pinged).toBeLessThan(300);
    expect(await call).toEqual({ content: [{ type: 'text', text: 'done' }] });
    expect(progress[0]).toMatchObject({ progress: expect.any(Number), total: 400 });
    const steps = progress.map((p) => p.progress);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    await client.close();
  });

  it('cancelling a call cancels it upstream, and the call log says so', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const before = {
      started: t.fake.calls.get('slow') ?? 0,
      cancelled: t.fake.cancelled.get('slow') ?? 0,
    };
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'fake__slow', arguments: { ms: 30_000 } },
      { signal: controller.signal },
    );
    await waitUntil(() => (t.fake.calls.get('slow') ?? 0) > before.started, {
      what: 'the call to reach the upstream',
    });
    controller.abort(new Error('the user stopped it'));
    await expect(call).rejects.toThrow();
    await waitUntil(() => (t.fake.cancelled.get('slow') ?? 0) > before.cancelled, {
      what: 'the upstream to see notifications/cancelled',
    });
    await waitUntil(
      () => t.calls.some((c) => c.tool === 'fake__slow' && c.outcome === 'cancelled'),
      { what: 'the cancelled call in the call log' },
    );
    // Its POST's stream was ended: the session holds nothing more for it.
    await waitUntil(() => t.mcp.sessions().every((s) => s.callsInFlight === 0 && s.streams <= 1), {
      what: 'the cancelled call to leave the session',
    });
    await client.close();
  });

  it("goes into the call log like an API call, with the client's name", async () => {
    const { client } = await connect(`${t.url}/mcp`);
    await client.callTool({ name: 'fake__add', arguments: { a: 2, b: 3 } });
    await waitUntil(() => t.calls.some((c) => c.tool === 'fake__add'), {
      what: 'the call in the log',
    });
    expect(t.calls.find((c) => c.tool === 'fake__add')).toMatchObject({
      endpointId: null,
      server: 'fake',
      outcome: 'ok',
      meta: { via: 'mcp', client: 'test-client' },
    });
    await client.close();
  });

  it("an unknown tool is invalid params; an upstream's own error and tool error arrive as it sent them", async () => {
    const { client } = await connect(`${t.url}/mcp`);
    await expect(client.callTool({ name: 'nobody__nothing' })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('Unknown tool: nobody__nothing'),
    });
    const rpc = client.callTool({
      name: 'fake__fail_rpc',
      arguments: { code: -32042, message: 'no' },
    });
    await expect(rpc).rejects.toBeInstanceOf(ProtocolError);
    await expect(rpc).rejects.toMatchObject({ code: -32042 });
    expect(await client.callTool({ name: 'fake__fail', arguments: { message: 'bad' } })).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'bad' }],
    });
    await client.close();
  });

  it('a session running as many calls as it may gets a tool error for one more, at once', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const running = [1, 2, 3].map(() =>
      client.callTool({ name: 'fake__slow', arguments: { ms: 1_000 } }),
    );
    await waitUntil(() => t.mcp.sessions().some((s) => s.callsInFlight === 3), {
      what: 'three calls running',
    });
    const refused = await client.callTool({ name: 'fake__echo', arguments: { text: 'x' } });
    expect(refused).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: expect.stringContaining('already running 3 calls') }],
    });
    await Promise.all(running);
    await client.close();
  });
});

describe('/mcp: sessions', () => {
  it('a tool added upstream is announced with list_changed and then listed', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    const announced = new Promise<void>((resolve) =>
      client.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
    );
    t.fake.changeTools({ add: ['fresh'] });
    try {
      await within(announced, 5_000, 'notifications/tools/list_changed');
      const listed = await client.listTools();
      expect(listed.tools.map((tool) => tool.name)).toContain('fake__fresh');
    } finally {
      t.fake.changeTools({ remove: ['fresh'] });
      await waitUntil(() => !t.hub.servedTools()!.listed.some((e) => e.name === 'fake__fresh'), {
        what: 'fake__fresh to go',
      });
    }
    await client.close();
  });

  it('DELETE ends the session: its calls are cancelled upstream and its id is refused after', async () => {
    const { client, transport } = await connect(`${t.url}/mcp`);
    const id = transport.sessionId!;
    const cancelledBefore = t.fake.cancelled.get('slow') ?? 0;
    const startedBefore = t.fake.calls.get('slow') ?? 0;
    const call = client.callTool({ name: 'fake__slow', arguments: { ms: 30_000 } });
    call.catch(() => {});
    await waitUntil(() => (t.fake.calls.get('slow') ?? 0) > startedBefore, {
      what: 'the call to reach the upstream',
    });
    await transport.terminateSession();
    await waitUntil(() => (t.fake.cancelled.get('slow') ?? 0) > cancelledBefore, {
      what: 'the upstream to see the call cancelled',
    });
    const after = await raw(`${t.url}/mcp`, {
      headers: { 'mcp-session-id': id },
      body: { jsonrpc: '2.0', id: 1, method: 'ping' },
    });
    expect(after.status).toBe(404);
    await client.close();
  });

  it("shows each client's name, version and scope at GET /api/mcp/sessions", async () => {
    const { client } = await connect(`${t.url}/mcp`, { name: 'Cursor' });
    const scoped = await connect(`${t.url}/mcp/kitchen`, { name: 'Claude Desktop' });
    const listed = (await (await fetch(`${t.url}/api/mcp/sessions`)).json()) as Array<
      Record<string, unknown>
    >;
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          client: { name: 'Cursor', version: '1.2.3' },
          endpoint: null,
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          lastActivityAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          callsInFlight: 0,
        }),
        expect.objectContaining({
          client: { name: 'Claude Desktop', version: '1.2.3' },
          endpoint: 'kitchen',
        }),
      ]),
    );
    // The session id a client presents is not shown.
    const ids = [client, scoped.client].map((c) => c.transport as { sessionId?: string });
    for (const { sessionId } of ids) expect(JSON.stringify(listed)).not.toContain(sessionId);
    await client.close();
    await scoped.client.close();
  });

  it('a session left idle is closed, and a full hub makes room by closing the one idle longest', async () => {
    const small = await t.serve({ mcp: { idleMs: 300, maxSessions: 2 } });
    const open = async () => {
      const answer = await raw(`${small.url}/mcp`, { body: INITIALIZE });
      expect(answer.status).toBe(200);
      return answer.headers['mcp-session-id'] as string;
    };
    const first = await open();
    const second = await open();
    expect(small.mcp.size).toBe(2);
    const third = await open();
    const ping = (id: string) =>
      raw(`${small.url}/mcp`, {
        headers: { 'mcp-session-id': id },
        body: { jsonrpc: '2.0', method: 'notifications/initialized' },
      });
    expect((await ping(first)).status).toBe(404);
    expect((await ping(second)).status).toBe(202);
    expect((await ping(third)).status).toBe(202);
    await waitUntil(() => small.mcp.size === 0, { what: 'the idle sessions to close' });
    expect((await ping(third)).status).toBe(404);
  });

  it("listens to the hub's events only while it has sessions", async () => {
    const quiet = await t.serve();
    const before = ['tools', 'endpoint', 'endpoint-removed'].map((e) =>
      t.hub.listenerCount(e as 'tools'),
    );
    const { client, transport } = await connect(`${quiet.url}/mcp`);
    expect(t.hub.listenerCount('tools')).toBe(before[0]! + 1);
    await transport.terminateSession();
    await client.close();
    await waitUntil(() => quiet.mcp.size === 0, { what: 'the session to end' });
    expect(
      ['tools', 'endpoint', 'endpoint-removed'].map((e) => t.hub.listenerCount(e as 'tools')),
    ).toEqual(before);
  });

  it('a full hub whose sessions are all busy refuses a new one with 503', async () => {
    const small = await t.serve({ mcp: { maxSessions: 1 } });
    // The SDK's client keeps its GET stream open: listening is not idle.
    const { client } = await connect(`${small.url}/mcp`);
    await waitUntil(() => small.mcp.sessions()[0]?.streams === 1, { what: 'the GET stream' });
    const refused = await raw(`${small.url}/mcp`, { body: INITIALIZE });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    await client.close();
  });
});

describe('/mcp/<endpoint>', () => {
  it('lists and calls only what that endpoint sees, and follows its tool switches', async () => {
    const { client } = await connect(`${t.url}/mcp/kitchen`);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(t.hub.endpointTools('kitchen').map((tool) => tool.name));
    expect(names).toEqual(t.hub.servedTools('kitchen')!.listed.map((e) => e.name));
    expect(names).toEqual(
      CONTENT_TOOLS.map((tool) => `content__${tool.name}`)
        .filter((name) => name !== 'content__mixed')
        .sort(),
    );
    expect(await client.callTool({ name: 'content__image' })).toEqual(CONTENT_RESULTS.image);
    await expect(
      client.callTool({ name: 'fake__echo', arguments: { text: 'x' } }),
    ).rejects.toMatchObject({
      code: -32602,
    });
    await expect(client.callTool({ name: 'content__mixed' })).rejects.toMatchObject({
      code: -32602,
    });

    const announced = new Promise<void>((resolve) =>
      client.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
    );
    await t.hub.setTool('kitchen', 'content__audio', false);
    try {
      await within(announced, 5_000, 'list_changed after a tool was switched off');
      const page = (await client.request({ method: 'tools/list' }, asSent)) as Page;
      expect(page.tools.map((tool) => tool.name)).not.toContain('content__audio');
      await expect(client.callTool({ name: 'content__audio' })).rejects.toMatchObject({
        code: -32602,
      });
    } finally {
      await t.hub.setTool('kitchen', 'content__audio', true);
    }
    await client.close();
  });

  it('over its tool budget, serves what the endpoint gets: its pinned tools and the router, which finds and calls the rest', async () => {
    const { client } = await connect(`${t.url}/mcp/garage`, { name: 'Cherry Studio' });
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(['fake__echo', 'tether__find_tools', 'tether__call_tool']);
    const found = await client.callTool({
      name: 'tether__find_tools',
      arguments: { query: 'add two numbers' },
    });
    expect((found.content as Array<{ text: string }>)[0]!.text).toContain('"name":"fake__add"');
    expect(
      await client.callTool({
        name: 'tether__call_tool',
        arguments: { name: 'fake__add', arguments: { a: 20, b: 22 } },
      }),
    ).toEqual({ content: [{ type: 'text', text: '42' }] });
    await waitUntil(() => t.calls.some((c) => c.tool === 'fake__add' && c.meta?.via === 'router'), {
      what: 'the routed call in the log',
    });
    expect(t.calls.find((c) => c.meta?.via === 'router')?.meta).toMatchObject({
      client: 'Cherry Studio',
    });
    // A tool the router found may be called by its own name too, as on the endpoint.
    expect(await client.callTool({ name: 'fake__add', arguments: { a: 1, b: 1 } })).toEqual({
      content: [{ type: 'text', text: '2' }],
    });
    await client.close();
  });

  it("repairs arguments as that endpoint does: a client's Text reaches a tool that wants text, and the log says so", async () => {
    const { client } = await connect(`${t.url}/mcp/garage`);
    const result = await client.callTool({ name: 'fake__echo', arguments: { Text: 'hi' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
    await waitUntil(() => t.calls.some((c) => c.meta?.repairs !== undefined), {
      what: 'the repaired call in the log',
    });
    expect(t.calls.find((c) => c.meta?.repairs !== undefined)?.meta).toMatchObject({
      via: 'mcp',
      repairs: [{ path: '/text', kind: 'rename', before: 'Text', after: 'text' }],
    });
    await client.close();
    // /mcp speaks for no endpoint: nothing is repaired, the tool's own error comes back.
    const plain = await connect(`${t.url}/mcp`);
    const refused = await plain.client.callTool({ name: 'fake__echo', arguments: { Text: 'hi' } });
    expect(refused.isError).toBe(true);
    await plain.client.close();
  });

  it('an unknown endpoint is 404, and a session of /mcp is not one of /mcp/<endpoint>', async () => {
    const unknown = await raw(`${t.url}/mcp/nowhere`, { body: INITIALIZE });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const { client, transport } = await connect(`${t.url}/mcp`);
    const elsewhere = await raw(`${t.url}/mcp/kitchen`, {
      headers: { 'mcp-session-id': transport.sessionId! },
      body: { jsonrpc: '2.0', id: 1, method: 'ping' },
    });
    expect(elsewhere.status).toBe(404);
    await client.close();
  });
});

describe('/mcp: the door', () => {
  it('with an admin token, a client without it gets 401; with it, or with the dashboard cookie, it works', async () => {
    const guarded = await t.serve({ token: TOKEN });
    const bare = await raw(`${guarded.url}/mcp`, { body: INITIALIZE });
    expect(bare.status).toBe(401);
    await expect(connect(`${guarded.url}/mcp`)).rejects.toThrow(/401|UNAUTHORIZED|admin token/);
    const wrong = await raw(`${guarded.url}/mcp`, {
      headers: { authorization: 'Bearer nope' },
      body: INITIALIZE,
    });
    expect(wrong.status).toBe(401);

    const { client } = await connect(`${guarded.url}/mcp`, { token: TOKEN });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();

    const login = await fetch(`${guarded.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: TOKEN }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const viaCookie = await connect(`${guarded.url}/mcp`, { headers: { cookie } });
    await expect(viaCookie.client.ping()).resolves.toEqual({});
    await viaCookie.client.close();
  });

  it('without an admin token, a local client needs none', async () => {
    const { client } = await connect(`${t.url}/mcp`);
    await expect(client.ping()).resolves.toEqual({});
    await client.close();
  });

  it('refuses a foreign Host before anything, and a page of another origin, reads included', async () => {
    const port = new URL(t.url).port;
    const rebound = await raw(`${t.url}/mcp`, {
      headers: { host: `evil.test:${port}`, origin: `http://evil.test:${port}` },
      body: INITIALIZE,
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'FORBIDDEN_HOST' } });
    const before = t.mcp.size;
    const page = await raw(`${t.url}/mcp`, {
      headers: { origin: 'https://evil.test' },
      body: INITIALIZE,
    });
    expect(page.status).toBe(403);
    expect(JSON.parse(page.body)).toMatchObject({ error: { code: 'FORBIDDEN_ORIGIN' } });
    const stream = await raw(`${t.url}/mcp`, {
      headers: { origin: 'https://evil.test', accept: 'text/event-stream' },
    });
    expect(stream.status).toBe(403);
    expect(t.mcp.size).toBe(before);
  });

  it('refuses a body over the limit and one nested too deep', async () => {
    const deep = await raw(`${t.url}/mcp`, {
      body: {
        ...INITIALIZE,
        params: { ...INITIALIZE.params, x: JSON.parse('['.repeat(100) + ']'.repeat(100)) },
      },
    });
    expect(deep.status).toBe(400);
    const big = await raw(`${t.url}/mcp`, {
      body: {
        ...INITIALIZE,
        params: { ...INITIALIZE.params, x: 'x'.repeat(DEFAULT_HUB.limits.bodyBytes) },
      },
    });
    expect(big.status).toBe(413);
  });
});
