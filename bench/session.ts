// Session benchmarks on loopback: how long a resume takes after a reconnect (memory and Redis
// stores), and how many idle sessions a server holds per GiB of memory.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { wsSocketFactory } from '@tether/link/node';
import { FaultProxy, reachable } from '@tether/testkit';
import { SessionClient } from '../packages/session/src/index.js';
import {
  MemorySessionStore,
  RedisSessionStore,
  SessionServer,
} from '../packages/session/src/server/index.js';
import type { SessionStore } from '../packages/session/src/server/index.js';
import { sleep, summary, until } from './lib.js';
import type { Row } from './lib.js';

export async function sessionBench(): Promise<Row[]> {
  const rows: Row[] = [await resumeLatency('memory')];
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (await reachable(redisUrl, 6379)) rows.push(await resumeLatency('redis', redisUrl));
  else
    rows.push({
      what: 'resume latency, Redis store',
      result: 'skipped: no Redis',
      target: 'none',
      met: undefined,
    });
  rows.push(...(await idleSessionsPerGiB()));
  return rows;
}

const ms = (s: { n: number; p50: number; p99: number; max: number }) =>
  `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`;

/**
 * n clients behind a fault proxy, every socket reset at once. Measured per client: from its
 * new socket opening to the `resumed` event (hello → claim → welcome: the session's own cost),
 * and from the reset to `resumed` (the link's 0–250 ms first-retry jitter included). One drop
 * per round: a second drop within the link's stable period (30 s) would be a second failure,
 * with a wider backoff, and measure the link rather than the session.
 */
export async function resumeLatency(
  kind: 'memory' | 'redis',
  url?: string,
  n = 200,
  drops = 1,
): Promise<Row> {
  const prefix = `bench:session:${randomBytes(4).toString('hex')}:`;
  const store: SessionStore =
    kind === 'redis'
      ? await RedisSessionStore.connect({ redis: url!, prefix })
      : new MemorySessionStore();
  const server = await SessionServer.listen({ store });
  const proxy = await FaultProxy.start({ target: { port: server.port } });
  const handshake: number[] = [];
  const total: number[] = [];
  let cutAt = 0;
  let resumes = 0;
  const clients = Array.from({ length: n }, () => {
    const client = new SessionClient({
      url: proxy.url('/session'),
      socketFactory: wsSocketFactory(),
      page: false,
    });
    let openedAt = 0;
    client.link.on('transition', (t) => {
      if (t.to === 'open') openedAt = performance.now();
    });
    client.on('resumed', () => {
      const now = performance.now();
      handshake.push(now - openedAt);
      total.push(now - cutAt);
      resumes++;
    });
    return client;
  });
  try {
    for (let i = 0; i < n; i += 50)
      await Promise.all(clients.slice(i, i + 50).map((c) => c.connect()));
    for (let round = 1; round <= drops; round++) {
      await sleep(500);
      cutAt = performance.now();
      proxy.resetAll();
      await until(() => resumes === n * round, 30_000, `every client resumed (round ${round})`);
    }
    return {
      what: `resume after a reconnect, ${kind} store (${n} clients cut at once${drops > 1 ? `, ${drops} times` : ''})`,
      result: `socket open → resumed ${ms(summary(handshake))}; cut → resumed ${ms(summary(total))}`,
      target: 'none; for scale, a reconnect itself: p50 ≤ 300 ms, every one ≤ 1.5 s',
      met: undefined,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close({ end: false })));
    await proxy.close();
    await server.close();
    await store.close();
    if (kind === 'redis') await forget(url!, prefix);
  }
}

/**
 * A session server alone in a child process, product defaults (heartbeat 5 s), memory store;
 * n raw WebSocket clients say hello and then send their app heartbeat every 5 s. Attached idle
 * sessions are measured as RSS beyond the base; detached ones (the clients gone, the sessions
 * waiting out their resume window) as heap, since freed socket memory is not always returned
 * to the OS.
 */
export async function idleSessionsPerGiB(n = 5_000): Promise<Row[]> {
  const child = fork(
    fileURLToPath(new URL('../packages/session/test/fixtures/server-process.ts', import.meta.url)),
    {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: { ...process.env, REDIS_URL: '', HEARTBEAT_MS: '5000' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const sockets: WebSocket[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    const { port } = await reply<{ port: number }>(child, 'ready');
    const base = await memory(child);
    for (let i = 0; i < n; i += 250) {
      const batch = Array.from({ length: Math.min(250, n - i) }, () => hello(port));
      sockets.push(...(await Promise.all(batch)));
    }
    heartbeat = setInterval(() => {
      for (const ws of sockets) ws.send('{"type":"ping"}');
    }, 5_000);
    await sleep(2_000);
    const attached = await memory(child);
    for (const ws of sockets) ws.terminate();
    let detached = await memory(child);
    for (const deadline = Date.now() + 30_000; (detached.statuses.detached ?? 0) < n;) {
      if (Date.now() > deadline)
        throw new Error('bench: timed out waiting for every session to detach');
      await sleep(200);
      detached = await memory(child);
    }
    const gib = 2 ** 30;
    const perAttached = (attached.rss - base.rss) / n;
    const perDetached = (detached.heapUsed - base.heapUsed) / n;
    const k = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
    const perGiB = (bytes: number) => Math.floor(gib / bytes).toLocaleString('en');
    return [
      {
        what: `idle sessions per GiB, attached (socket open, app heartbeat every 5 s; ${n} sessions)`,
        result: `${perGiB(perAttached)} (${k(perAttached)} RSS, ${k((attached.heapUsed - base.heapUsed) / n)} heap each)`,
        target: 'none; for scale, ≤ 30 KB per hub endpoint',
        met: undefined,
      },
      {
        what: `idle sessions per GiB, detached (within the resume window, memory store; ${n} sessions)`,
        result: `${perGiB(perDetached)} (${k(perDetached)} heap each)`,
        target: 'none',
        met: undefined,
      },
    ];
  } finally {
    clearInterval(heartbeat);
    for (const ws of sockets) ws.terminate();
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }

  async function memory(proc: ChildProcess) {
    proc.send({ type: 'memory' });
    return reply<{ rss: number; heapUsed: number; statuses: Record<string, number> }>(
      proc,
      'memory',
    );
  }
}

/** Opens a socket and waits for its welcome: one new session on the server. */
function hello(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/session`, { perMessageDeflate: false });
    ws.once('open', () => ws.send('{"type":"hello","version":1,"lastSeq":0}'));
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
  });
}

function reply<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
  });
}

async function forget(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}
