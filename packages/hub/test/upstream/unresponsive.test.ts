import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, waitUntil } from '@tether/testkit';
import { Fleet, advance, fakeStdio, isAlive, rejection, textOf, timerDueIn } from './helpers.js';

const fleet = new Fleet();
afterEach(() => fleet.stopAll());

/*
 * The pings, their deadlines and the restart run on a manual clock; the server is a real child,
 * so what crosses its pipes (the answers, the kill, the new child's handshake) is awaited for
 * real. The clock stands still meanwhile, so no deadline passes while the I/O happens.
 */
describe('a hung stdio server', () => {
  it('is marked unresponsive within two ping intervals, fails its calls at once, and is restarted', async () => {
    const interval = 1000;
    const clock = new ManualClock();
    // Set as a user would, in the server's entry.
    const upstream = await fleet.started(
      { ...fakeStdio(), pingIntervalMs: interval },
      {
        // A pause before the restart long enough to see the unresponsive state answer a new call.
        restart: { initialMs: 1000, maxMs: 1000, stableMs: 60_000 },
        random: () => 1,
        clock,
      },
    );
    const pid = upstream.status.pid as number;
    const marked: number[] = [];
    upstream.on('state', (status) => {
      if (status.state === 'unresponsive') marked.push(clock.now());
    });
    let inFlightSettled = false;
    const inFlight = rejection(upstream.callTool('hang', {}, { timeoutMs: 60_000 })).finally(
      () => (inFlightSettled = true),
    );
    // Stopped just after the keeper scheduled its next ping: the worst case, two intervals.
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = clock.now();
    try {
      await advance(clock, 2 * interval - 1); // the ping is out, unanswered
      expect(marked).toEqual([]);
      await advance(clock, 1); // its deadline
      expect(marked).toEqual([stoppedAt + 2 * interval]);
      expect(upstream.status.lastError).toMatch(/no answer to a ping/);

      // The call in flight fails when the server is marked, not at its own 60 s timeout.
      await waitUntil(() => inFlightSettled, { what: 'the call in flight to fail' });
      const failed = await inFlight;
      expect(failed.code).toBe('UPSTREAM_UNRESPONSIVE');
      expect(failed.message).toMatch(/^server fake stopped answering .*restart/);

      // So does a new call, at once, saying when the restart is due: the clock has not moved.
      const fresh = await rejection(
        upstream.callTool('echo', { text: 'x' }, { timeoutMs: 30_000 }),
      );
      expect(fresh.code).toBe('UPSTREAM_UNRESPONSIVE');
      expect(fresh.message).toMatch(/expected back in about 1 s/);

      // The hung process group is killed (SIGKILL reaches a stopped process) and a new one serves.
      await waitUntil(() => !isAlive(pid), { timeoutMs: 3000, what: 'the hung child to die' });
      await timerDueIn(clock, 1000, 'the restart to be scheduled');
      await advance(clock, 999);
      expect(upstream.status.restarts).toBe(0);
      await advance(clock, 1);
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

  it('a server that answers its pings stays ready while a call runs for several intervals', async () => {
    const clock = new ManualClock();
    // A ping deadline (listTimeoutMs) shorter than the interval: while a ping is out the next
    // timer due is its deadline; once it is answered, the next ping.
    const upstream = await fleet.started(fakeStdio(), {
      pingIntervalMs: 1000,
      listTimeoutMs: 500,
      clock,
    });
    const states: string[] = [];
    upstream.on('state', (status) => states.push(status.state));
    const abort = new AbortController();
    const call = rejection(
      upstream.callTool('hang', {}, { timeoutMs: 60_000, signal: abort.signal }),
    );
    for (let ping = 1; ping <= 3; ping++) {
      await advance(clock, 1000);
      await timerDueIn(clock, 1000, `ping ${ping} to be answered`);
    }
    expect(states).toEqual([]);
    expect(upstream.status).toMatchObject({ state: 'ready', restarts: 0 });
    // The call is still running, 3 s into its 60 s.
    abort.abort();
    expect((await call).code).toBe('UPSTREAM_CANCELLED');
  });
});
