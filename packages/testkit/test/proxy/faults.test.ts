import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { FaultProxy } from '../../src/proxy/index.js';
import { waitUntil } from '../../src/wait.js';
import {
  echoServer,
  openClient,
  pattern,
  seeded,
  sinkServer,
  sleep,
  within,
  type Client,
  type Fixture,
} from './net-fixtures.js';

const proxies: FaultProxy[] = [];
const fixtures: Fixture[] = [];
const clients: Client[] = [];

async function setup(server: Promise<Fixture>, random?: () => number) {
  const target = await server;
  fixtures.push(target);
  const proxy = await FaultProxy.start({ target: { port: target.port }, random });
  proxies.push(proxy);
  const client = await openClient(proxy.port);
  clients.push(client);
  await proxy.waitForConnections(1, 2_000);
  return { target, proxy, client };
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(fixtures.splice(0).map((fixture) => fixture.close()));
});

describe('FaultProxy faults', () => {
  it('forwards bytes both ways and counts them', async () => {
    const { proxy, client } = await setup(echoServer());
    client.socket.write('hello');
    await waitUntil(() => client.received() === 'hello', { timeoutMs: 2_000, what: 'echo' });
    expect(proxy.stats()).toMatchObject({
      open: 1,
      total: 1,
      bytes: { toServer: 5, toClient: 5 },
      dropped: { toServer: 0, toClient: 0 },
    });
  });

  it('a blackholed client stays connected at the TCP level and receives nothing', async () => {
    const { proxy, client, target } = await setup(sinkServer());
    const server = target.sockets[0]!;
    const serverEvents: string[] = [];
    for (const event of ['end', 'close', 'error'] as const) {
      server.on(event, () => serverEvents.push(event));
    }

    proxy.blackhole();
    server.write('lost');
    client.socket.write('also lost');
    await sleep(300);

    expect(client.received()).toBe('');
    expect(target.received().length).toBe(0);
    expect(client.events).toEqual([]);
    expect(client.socket.readyState).toBe('open');
    expect(serverEvents).toEqual([]);
    expect(server.destroyed).toBe(false);
    expect(proxy.stats().dropped).toEqual({ toServer: 9, toClient: 4 });

    proxy.pass();
    server.write('back');
    await waitUntil(() => client.received() === 'back', {
      timeoutMs: 2_000,
      what: 'bytes after pass()',
    });
  });

  it('a blackhole swallows the server closing too, like a pulled cable, until it heals', async () => {
    const { target, proxy, client } = await setup(sinkServer());
    proxy.blackhole();
    target.sockets[0]!.resetAndDestroy();
    target.sockets[0]!.destroy();
    await sleep(200);
    expect(client.events).toEqual([]);
    expect(client.socket.readyState).toBe('open');
    proxy.pass();
    await within(2_000, client.closed, 'the held reset after the blackhole heals');
    expect(client.events).toContain('close');
  });

  it('a blackholed WebSocket stays OPEN, misses messages, and hears later ones after pass()', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const proxy = await FaultProxy.start({
      target: { port: (wss.address() as { port: number }).port },
    });
    proxies.push(proxy);
    try {
      const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
      const ws = new WebSocket(proxy.url('/mcp/?token=x'));
      const messages: string[] = [];
      const events: string[] = [];
      ws.on('message', (data) => messages.push(String(data)));
      ws.on('close', () => events.push('close'));
      ws.on('error', () => events.push('error'));
      await within(2_000, new Promise((resolve) => ws.once('open', resolve)), 'ws open');
      const peer = await within(2_000, serverSide, 'server connection');

      proxy.blackhole();
      peer.send('lost');
      await sleep(300);
      expect(messages).toEqual([]);
      expect(events).toEqual([]);
      expect(ws.readyState).toBe(WebSocket.OPEN);
      expect(wss.clients.size).toBe(1);
      expect(proxy.stats().dropped.toClient).toBeGreaterThan(0);

      proxy.pass();
      peer.send('heard');
      await waitUntil(() => messages.includes('heard'), { timeoutMs: 2_000, what: 'message' });
      ws.terminate();
    } finally {
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it("a paused direction fills the sender's buffer, and resume() delivers every byte in order", async () => {
    const { proxy, client, target } = await setup(sinkServer());
    proxy.pause('toServer');
    expect(proxy.state.toServer.flow).toBe('paused');

    const chunkSize = 64 * 1024;
    let written = 0;
    let refused = false;
    // Write until the kernel buffers are full and the socket keeps bytes in user space.
    while (written < 64 * 1024 * 1024) {
      refused = !client.socket.write(pattern(written, chunkSize)) || refused;
      written += chunkSize;
      if (client.socket.writableLength === 0) continue;
      const drained = await Promise.race([
        new Promise((resolve) => client.socket.once('drain', () => resolve(true))),
        sleep(200).then(() => false),
      ]);
      if (!drained) break;
    }

    expect(refused).toBe(true);
    expect(client.socket.writableLength).toBeGreaterThan(0);
    expect(written).toBeLessThan(64 * 1024 * 1024);
    expect(target.received().length).toBeLessThan(written);

    proxy.resume();
    await waitUntil(() => target.received().length >= written, {
      timeoutMs: 10_000,
      what: `${written} bytes at the server`,
    });
    expect(target.received().equals(pattern(0, written))).toBe(true);
    expect(proxy.stats().bytes.toServer).toBe(written);
  });

  it('a round trip takes at least the configured latency in each direction', async () => {
    const { proxy, client } = await setup(echoServer());
    proxy.latency({ ms: 100 });
    const started = performance.now();
    client.socket.write('ping');
    await waitUntil(() => client.received() === 'ping', { timeoutMs: 2_000, what: 'echo' });
    // Loop time is cached in whole milliseconds, so a timer may look a hair early here.
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(proxy.state.toClient).toEqual({ flow: 'pass', latencyMs: 100, jitterMs: 0 });
  });

  it('chunks under jitter arrive in the order they were sent', async () => {
    const { proxy, client } = await setup(echoServer(), seeded(42));
    proxy.latency({ ms: 20, jitterMs: 15 });
    client.socket.setNoDelay(true);
    const expected = Array.from({ length: 50 }, (_, i) => `${i};`).join('');
    for (let i = 0; i < 50; i++) {
      client.socket.write(`${i};`);
      await sleep(1);
    }
    await waitUntil(() => client.received().length >= expected.length, {
      timeoutMs: 5_000,
      what: '50 echoed chunks',
    });
    expect(client.received()).toBe(expected);
  });

  it('pass() after latency still delivers the delayed bytes first', async () => {
    const { proxy, client } = await setup(echoServer());
    proxy.latency({ ms: 150, direction: 'toServer' });
    client.socket.write('first;');
    await sleep(20);
    proxy.pass();
    client.socket.write('second;');
    await waitUntil(() => client.received().length >= 13, { timeoutMs: 2_000, what: 'echo' });
    expect(client.received()).toBe('first;second;');
  });
});
