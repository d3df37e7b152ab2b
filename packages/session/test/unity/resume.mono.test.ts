/**
 * The C# session client (clients/unity/Runtime/Core) under Mono, in a process of its own,
 * against the real Node SessionServer on loopback: the done-when of issue 14 for the client.
 * Each test is about real elapsed time and real process signals, so it waits on the wall clock,
 * bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, waitUntil } from '@tether/testkit';
import { MemorySessionStore } from '../../src/server/index.js';
import type { ClaimResult, SessionStatus } from '../../src/server/index.js';
import { requireMono } from './csharp.js';
import { Driver, buildDriver, elapse, startRecordingServer } from './driver.js';

const mono = requireMono();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startRecordingServer>[0] = {}) {
  const s = await startRecordingServer(options);
  cleanups.push(() => s.server.close());
  return s;
}

async function driver(args: string[]): Promise<Driver> {
  const d = await Driver.start(args);
  cleanups.push(() => d.stop());
  return d;
}

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ target: { port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

const bodies = (from: number, to: number, prefix: string) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ text: `${prefix}${from + i}` }));

/** A store whose claims take `delayMs`, as a slow shared store would: the welcome waits. */
class SlowClaims extends MemorySessionStore {
  delayMs = 0;
  override async claim(...args: Parameters<MemorySessionStore['claim']>): Promise<ClaimResult> {
    if (this.delayMs > 0) await elapse(this.delayMs);
    return super.claim(...args);
  }
}

