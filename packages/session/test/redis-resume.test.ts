import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, requireService } from '@tether/testkit';
import { RedisSessionStore } from '../src/server/index.js';
import type { Session } from '../src/server/index.js';
import type { Cleanup, Convo } from './helpers.js';
import { recordingClient, recordingServer, settle } from './helpers.js';
import { forget, freshPrefix } from './redis.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let url: string | undefined;
beforeAll(async () => {
  url = await requireService('redis');
});

async function redisServer(prefix: string) {
  const store = await RedisSessionStore.connect({ redis: url!, prefix });
  const rec = await recordingServer(cleanups, { store });
  // Registered after the server's own cleanup, so it runs before it: close the server, then
  // its store, then forget the keys.
  cleanups.splice(cleanups.length - 1, 0, async () => {
    await store.close();
    await forget(url!, prefix);
  });
  return rec;
}

async function proxyTo(port: number) {
  const proxy = await FaultProxy.start({ target: { port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

describe('sessions in Redis', () => {
  it('resume after a restart of the server within the window', async (ctx) => {
    if (!url) return ctx.skip();
    const prefix = freshPrefix();
    const a = await redisServer(prefix);
    const proxy = await proxyTo(a.server.port);
    const { client, received, resumed, fresh } = recordingClient(cleanups, proxy.url('/session'));
    client.send('a1');
    client.send('a2');
    await settle('both delivered', () => a.only().state.received.length === 2);
    a.only().send('s1');
    await settle('the server message', () => received.length === 1);
    const sessionId = client.sessionId;

    await a.server.close();
    await settle('the client to notice', () => client.state !== 'active');
    client.send('while the server was down');
    const b = await redisServer(prefix);
    proxy.retarget({ port: b.server.port });
    client.link.retryNow();
    await settle('the resume', () => resumed.length === 1);
    await settle('delivery', () => b.only().state.received.length === 3);

    expect(client.sessionId).toBe(sessionId);
    expect(fresh).toHaveLength(1);
    expect(b.setups()).toBe(0);
    expect(b.only().state).toEqual({
      conversationId: 'c1',
      received: ['a1', 'a2', 'while the server was down'],
      setups: 1,
    });
    b.only().send('s2');
    await settle('the next server message', () => received.length === 2);
    expect(received).toEqual(['s1', 's2']);
  });

  it('resume after the server process was killed (SIGKILL) and started again', async (ctx) => {
    if (!url) return ctx.skip();
    const prefix = freshPrefix();
    cleanups.push(() => forget(url!, prefix));
    const a = await serverProcess(prefix);
    const proxy = await proxyTo(a.port);
    const { client, received, resumed } = recordingClient(cleanups, proxy.url('/session'));
    for (const body of ['m1', 'm2', 'm3']) client.send(body);
    await a.waitFor((m) => m.type === 'message' && m.body === 'm3');
    a.child.send({ type: 'send', body: 's1' });
    await settle('the server message', () => received.length === 1);
    await settle('acks for everything', () => client.pending === 0);
    const sessionId = client.sessionId;

    a.child.kill('SIGKILL');
    await settle('the client to notice', () => client.state !== 'active');
    client.send('m4');
    const b = await serverProcess(prefix);
    proxy.retarget({ port: b.port });
    client.link.retryNow();
    await settle('the resume', () => resumed.length === 1);
    const m4 = await b.waitFor((m) => m.type === 'message' && m.body === 'm4');

    expect(client.sessionId).toBe(sessionId);
    expect(m4.state).toEqual({
      conversationId: `conversation-of-${sessionId}`,
      received: ['m1', 'm2', 'm3', 'm4'],
    });
    expect(b.messages.filter((m) => m.type === 'setup')).toEqual([]);
    expect(b.messages.filter((m) => m.type === 'message').map((m) => m.body)).toEqual(['m4']);
    b.child.send({ type: 'send', body: 's2' });
    await settle('the next server message', () => received.length === 2);
    expect(received).toEqual(['s1', 's2']);
  });

  it('resume on a second instance, which replays what the first sent; the first lets go', async (ctx) => {
    if (!url) return ctx.skip();
    const prefix = freshPrefix();
    const a = await redisServer(prefix);
    const b = await redisServer(prefix);
    const proxy = await proxyTo(a.server.port);
    const { client, received, resumed } = recordingClient(cleanups, proxy.url('/session'));
    client.send('to a');
    await settle('delivery on a', () => a.only().state.received.length === 1);
    const onA: Session<Convo> = a.only();

    // Frames a sends now are stored but never reach the client: b must replay them.
    proxy.pause('toClient');
    onA.send('x1');
    onA.send('x2');
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.retarget({ port: b.server.port });
    proxy.resetAll();
    proxy.resume();
    await settle('the resume on b', () => resumed.length === 1);
    await settle('the replay', () => received.length === 2);
    await settle('a to let go', () => onA.status === 'moved');

    expect(received).toEqual(['x1', 'x2']);
    expect(b.setups()).toBe(0);
    expect(b.only().state).toMatchObject({ conversationId: 'c1', received: ['to a'] });
    expect(a.server.sessions.size).toBe(0);
    expect(onA.send('late on a')).toBe(false);
    client.send('to b');
    b.only().send('from b');
    await settle('both directions on b', () => received.length === 3);
    await settle('delivery on b', () => b.only().state.received.length === 2);
    expect(received).toEqual(['x1', 'x2', 'from b']);
    expect(b.only().state.received).toEqual(['to a', 'to b']);
  });
});

interface ChildMessage {
  type: string;
  body?: unknown;
  state?: unknown;
  port?: number;
}

async function serverProcess(prefix: string) {
  const child: ChildProcess = fork(
    fileURLToPath(new URL('./fixtures/server-process.ts', import.meta.url)),
    {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, REDIS_URL: url, SESSION_PREFIX: prefix },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  const messages: ChildMessage[] = [];
  child.on('message', (m: ChildMessage) => messages.push(m));
  const waitFor = async (predicate: (m: ChildMessage) => boolean) => {
    await settle('a message from the server process', () => messages.some(predicate), 10_000);
    return messages.find(predicate)!;
  };
  const ready = await waitFor((m) => m.type === 'ready');
  return { child, port: ready.port!, messages, waitFor };
}
