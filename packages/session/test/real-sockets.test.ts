import { afterEach, describe, expect, it } from 'vitest';
import { wsSocketFactory } from '@tether/link/node';
import type { SocketFactory } from '@tether/link';
import { FaultProxy } from '@tether/testkit';
import { MemorySessionStore } from '../src/server/index.js';
import type { ExpiredSession } from '../src/server/index.js';
import type { Cleanup, Convo } from './helpers.js';
import { numbers, recordingClient, recordingServer, settle } from './helpers.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function proxied(options: Parameters<typeof recordingServer>[1] = {}) {
  const rec = await recordingServer(cleanups, options);
  const proxy = await FaultProxy.start({ target: { port: rec.server.port } });
  cleanups.push(() => proxy.close());
  return { ...rec, proxy, url: proxy.url('/session') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sessions on real sockets through the fault proxy', () => {
  it('loses and duplicates nothing in either direction across drops mid-stream, in order', async () => {
    const { proxy, url, only, connections } = await proxied();
    // The blackhole discards bytes on sockets that stay up, which no real TCP does: an upgrade
    // or a hello can vanish that way, and short timeouts get the client past it.
    const { client, received, resumed, fresh } = recordingClient(cleanups, url, {
      welcomeTimeoutMs: 1_000,
      link: { connectTimeoutMs: 1_000 },
    });
    await client.connect();
    const session = only();
    const N = 600;
    let sent = 0;
    // Both sides stream while the network is cut under them three ways: RST, a silent
    // blackhole (caught by the heartbeats), and RST again.
    const stream = (async () => {
      while (sent < N) {
        sent++;
        session.send(sent);
        client.send(sent);
        if (sent % 20 === 0) await sleep(2);
      }
    })();
    await settle('some traffic', () => received.length > 50);
    proxy.resetAll();
    await settle('the first resume', () => resumed.length === 1 && received.length > 250);
    proxy.blackhole();
    await sleep(700);
    // Both heartbeats (200 ms × 2) have cut their sockets by now. (No resetAll() right after
    // pass(): the proxy can then lose track of a pair whose held FIN it is just delivering.)
    proxy.pass();
    await settle('the second resume', () => resumed.length >= 2);
    await stream;
    await sleep(100);
    proxy.resetAll();
    await settle(
      'everything, both ways',
      () => {
        return received.length >= N && only().state.received.length >= N;
      },
      10_000,
    );
    await settle('the third resume', () => resumed.length >= 3);
    await sleep(100);
    expect(received).toEqual(numbers(1, N));
    expect(only().state.received).toEqual(numbers(1, N));
    expect(only()).toBe(session);
    expect(fresh).toHaveLength(1); // the first welcome only
    expect(resumed.length).toBeGreaterThanOrEqual(3);
    expect(connections.count).toBe(1 + resumed.length);
  });

  it('opens exactly one connection for 100 sends, before the first and during a backoff', async () => {
    const { proxy, url, only, connections } = await proxied();
    const { client, resumed } = recordingClient(cleanups, url);
    for (let i = 1; i <= 100; i++) expect(client.send(i)).toBe(true);
    await settle('all 100 delivered', () => only().state.received.length === 100);
    expect(client.link.attemptCount).toBe(1);
    expect(proxy.stats().total).toBe(1);

    proxy.resetAll();
    await settle('the client to notice', () => client.state !== 'active');
    for (let i = 101; i <= 200; i++) client.send(i);
    await settle('all 200 delivered', () => only().state.received.length === 200);
    expect(only().state.received).toEqual(numbers(1, 200));
    expect(resumed).toHaveLength(1);
    expect(client.link.attemptCount).toBe(2);
    expect(proxy.stats().total).toBe(2);
    expect(connections.count).toBe(2);
  });

  it('delivers a send issued while reconnecting, before the welcome, once and after it, in the resumed conversation', async () => {
    // A store whose claims are slow holds the welcome back, so the client sits in its handshake.
    const store = new MemorySessionStore();
    const claim = store.claim.bind(store);
    let slow = false;
    store.claim = async (...args) => {
      if (slow) await sleep(300);
      return claim(...args);
    };
    const { proxy, url, only, setups } = await proxied({ store });
    const wire: string[] = [];
    const base = wsSocketFactory();
    const spy: SocketFactory = (u, handlers) => {
      const socket = base(u, {
        ...handlers,
        onMessage: (data, binary) => {
          wire.push(`in ${JSON.parse(String(data)).type}`);
          handlers.onMessage(data, binary);
        },
      });
      return { ...socket, send: (data) => (wire.push(`out ${String(data)}`), socket.send(data)) };
    };
    const { client, resumed } = recordingClient(cleanups, url, { socketFactory: spy });
    client.send('before');
    await settle('the first message', () => only().state.received.length === 1);
    const conversation = only().state.conversationId;

    slow = true;
    proxy.resetAll();
    await settle('the handshake of the new socket', () => client.state === 'handshaking');
    wire.length = 0;
    client.send('while reconnecting');
    await settle('the resume', () => resumed.length === 1);
    await settle('delivery', () => only().state.received.length === 2);
    await sleep(50);

    expect(only().state).toMatchObject({
      conversationId: conversation,
      received: ['before', 'while reconnecting'],
    });
    expect(setups()).toBe(1);
    const welcome = wire.indexOf('in welcome');
    const data = wire.findIndex((w) => w.includes('"while reconnecting"'));
    expect(welcome).toBeGreaterThanOrEqual(0);
    expect(data).toBeGreaterThan(welcome);
    expect(wire.filter((w) => w.includes('"while reconnecting"'))).toHaveLength(1);
  });

  it('tells the client plainly that it has a new session once the window has passed', async () => {
    const expired: ExpiredSession<Convo>[] = [];
    const { proxy, url, server } = await proxied({
      resumeWindowMs: 300,
      onExpire: (e) => expired.push(e),
    });
    const { client, fresh, resumed } = recordingClient(cleanups, url);
    client.send('hello');
    await settle('the first session', () => fresh.length === 1);
    const first = client.sessionId;
    await settle('delivery', () => client.pending === 0);

    await proxy.refuse();
    proxy.resetAll();
    await settle('the session to expire on the server', () => expired.length === 1, 3_000);
    client.send('meant for the old conversation');
    await proxy.accept();
    client.link.retryNow();
    await settle('the new session', () => fresh.length === 2, 5_000);

    expect(resumed).toHaveLength(0);
    expect(fresh[1]).toMatchObject({
      reason: 'expired',
      previousSessionId: first,
      undelivered: ['meant for the old conversation'],
    });
    expect(client.sessionId).not.toBe(first);
    expect(expired[0]).toMatchObject({
      id: first,
      reason: 'timeout',
      state: { conversationId: 'c1', received: ['hello'] },
    });
    const [current] = [...server.sessions.values()] as Array<{ state: Convo }>;
    expect(current!.state).toMatchObject({ conversationId: 'c2', received: [] });
  });
});