describe.skipIf(!mono)('the C# session client under Mono, against the real server', () => {
  beforeAll(async () => {
    await buildDriver();
  }, 120_000);

  it('keeps the socket while its main thread is not pumped for 60 s, then hands over every message once and in order', async () => {
    // The server's defaults: app heartbeat 5 s, paused after 12.5 s of app silence, detached
    // (4408) 15 s later, ping frames every 5 s. The old client lost the socket at 27.5 s.
    const s = await server();
    const statuses: SessionStatus[] = [];
    s.server.on('status', (_session, to) => statuses.push(to));
    const d = await driver(['--url', s.url]);
    await d.command('connect');
    await d.waitFor((e) => e.event === 'newSession', 10_000, 'the first welcome');
    await d.command('pump off');
    const session = s.session();
    for (let i = 1; i <= 60; i++) {
      await elapse(1_000);
      expect(session.send({ text: `s${i}` })).toBe(true);
    }
    expect(s.record.connections).toBe(1);
    expect(statuses).toEqual([]);
    expect(session.status).toBe('active');
    // Nothing reached the app while its main thread was stopped.
    expect(d.messages()).toEqual([]);

    await d.command('pump on');
    await d.waitFor(() => d.messages().length >= 60, 10_000, '60 messages');
    await elapse(300);
    expect(d.messages()).toEqual(bodies(1, 60, 's'));
    await d.command('send {"text":"still here"}');
    await waitUntil(() => s.record.received.get(session.id)?.length === 1, { timeoutMs: 5_000 });
    expect(s.record.received.get(session.id)).toEqual([{ text: 'still here' }]);
    expect(s.record.connections).toBe(1);
    const states = d.of('state').map((e) => e.to);
    expect(states).toEqual(['Connecting', 'Handshaking', 'Active']);
  }, 120_000);

  it('SIGSTOPped past the heartbeat timeout, then SIGCONTed: one new connection, resumed, nothing lost or doubled either way', async () => {
    const s = await server({
      heartbeatMs: 1_000,
      pauseAfterMs: 2_500,
      detachAfterMs: 3_000,
      pingIntervalMs: 500,
      maxMissedPongs: 2,
      tickMs: 100,
    });
    const detached = new Promise<void>((resolve) =>
      s.server.on('status', (_s, to) => to === 'detached' && resolve()),
    );
    const d = await driver(['--url', s.url]);
    await d.command('connect');
    const first = await d.waitFor((e) => e.event === 'newSession', 10_000, 'the first welcome');
    const id = first.sessionId as string;
    for (const body of bodies(1, 5, 'c')) await d.command(`send ${JSON.stringify(body)}`);
    await waitUntil(() => s.record.received.get(id)?.length === 5, { timeoutMs: 5_000 });
    const session = s.session(id);
    for (const body of bodies(1, 3, 's')) session.send(body);
    await d.waitFor(() => d.messages().length === 3, 5_000, 'three server messages');

    d.signal('SIGSTOP');
    for (const body of bodies(4, 8, 's')) {
      session.send(body);
      await elapse(200);
    }
    await detached; // the server cut the silent socket
    await elapse(1_000);
    d.signal('SIGCONT');

    const resumed = await d.waitFor((e) => e.event === 'resumed', 15_000, 'the resume');
    expect(resumed.sessionId).toBe(id);
    for (const body of bodies(6, 10, 'c')) await d.command(`send ${JSON.stringify(body)}`);
    await waitUntil(() => s.record.received.get(id)?.length === 10, { timeoutMs: 5_000 });
    await d.waitFor(() => d.messages().length >= 8, 5_000, 'eight server messages');
    await elapse(500);
    expect(s.record.connections).toBe(2);
    expect(s.record.setups).toHaveLength(1);
    expect(s.record.received.get(id)).toEqual(bodies(1, 10, 'c'));
    expect(d.messages()).toEqual(bodies(1, 8, 's'));
    expect(d.of('newSession')).toHaveLength(1);
  }, 60_000);

  it('100 sends from 10 threads during an outage open exactly one connection, and each arrives once', async () => {
    const store = new MemorySessionStore();
    const before = await startRecordingServer({ store });
    const d = await driver(['--url', before.url]);
    await d.command('connect');
    const first = await d.waitFor((e) => e.event === 'newSession', 10_000, 'the first welcome');
    await before.server.close(); // clients get 1001; the port refuses from now on
    await d.waitFor((e) => e.event === 'state' && e.to === 'Connecting', 5_000, 'the loss');

    const sent = await d.command('send-many 100 10 m');
    expect(sent).toMatchObject({ ok: true, accepted: 100 });
    await elapse(1_000);
    const after = await server({ store, port: before.port });
    const resumed = await d.waitFor((e) => e.event === 'resumed', 20_000, 'the resume');
    expect(resumed.sessionId).toBe(first.sessionId);
    const id = first.sessionId as string;
    await waitUntil(() => after.record.received.get(id)?.length === 100, { timeoutMs: 10_000 });
    await elapse(1_000);
    expect(after.record.connections).toBe(1);
    const got = after.record.received.get(id) as Array<{ n: number; thread: number }>;
    expect(got.map((b) => b.n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    // Each thread's messages keep the order that thread sent them in.
    for (let t = 0; t < 10; t++) {
      const mine = got.filter((b) => b.thread === t).map((b) => b.n);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
  }, 60_000);

  it('a message sent while reconnecting, before the welcome, arrives once, after it, in the resumed conversation', async () => {
    const store = new SlowClaims();
    const s = await server({ store });
    const proxy = await proxyTo(s.port);
    const d = await driver(['--url', proxy.url('/session')]);
    await d.command('connect');
    const first = await d.waitFor((e) => e.event === 'newSession', 10_000, 'the first welcome');
    const id = first.sessionId as string;
    await d.command('send {"text":"before"}');
    await waitUntil(() => s.record.received.get(id)?.length === 1, { timeoutMs: 5_000 });

    store.delayMs = 1_500;
    const handshaking = d.next(
      (e) => e.event === 'state' && e.to === 'Handshaking',
      10_000,
      'the reconnect to reach its hello',
    );
    proxy.resetAll();
    await handshaking;
    await d.command('send {"text":"during"}');
    const resumed = await d.waitFor((e) => e.event === 'resumed', 10_000, 'the resume');
    expect(resumed.sessionId).toBe(id);
    await waitUntil(() => s.record.received.get(id)?.length === 2, { timeoutMs: 5_000 });
    await elapse(300);
    expect(s.record.received.get(id)).toEqual([{ text: 'before' }, { text: 'during' }]);
    const timeline = s.record.timeline;
    expect(timeline.indexOf(`resumed ${id}`)).toBeGreaterThan(-1);
    expect(timeline.indexOf(`message ${id} {"text":"during"}`)).toBeGreaterThan(
      timeline.indexOf(`resumed ${id}`),
    );
    expect(s.record.setups).toHaveLength(1);
  }, 60_000);

  it("past the resume window: NewSession hands back the undelivered messages, and the hello's context reaches onNewSession", async () => {
    const s = await server({ resumeWindowMs: 1_500, tickMs: 100 });
    const expired = new Promise<void>((resolve) => s.server.on('expired', () => resolve()));
    const proxy = await proxyTo(s.port);
    const d = await driver(['--url', proxy.url('/session'), '--context', '{"language":"fr"}']);
    await d.command('connect');
    const first = await d.waitFor((e) => e.event === 'newSession', 10_000, 'the first welcome');
    expect(s.record.setups[0]).toMatchObject({ reason: 'new', context: { language: 'fr' } });

    await proxy.refuse();
    proxy.resetAll();
    await d.waitFor((e) => e.event === 'state' && e.to === 'Connecting', 5_000, 'the loss');
    for (const body of bodies(1, 3, 'u')) await d.command(`send ${JSON.stringify(body)}`);
    await expired;
    await proxy.accept();
    await d.command('resume');

    const fresh = await d.waitFor(
      (e) => e.event === 'newSession' && e.previousSessionId === first.sessionId,
      15_000,
      'the new session',
    );
    expect(fresh.reason).toBe('Expired');
    expect(fresh.undelivered).toEqual(bodies(1, 3, 'u'));
    expect(s.record.setups[1]).toMatchObject({
      reason: 'expired',
      previousSessionId: first.sessionId,
      previousState: { conversationId: 'c1', language: 'fr' },
      context: { language: 'fr' },
    });
    await elapse(300);
    expect([...s.record.received.values()].flat()).toEqual([]);
  }, 60_000);

  it('an app restarted within the resume window resumes with the token it stored', async () => {
    const s = await server();
    const dir = mkdtempSync(join(tmpdir(), 'tether-store-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'session.json');

    const one = await driver(['--url', s.url, '--store', file]);
    await one.command('connect');
    const first = await one.waitFor((e) => e.event === 'newSession', 10_000, 'the first welcome');
    const id = first.sessionId as string;
    s.session(id).send({ text: 's1' });
    await one.waitFor(() => one.messages().length === 1, 5_000, 'the first message');
    await one.command('send {"text":"c1"}');
    await waitUntil(() => s.record.received.get(id)?.length === 1, { timeoutMs: 5_000 });
    await one.command('close keep'); // what the Unity adapter does in OnApplicationQuit
    await one.stop();

    const two = await driver(['--url', s.url, '--store', file]);
    await two.command('connect');
    const resumed = await two.waitFor((e) => e.event === 'resumed', 10_000, 'the resume');
    expect(resumed).toMatchObject({ sessionId: id, missed: 0 });
    s.session(id).send({ text: 's2' });
    await two.waitFor(() => two.messages().length === 1, 5_000, 'the next message');
    expect(two.messages()).toEqual([{ text: 's2' }]);
    await two.command('send {"text":"c2"}');
    await waitUntil(() => s.record.received.get(id)?.length === 2, { timeoutMs: 5_000 });
    await two.killed(); // a crash this time: the token stored at the last welcome still works

    const three = await driver(['--url', s.url, '--store', file]);
    await three.command('connect');
    const again = await three.waitFor((e) => e.event === 'resumed', 10_000, 'the resume');
    expect(again.sessionId).toBe(id);
    expect(s.record.setups).toHaveLength(1);
    expect(s.record.received.get(id)).toEqual([{ text: 'c1' }, { text: 'c2' }]);
  }, 60_000);
});
