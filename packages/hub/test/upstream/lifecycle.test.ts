import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  fakeStdioServerParams,
  startFakeHttpServer,
  waitUntil,
} from '@tether/testkit';
import { liveGroupCount } from '../../src/upstream/process-groups.js';
import type { UpstreamStatus } from '../../src/upstream/index.js';
import {
  Fleet,
  advance,
  fakeStdio,
  httpConfig,
  isAlive,
  rejection,
  sleep,
  stdioConfig,
  timerDueIn,
  trackTimers,
} from './helpers.js';

const fleet = new Fleet();
afterEach(() => fleet.stopAll());

/** `sh` starts a `sleep` in the background, notes its pid, then becomes the fake server. */
function serverWithGrandchild(): {
  config: ReturnType<typeof stdioConfig>;
  grandchild: () => number;
} {
  const file = join(mkdtempSync(join(tmpdir(), 'tether-pg-')), 'pid');
  const { command, args } = fakeStdioServerParams();
  const script = `sleep 300 & echo $! > '${file}'; exec "$0" "$@"`;
  return {
    config: stdioConfig({ command: 'sh', args: ['-c', script, command, ...args] }),
    grandchild: () => Number(readFileSync(file, 'utf8').trim()),
  };
}

describe('stdio supervision', () => {
  it('a crash loop is restarted ever more slowly, reads failed after 5 restarts, and is still retried', async () => {
    const crasher = stdioConfig({
      command: process.execPath,
      args: ['-e', "process.stderr.write('boom\\n'); process.exit(3)"],
    });
    // The delays run on the clock; each attempt is a real child, awaited for real meanwhile.
    const clock = new ManualClock();
    const upstream = fleet.make(crasher, {
      restart: { initialMs: 40, maxMs: 320, stableMs: 60_000 },
      random: () => 1, // no jitter: the delays are exactly 40, 80, 160, 320, 320, …
      clock,
    });
    const restartAt: number[] = [];
    let whenFailed: UpstreamStatus | undefined;
    upstream.on('state', (status) => {
      if (status.restarts > restartAt.length) restartAt.push(clock.now());
      if (status.state === 'failed') whenFailed ??= status;
    });
    await upstream.start();
    expect(upstream.status.state).toBe('restarting');
    expect(upstream.status.lastError).toBe('exited with code 3: boom');
    for (const delay of [40, 80, 160, 320, 320, 320, 320]) {
      // The failed attempt has closed its child: the retry is the one timer left.
      await timerDueIn(clock, delay, `a retry in ${delay} ms`);
      expect(clock.pending).toBe(1);
      await advance(clock, delay - 1);
      const restarts = upstream.status.restarts;
      await advance(clock, 1);
      expect(upstream.status.restarts).toBe(restarts + 1);
    }
    await timerDueIn(clock, 320, 'the eighth retry, still at maxMs');
    expect(whenFailed?.restarts).toBe(5);
    expect(upstream.status.state).toBe('failed');
    // Each restart came exactly one delay after the last: 80, 160, 320, then 320 for good.
    expect(restartAt[0]).toBe(40);
    const gaps = restartAt.slice(1).map((t, i) => t - (restartAt[i] ?? 0));
    expect(gaps).toEqual([80, 160, 320, 320, 320, 320]);
  });

  it('stop() ends a server that ignores SIGTERM within the grace period, and rejects its calls', async () => {
    const grace = 300;
    // The steps of the stop run on the clock; the child hears each signal for real.
    const clock = new ManualClock();
    const upstream = await fleet.started(fakeStdio({}, ['--ignore-sigterm']), {
      stopGraceMs: grace,
      clock,
    });
    const pid = upstream.status.pid as number;
    const hang = rejection(upstream.callTool('hang', {}, { timeoutMs: 30_000 }));
    let stopped = false;
    const stopping = upstream.stop().then(() => (stopped = true));
    expect((await hang).code).toBe('UPSTREAM_UNAVAILABLE');
    // It ignores the end of its stdin…
    await timerDueIn(clock, 100, 'the wait after the end of stdin');
    await advance(clock, 100);
    // …and SIGTERM, which it says it heard; then only SIGKILL, at the end of the grace, ends it.
    await waitUntil(() => upstream.status.stderrTail.some((l) => l.endsWith('ignoring SIGTERM')), {
      what: 'the server to ignore SIGTERM',
    });
    await timerDueIn(clock, grace, 'the grace period');
    await advance(clock, grace - 1);
    expect(stopped).toBe(false);
    expect(isAlive(pid)).toBe(true);
    await advance(clock, 1);
    await stopping;
    expect(clock.now()).toBe(100 + grace);
    expect(isAlive(pid)).toBe(false);
    expect(upstream.status.state).toBe('stopped');
    expect(clock.pending).toBe(0);
  });

  it('a server that never answers the handshake fails it at listTimeoutMs, and is retried', async () => {
    const clock = new ManualClock();
    // Reads nothing, says nothing: the initialize request goes unanswered.
    const mute = stdioConfig({ command: 'sleep', args: ['300'] });
    const upstream = fleet.make(mute, { listTimeoutMs: 2000, clock });
    let started = false;
    const starting = upstream.start().then(() => (started = true));
    await timerDueIn(clock, 2000, 'the handshake deadline');
    await advance(clock, 1999);
    expect(started).toBe(false);
    await advance(clock, 1);
    // The child is stopped as any other: stdin closed, then SIGTERM once it has not left.
    await timerDueIn(clock, 100, 'the wait after the end of stdin');
    await advance(clock, 100);
    await starting;
    expect(upstream.status).toMatchObject({ state: 'restarting', lastError: 'Request timed out' });
  });

  it('stop() kills the whole process group, not just the server', async () => {
    const { config, grandchild } = serverWithGrandchild();
    const upstream = await fleet.started(config);
    const pid = upstream.status.pid as number;
    const sleeper = grandchild();
    expect(isAlive(sleeper)).toBe(true);
    await upstream.stop();
    expect(isAlive(pid)).toBe(false);
    await waitUntil(() => !isAlive(sleeper), { timeoutMs: 2000, what: 'the grandchild to die' });
  });

  it('what a crashed server started dies with it', async () => {
    const { config, grandchild } = serverWithGrandchild();
    const upstream = await fleet.started(config);
    const sleeper = grandchild();
    await rejection(upstream.callTool('crash', {}, { timeoutMs: 5000 }));
    await waitUntil(() => !isAlive(sleeper), { timeoutMs: 2000, what: 'the orphan to die' });
  });

  it('stop() leaves nothing running: no child, no timer, no listener', async () => {
    const ourExitHooks = () => process.listeners('exit').filter((l) => l.name === 'killAll').length;
    const timers = trackTimers();
    const http = await startFakeHttpServer({ transport: 'http' });
    try {
      const ready = await fleet.started(fakeStdio());
      const pid = ready.status.pid as number;
      expect(liveGroupCount()).toBe(1);
      expect(ourExitHooks()).toBe(1);
      const pinged = await fleet.started(httpConfig(http.url, 'http'), { pingIntervalMs: 50 });
      // One stopped while it waits to restart, one while its child is still starting.
      const restarting = fleet.make(
        stdioConfig({ command: process.execPath, args: ['-e', 'process.exit(1)'] }),
      );
      await restarting.start();
      expect(restarting.status.state).toBe('restarting');
      const starting = fleet.make(fakeStdio());
      const startingDone = starting.start();
      const all = [ready, pinged, restarting, starting];

      await Promise.all(all.map((u) => u.stop()));
      await startingDone;
      expect(all.map((u) => u.status.state)).toEqual(Array(4).fill('stopped'));
      expect(isAlive(pid)).toBe(false);
      expect(liveGroupCount()).toBe(0);
      expect(ourExitHooks()).toBe(0);
      await sleep(20);
      // fetch's shared connection pool (undici keep-alive) is the process's, not the upstream's.
      expect(timers.pending().filter((t) => !t.includes('undici'))).toEqual([]);
      // Stopping twice is harmless, and a stopped upstream never comes back.
      await ready.stop();
      await ready.start();
      expect(ready.status.state).toBe('stopped');
    } finally {
      timers.restore();
      await http.close();
    }
  });
});
