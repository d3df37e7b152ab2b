/**
 * The C# session client under Mono through the session gateway, in front of a server that knows
 * nothing of sessions and sets up fresh state per connection (docs/session-gateway.md): the
 * conversation survives a main thread that is not pumped and a stopped process, and the server
 * sees one connection for all of it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testkit';
import { SessionGateway } from '../../src/gateway/index.js';
import { startCountingUpstream } from '../fixtures/counting-upstream.js';
import { requireMono } from './csharp.js';
import { Driver, buildDriver, elapse } from './driver.js';

const mono = requireMono();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The upstream's frames as the app gets them: each one a string body, the JSON text untouched. */
const frames = (d: Driver) =>
  d.messages().map((body) => {
    expect(typeof body).toBe('string');
    return JSON.parse(body as string) as Record<string, unknown>;
  });

describe.skipIf(!mono)('the C# session client through the session gateway', () => {
  beforeAll(async () => {
    await buildDriver();
  }, 120_000);

  it('a client that is not pumped, then SIGSTOPped past the heartbeat, is one upstream connection for the whole conversation', async () => {
    const upstream = await startCountingUpstream();
    cleanups.push(() => upstream.close());
    const gateway = await SessionGateway.start({
      upstream: upstream.url,
      session: {
        heartbeatMs: 1_000,
        pauseAfterMs: 2_500,
        detachAfterMs: 3_000,
        pingIntervalMs: 500,
        maxMissedPongs: 2,
        tickMs: 100,
      },
    });
    cleanups.push(() => gateway.close());
    const d = await Driver.start(['--url', `${gateway.url}chat?room=7`]);
    cleanups.push(() => d.stop());

    await d.command('connect');
    await d.waitFor((e) => e.event === 'newSession', 10_000, 'the welcome');
    await d.waitFor(() => d.messages().length === 1, 5_000, "the upstream's greeting");
    expect(frames(d)[0]).toEqual({ type: 'greeting', connection: 1, path: '/chat?room=7' });
    await d.command('send "one"');
    await d.waitFor(() => d.messages().length === 2, 5_000, 'the first reply');

    // The main thread stops for longer than the server's pause and detach timers together.
    await d.command('pump off');
    for (let i = 1; i <= 3; i++) {
      await elapse(2_000);
      upstream.send(1, JSON.stringify({ type: 'tick', n: i }));
    }
    await elapse(2_000);
    await d.command('pump on');
    await d.waitFor(() => d.messages().length === 5, 5_000, 'three ticks');

    // The whole process stops: the gateway cuts its socket; the upstream's stays.
    d.signal('SIGSTOP');
    for (let i = 4; i <= 6; i++) {
      upstream.send(1, JSON.stringify({ type: 'tick', n: i }));
      await elapse(300);
    }
    await elapse(2_500); // two missed pongs cut it after 1 to 1.5 s
    d.signal('SIGCONT');
    const resumed = await d.waitFor((e) => e.event === 'resumed', 15_000, 'the resume');
    expect(resumed.sessionId).toBe(d.of('newSession')[0]!.sessionId);
    await d.command('send "two"');
    await d.waitFor(() => d.messages().length === 9, 5_000, 'the last reply');
    await elapse(300);

    expect(frames(d)).toEqual([
      { type: 'greeting', connection: 1, path: '/chat?room=7' },
      { type: 'reply', connection: 1, count: 1, text: 'one' },
      { type: 'tick', n: 1 },
      { type: 'tick', n: 2 },
      { type: 'tick', n: 3 },
      { type: 'tick', n: 4 },
      { type: 'tick', n: 5 },
      { type: 'tick', n: 6 },
      // The upstream's per-connection counter went on: its set-up ran once.
      { type: 'reply', connection: 1, count: 2, text: 'two' },
    ]);
    expect(upstream.connections).toBe(1);
    expect(upstream.received.map((r) => [r.connection, r.text])).toEqual([
      [1, 'one'],
      [1, 'two'],
    ]);
    await waitUntil(() => d.of('resumed').length === 1, { timeoutMs: 1_000 });
    expect(d.of('newSession')).toHaveLength(1);
  }, 60_000);
});
