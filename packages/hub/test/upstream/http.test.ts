import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startFakeHttpServer, waitUntil } from '@tether/testkit';
import type { FakeHttpServer } from '@tether/testkit';
import { Fleet, advance, httpConfig, textOf } from './helpers.js';

interface HeaderProxy {
  url: string;
  seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A plain forwarding proxy that writes down the headers of every request it passes on. */
async function headerProxy(target: string): Promise<HeaderProxy> {
  const to = new URL(target);
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const forward = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${to.pathname}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fleet = new Fleet();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await fleet.stopAll();
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function fake(transport: 'http' | 'sse', port = 0): Promise<FakeHttpServer> {
  const server = await startFakeHttpServer({ transport, port });
  cleanups.push(() => server.close());
  return server;
}

describe.each(['http', 'sse'] as const)('an upstream over %s', (kind) => {
  it('lists tools and answers calls, sending the configured headers on every request', async () => {
    const server = await fake(kind);
    const proxy = await headerProxy(server.url);
    cleanups.push(() => proxy.close());
    const headers = { Authorization: 'Bearer s3cret', 'X-Api-Key': 'k-123' };
    const upstream = await fleet.started(httpConfig(proxy.url, kind, headers));
    expect(upstream.status).toMatchObject({ state: 'ready', type: kind, restarts: 0 });
    expect(upstream.tools.map((t) => t.name)).toContain('expire_sessions');
    expect(textOf(await upstream.callTool('echo', { text: 'hi' }, { timeoutMs: 5000 }))).toBe('hi');
    expect(proxy.seen.length).toBeGreaterThanOrEqual(3);
    for (const seen of proxy.seen) {
      expect(seen.authorization).toBe('Bearer s3cret');
      expect(seen['x-api-key']).toBe('k-123');
    }
  });

  it('a server that dies is noticed, and reconnected once it is back', async () => {
    const server = await fake(kind);
    const port = Number(new URL(server.url).port);
    // Pings and the restart on the clock; the requests they make are real.
    const clock = new ManualClock();
    const upstream = await fleet.started(httpConfig(server.url, kind), {
      pingIntervalMs: 100,
      clock,
    });
    await server.close();
    // Streamable HTTP notices at the next ping; SSE may have seen its stream end already, and
    // then the restart must not be run early (the server is not back yet).
    if (upstream.status.state === 'ready') clock.advance(100);
    await waitUntil(() => upstream.status.state !== 'ready', {
      timeoutMs: 3000,
      what: 'the loss to be noticed',
    });
    expect(upstream.status.lastError).toBeDefined();
    await fake(kind, port);
    // Each restart is run when due. The first may still fail (fetch can hand it a connection
    // the old server closed), and the backoff tries again: the same path, so it is allowed.
    await waitUntil(
      () => {
        if (upstream.status.state === 'ready') return true;
        const due = clock.nextAt;
        // A restart (at most maxMs, 400); never the 5 s handshake deadline of an attempt.
        if (due !== undefined && due - clock.now() <= 400) clock.runNext();
        return false;
      },
      { timeoutMs: 5000, what: 'the reconnect' },
    );
    expect(upstream.status.restarts).toBeGreaterThanOrEqual(1);
    expect(textOf(await upstream.callTool('echo', { text: 'back' }, { timeoutMs: 5000 }))).toBe(
      'back',
    );
  });
});

describe('Streamable HTTP session expiry', () => {
  it('an expired session (404) is re-initialised transparently on the next call', async () => {
    const server = await fake('http');
    const upstream = await fleet.started(httpConfig(server.url, 'http'));
    const states: string[] = [];
    upstream.on('state', (s) => states.push(s.state));
    expect(textOf(await upstream.callTool('echo', { text: 'one' }, { timeoutMs: 5000 }))).toBe(
      'one',
    );
    server.expireSessions();
    expect(textOf(await upstream.callTool('echo', { text: 'two' }, { timeoutMs: 5000 }))).toBe(
      'two',
    );
    expect(server.calls.get('echo')).toBe(2); // the 404 reached no tool; the retry did
    expect(upstream.status).toMatchObject({ state: 'ready', restarts: 0 });
    expect(states).toEqual([]);
    await waitUntil(() => server.sessionCount() === 1, { what: 'one live session' });
  });

  it('with no call, the ping notices an expired session and re-initialises it', async () => {
    const server = await fake('http');
    // Only the clock sends pings: no session is renewed before the test moves it.
    const clock = new ManualClock();
    const upstream = await fleet.started(httpConfig(server.url, 'http'), {
      pingIntervalMs: 100,
      clock,
    });
    for (let round = 0; round < 2; round++) {
      server.expireSessions();
      expect(server.sessionCount()).toBe(0);
      await advance(clock, 100);
      await waitUntil(() => server.sessionCount() === 1, { what: 'a new session' });
      // A call made meanwhile waits for the re-initialisation to finish, then uses it.
      expect(textOf(await upstream.callTool('echo', { text: 'y' }, { timeoutMs: 5000 }))).toBe('y');
    }
    expect(server.calls.get('echo')).toBe(2);
    expect(upstream.status).toMatchObject({ state: 'ready', restarts: 0 });
    // After a renewal made by a call, the ping goes on with the new session.
    server.expireSessions();
    expect(textOf(await upstream.callTool('echo', { text: 'x' }, { timeoutMs: 5000 }))).toBe('x');
    server.expireSessions();
    await advance(clock, 100);
    await waitUntil(() => server.sessionCount() === 1, { what: 'the ping to renew again' });
  });

  it('a call already running on the old session still gets its answer', async () => {
    const server = await fake('http');
    const upstream = await fleet.started(httpConfig(server.url, 'http'));
    const slow = upstream.callTool('slow', { ms: 300, text: 'late' }, { timeoutMs: 5000 });
    await waitUntil(() => server.calls.get('slow') === 1, { what: 'the slow call to start' });
    server.expireSessions();
    expect(textOf(await upstream.callTool('echo', { text: 'now' }, { timeoutMs: 5000 }))).toBe(
      'now',
    );
    expect(textOf(await slow)).toBe('late');
  });
});
