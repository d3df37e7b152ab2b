import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeStdioServerParams, startFakeHttpServer, waitUntil } from '@tether/testkit';
import { liveGroupCount } from '../../src/upstream/process-groups.js';
import type { UpstreamStatus } from '../../src/upstream/index.js';
import {
  Fleet,
  fakeStdio,
  httpConfig,
  isAlive,
  rejection,
  sleep,
  stdioConfig,
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
    const upstream = fleet.make(crasher, {
      restart: { initialMs: 40, maxMs: 320, stableMs: 60_000 },
      random: () => 1, // no jitter: the delays are exactly 40, 80, 160, 320, 320, …
    });
    const restartAt: number[] = [];
    let whenFailed: UpstreamStatus | undefined;
    upstream.on('state', (status) => {
      if (status.restarts > restartAt.length) restartAt.push(Date.now());
      if (status.state === 'failed') whenFailed ??= status;
    });
    await upstream.start();
    expect(upstream.status.state).toBe('restarting');
    expect(upstream.status.lastError).toBe('exited with code 3: boom');
    await waitUntil(() => upstream.status.restarts >= 7, {
      timeoutMs: 8000,
      what: 'seven restarts',
    });
    expect(whenFailed?.restarts).toBe(5);
    expect(upstream.status.state).toBe('failed');
    const gaps = restartAt.slice(1).map((t, i) => t - (restartAt[i] ?? 0));
    // Each gap is the failed attempt plus the next delay: 80, 160, 320, then 320 for good.
    expect(gaps[0]).toBeGreaterThanOrEqual(80);
    expect(gaps[1]).toBeGreaterThanOrEqual(160);
    expect(gaps[2]).toBeGreaterThanOrEqual(320);
    expect(gaps[5]).toBeGreaterThanOrEqual(320);
    expect(gaps[5]).toBeLessThan(320 + 1000);
  });

  it('stop() ends a server that ignores SIGTERM within the grace period, and rejects its calls', async () => {
    const grace = 300;
    const upstream = await fleet.started(fakeStdio({}, ['--ignore-sigterm']), {
      stopGraceMs: grace,
    });
    const pid = upstream.status.pid as number;
    const hang = rejection(upstream.callTool('hang', {}, { timeoutMs: 30_000 }));
    await sleep(50);
    const began = Date.now();
    await upstream.stop();
    const took = Date.now() - began;
    expect((await hang).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(took).toBeGreaterThanOrEqual(grace); // it did have to wait for SIGKILL
    expect(took).toBeLessThan(grace + 1000);
    expect(isAlive(pid)).toBe(false);
    expect(upstream.status.state).toBe('stopped');
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
