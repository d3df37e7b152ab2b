import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../src/proxy/index.js';
import { waitUntil } from '../../src/wait.js';
import {
  connectError,
  echoServer,
  greetingServer,
  openClient,
  sinkServer,
  within,
  type Client,
  type Fixture,
} from './net-fixtures.js';

const proxies: FaultProxy[] = [];
const fixtures: Fixture[] = [];
const clients: Client[] = [];

async function fixture(server: Promise<Fixture>) {
  const started = await server;
  fixtures.push(started);
  return started;
}

async function proxyTo(port: number) {
  const proxy = await FaultProxy.start({ target: { port } });
  proxies.push(proxy);
  return proxy;
}

async function client(port: number) {
  const opened = await openClient(port);
  clients.push(opened);
  return opened;
}

async function echoes(c: Client, text: string) {
  const before = c.received().length;
  c.socket.write(text);
  await waitUntil(() => c.received().slice(before) === text, { timeoutMs: 2_000, what: 'echo' });
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

describe('FaultProxy lifecycle', () => {
  it('resetAll() makes both peers see a connection reset', async () => {
    const target = await fixture(sinkServer());
    const proxy = await proxyTo(target.port);
    const c = await client(proxy.port);
    await proxy.waitForConnections(1, 2_000);
    const server = target.sockets[0]!;
    const serverClosed = new Promise((resolve) => server.once('close', resolve));

    expect(proxy.resetAll()).toBe(1);

    const { hadError } = await within(1_000, c.closed, 'client close');
    expect(hadError).toBe(true);
    expect(c.error?.code).toBe('ECONNRESET');
    await within(1_000, serverClosed, 'server close');
    await waitUntil(() => proxy.stats().open === 0, { timeoutMs: 1_000, what: 'open = 0' });
  });

  it('refuse() turns new connects away while open connections keep working; accept() lets them in again', async () => {
    const target = await fixture(echoServer());
    const proxy = await proxyTo(target.port);
    const port = proxy.port;
    const existing = await client(port);
    await echoes(existing, 'before');

    await proxy.refuse();
    expect(proxy.state.listening).toBe(false);
    expect(await within(2_000, connectError(port), 'refused connect')).toBe('ECONNREFUSED');
    await echoes(existing, 'during');

    await proxy.accept();
    expect(proxy.port).toBe(port);
    const fresh = await client(port);
    await echoes(fresh, 'after');
    await echoes(existing, 'still');
  });

  it('a client connecting while the server is down is reset promptly', async () => {
    const gone = await sinkServer();
    await gone.close();
    const proxy = await proxyTo(gone.port);
    const c = await client(proxy.port);
    const { hadError } = await within(1_000, c.closed, 'client close');
    expect(hadError).toBe(true);
    expect(c.error?.code).toBe('ECONNRESET');
    expect(proxy.stats()).toMatchObject({ open: 0, total: 1 });
  });

  it('after retarget(), new connections reach the restarted server', async () => {
    const first = await fixture(greetingServer('first'));
    const proxy = await proxyTo(first.port);
    const a = await client(proxy.port);
    await waitUntil(() => a.received() === 'first', { timeoutMs: 2_000, what: 'first greeting' });

    await first.close();
    const second = await fixture(greetingServer('second'));
    proxy.retarget({ port: second.port });
    const b = await client(proxy.port);
    await waitUntil(() => b.received() === 'second', { timeoutMs: 2_000, what: 'second greeting' });
  });

  it('a client that half-closes still hears the reply, then sees the server close', async () => {
    const target = await fixture(echoServer());
    const proxy = await proxyTo(target.port);
    proxy.latency({ ms: 30 });
    const c = await client(proxy.port);
    c.socket.end('last words');
    const { hadError } = await within(2_000, c.closed, 'client close');
    expect(hadError).toBe(false);
    expect(c.received()).toBe('last words');
    expect(c.events).toEqual(['end', 'close']);
  });

  it('waitForConnections() gives up after its timeout', async () => {
    const target = await fixture(sinkServer());
    const proxy = await proxyTo(target.port);
    await expect(proxy.waitForConnections(1, 50)).rejects.toThrow(/0 of 1 connections/);
  });

  it('close() drops every connection, stops listening and leaves no timers', async () => {
    const target = await fixture(echoServer());
    const proxy = await proxyTo(target.port);
    const c = await client(proxy.port);
    await proxy.waitForConnections(1, 2_000);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    proxy.latency({ ms: 60_000 });
    c.socket.write('never delivered');
    await waitUntil(() => timers() > before, { timeoutMs: 1_000, what: 'a latency timer' });

    await within(2_000, proxy.close(), 'close');

    expect(timers()).toBe(before);
    expect(proxy.stats().open).toBe(0);
    await within(1_000, c.closed, 'client close');
    expect(await within(2_000, connectError(proxy.port), 'refused connect')).toBe('ECONNREFUSED');
    await expect(proxy.accept()).rejects.toThrow(/closed/);
  });
});
