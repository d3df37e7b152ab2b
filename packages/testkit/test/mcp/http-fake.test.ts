import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { startFakeHttpServer } from '../../src/mcp/index.js';
import type { FakeHttpServer, FakeHttpServerOptions } from '../../src/mcp/index.js';
import { connectHttp, sleep, textOf, waitFor } from './helpers.js';
import type { HttpKind } from './helpers.js';

describe.each<HttpKind>(['http', 'sse'])('in-process fake MCP server over %s', (kind) => {
  const servers: FakeHttpServer[] = [];
  const clients: Client[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function start(options: FakeHttpServerOptions = {}): Promise<FakeHttpServer> {
    const server = await startFakeHttpServer({ ...options, transport: kind });
    servers.push(server);
    return server;
  }

  async function connect(server: FakeHttpServer): Promise<Client> {
    const client = await connectHttp(server.url, kind);
    clients.push(client);
    return client;
  }

  it('lists every built-in tool', async () => {
    const client = await connect(await start());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'echo',
        'add',
        'slow',
        'fail',
        'fail_throw',
        'fail_rpc',
        'crash',
        'hang',
      ]),
    );
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['huge', 'tools_change', 'expire_sessions']),
    );
  });

  it('reading every page of a paginated list gives every tool once', async () => {
    const client = await connect(await start({ extraTools: 25, pageSize: 7 }));
    const first = await client.request({ method: 'tools/list' });
    expect(first.tools).toHaveLength(7);
    const names = first.tools.map((t) => t.name);
    let cursor = first.nextCursor;
    let pages = 1;
    while (cursor !== undefined) {
      const page = await client.listTools({ cursor });
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    }
    expect(pages).toBe(6); // 11 built-in + 25 extra = 36 tools
    expect(new Set(names).size).toBe(36);
    expect(names).toContain('tool_024');
    // The SDK's own walk over the pages agrees.
    expect((await client.listTools()).tools).toHaveLength(36);
  });

  it('echo and add answer', async () => {
    const client = await connect(await start());
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } }))).toBe('42');
  });

  it('a cancelled slow call stops on the server, which counts it', async () => {
    const server = await start();
    const client = await connect(server);
    const abort = new AbortController();
    const call = client.callTool(
      { name: 'slow', arguments: { ms: 10_000 } },
      { signal: abort.signal },
    );
    await waitFor('slow to start', () => server.calls.get('slow') === 1);
    abort.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await waitFor('the server to see the cancellation', () => server.cancelled.get('slow') === 1);
  });

  it('a slow call reports progress to a caller that asked for it', async () => {
    const client = await connect(await start({ progressEveryMs: 20 }));
    const progress: number[] = [];
    const result = await client.callTool(
      { name: 'slow', arguments: { ms: 150, text: 'done' } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(textOf(result)).toBe('done');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('fail answers an isError result', async () => {
    const client = await connect(await start());
    const result = await client.callTool({ name: 'fail', arguments: { message: 'nope' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('nope');
  });

  it('a tool that throws arrives as an isError result carrying the message', async () => {
    const client = await connect(await start());
    const result = await client.callTool({ name: 'fail_throw', arguments: { message: 'kaboom' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('kaboom');
  });

  it('fail_rpc arrives as a JSON-RPC error with its code', async () => {
    const client = await connect(await start());
    const call = client.callTool({
      name: 'fail_rpc',
      arguments: { message: 'rpc says no', code: -32050 },
    });
    await expect(call).rejects.toMatchObject({
      code: -32050,
      message: expect.stringContaining('rpc says no'),
    });
  });

  it('a 1 MB result arrives intact', async () => {
    const client = await connect(await start());
    const result = await client.callTool({ name: 'huge', arguments: { bytes: 1_000_000 } });
    const text = textOf(result);
    expect(text).toHaveLength(1_000_000);
    expect(/^x+$/.test(text)).toBe(true);
  });

  it('changing tools notifies the client, and the new list shows the change', async () => {
    const server = await start();
    const client = await connect(server);
    let notified = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      notified++;
    });
    await client.callTool({
      name: 'tools_change',
      arguments: { add: ['weather'], remove: ['add'] },
    });
    await waitFor('tools/list_changed', () => notified > 0);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('weather');
    expect(names).not.toContain('add');
    expect(textOf(await client.callTool({ name: 'weather', arguments: { text: 'sunny' } }))).toBe(
      'sunny',
    );

    // The same from the test side, reaching a second session too.
    const other = await connect(server);
    let otherNotified = 0;
    other.setNotificationHandler('notifications/tools/list_changed', () => {
      otherNotified++;
    });
    server.changeTools({ add: ['radio'] });
    await waitFor('tools/list_changed on both sessions', () => notified > 1 && otherNotified > 0);
    expect((await other.listTools()).tools.map((t) => t.name)).toContain('radio');
  });

  it('crash cuts the connection and the server stops accepting', async () => {
    const server = await start();
    const client = await connect(server);
    // Streamable HTTP: the POST fails ("fetch failed"). SSE: the client's EventSource quietly
    // retries, so the call only ends by its own timeout.
    const call = client.callTool({ name: 'crash', arguments: {} }, { timeout: 500 });
    await expect(call).rejects.toThrow(kind === 'http' ? /fetch failed/ : /timed out/);
    expect(server.calls.get('crash')).toBe(1);
    await expect(connectHttp(server.url, kind)).rejects.toThrow();
  });

  it('with crashAfter 3 the third call crashes', async () => {
    const server = await start({ crashAfter: 3 });
    const client = await connect(server);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: '1' } }))).toBe('1');
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }))).toBe('2');
    const third = client.callTool({ name: 'echo', arguments: { text: '3' } }, { timeout: 500 });
    await expect(third).rejects.toThrow(kind === 'http' ? /fetch failed/ : /timed out/);
    expect(server.calls.get('echo')).toBe(2);
    await expect(connectHttp(server.url, kind)).rejects.toThrow();
  });

  it('after expire_sessions the old session gets 404 and a fresh client initialises', async () => {
    const server = await start();
    const client = await connect(server);
    const expired = textOf(await client.callTool({ name: 'expire_sessions', arguments: {} }));
    expect(expired).toBe('expired');
    await waitFor('the session to close', () => server.sessionCount() === 0);
    expect(await statusOfOldSession(server.url, client)).toBe(404);
    const fresh = await connect(server);
    expect(textOf(await fresh.callTool({ name: 'echo', arguments: { text: 'again' } }))).toBe(
      'again',
    );
  });

  it('a session older than sessionTtlMs gets 404', async () => {
    const server = await start({ sessionTtlMs: 150 });
    const client = await connect(server);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'young' } }))).toBe(
      'young',
    );
    await sleep(200);
    expect(await statusOfOldSession(server.url, client)).toBe(404);
    const fresh = await connect(server);
    expect(textOf(await fresh.callTool({ name: 'echo', arguments: { text: 'new' } }))).toBe('new');
  });

  it('expireSessions() from the test expires every open session', async () => {
    const server = await start();
    const a = await connect(server);
    const b = await connect(server);
    expect(server.sessionCount()).toBe(2);
    server.expireSessions();
    expect(server.sessionCount()).toBe(0);
    expect(await statusOfOldSession(server.url, a)).toBe(404);
    expect(await statusOfOldSession(server.url, b)).toBe(404);
  });

  it('close() frees the port and leaves no server, socket or timer behind', async () => {
    const before = countResources();
    const server = await startFakeHttpServer({ transport: kind, progressEveryMs: 10 });
    const client = await connectHttp(server.url, kind);
    const abort = new AbortController();
    const slow = client.callTool(
      { name: 'slow', arguments: { ms: 10_000 } },
      { signal: abort.signal, onprogress: () => {} },
    );
    await waitFor('slow to start', () => server.calls.get('slow') === 1);
    await server.close();
    abort.abort();
    await slow.catch(() => {});
    await client.close();
    await expect(fetch(server.url)).rejects.toThrow();
    await waitFor(
      'resources to be released',
      () => {
        const after = countResources();
        return after.servers <= before.servers && after.timers <= before.timers;
      },
      2000,
    );
  });

  /** A raw request carrying the session id `client` was given (the spec's 404 signal is HTTP-level). */
  async function statusOfOldSession(url: string, client: Client): Promise<number> {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' });
    if (kind === 'http') {
      const transport = client.transport as { sessionId?: string } | undefined;
      const sessionId = transport?.sessionId;
      if (sessionId === undefined) throw new Error('client has no session id');
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
        body: ping,
      });
      await res.body?.cancel();
      return res.status;
    }
    const endpoint = (client.transport as unknown as { _endpoint?: URL } | undefined)?._endpoint;
    if (endpoint === undefined) throw new Error('SSE client has no endpoint');
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: ping,
    });
    await res.body?.cancel();
    return res.status;
  }
});

function countResources(): { servers: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    servers: info.filter((r) => r === 'TCPServerWrap').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}
