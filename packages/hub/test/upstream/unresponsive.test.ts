import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testkit';
import { Fleet, fakeStdio, isAlive, rejection, sleep, textOf } from './helpers.js';

const fleet = new Fleet();
afterEach(() => fleet.stopAll());

describe('a hung stdio server', () => {
  it('is marked unresponsive within two ping intervals, fails its calls at once, and is restarted', async () => {
    const interval = 1000;
    // Set as a user would, in the server's entry.
    const upstream = await fleet.started(
      { ...fakeStdio(), pingIntervalMs: interval },
      {
        // A pause before the restart long enough to see the unresponsive state answer a new call.
        restart: { initialMs: 1000, maxMs: 1000, stableMs: 60_000 },
        random: () => 1,
      },
    );
    const pid = upstream.status.pid as number;
    const marked: number[] = [];
    upstream.on('state', (status) => {
      if (status.state === 'unresponsive') marked.push(Date.now());
    });
    const inFlight = rejection(upstream.callTool('hang', {}, { timeoutMs: 60_000 }));
    await sleep(50); // the call has reached the server
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await waitUntil(() => marked.length > 0, {
        timeoutMs: 2 * interval + 2000,
        what: 'the hung server to be marked unresponsive',
      });
      // Timers may fire a little late under load; the bound itself is two intervals.
      expect(marked[0]! - stoppedAt).toBeLessThanOrEqual(2 * interval + 250);
      expect(upstream.status.lastError).toMatch(/no answer to a ping/);

      // The call in flight fails when the server is marked, not at its own 60 s timeout.
      const failed = await inFlight;
      expect(Date.now() - stoppedAt).toBeLessThan(2 * interval + 500);
      expect(failed.code).toBe('UPSTREAM_UNRESPONSIVE');
      expect(failed.message).toMatch(/^server fake stopped answering .*restart/);

      // So does a new call, at once.
      const began = Date.now();
      const fresh = await rejection(
        upstream.callTool('echo', { text: 'x' }, { timeoutMs: 30_000 }),
      );
      expect(Date.now() - began).toBeLessThan(100);
      expect(fresh.code).toBe('UPSTREAM_UNRESPONSIVE');
      expect(fresh.message).toMatch(/expected back in about 1 s/);

      // The hung process group is killed (SIGKILL reaches a stopped process) and a new one serves.
      await waitUntil(() => !isAlive(pid), { timeoutMs: 3000, what: 'the hung child to die' });
      await waitUntil(() => upstream.status.state === 'ready', {
        timeoutMs: 10_000,
        what: 'the restart',
      });
      expect(upstream.status.pid).not.toBe(pid);
      expect(upstream.status.restarts).toBe(1);
      expect(textOf(await upstream.callTool('echo', { text: 'back' }, { timeoutMs: 5000 }))).toBe(
        'back',
      );
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Already gone: the restart killed it.
      }
    }
  });

  it('a server that answers its pings stays ready, with calls slower than the interval', async () => {
    const upstream = await fleet.started(fakeStdio(), { pingIntervalMs: 1000 });
    const states: string[] = [];
    upstream.on('state', (status) => states.push(status.state));
    const slow = await upstream.callTool('slow', { ms: 2500, text: 'done' }, { timeoutMs: 10_000 });
    expect(textOf(slow)).toBe('done');
    expect(states).toEqual([]);
    expect(upstream.status).toMatchObject({ state: 'ready', restarts: 0 });
  });
});
