import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { ManualClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import type { Connection } from '../../src/upstream/connection.js';
import { SessionKeeper } from '../../src/upstream/session-keeper.js';
import { advance } from './helpers.js';

let clock = new ManualClock();

/** A connection whose pings answer as the test says, and a host that records what it is told. */
function keeperWith(answer: () => Promise<void>, pingIntervalMs = 1000) {
  clock = new ManualClock();
  const sent: number[] = [];
  const conn = {
    ping: () => {
      sent.push(clock.now());
      return answer();
    },
  } as unknown as Connection;
  const told: string[] = [];
  const keeper = new SessionKeeper(
    {
      isCurrent: (c) => c === conn,
      connect: () => {
        throw new Error('a stdio session is never renewed');
      },
      replace: () => {},
      lost: (_c, reason) => told.push(`lost: ${reason}`),
      unresponsive: (_c, reason) => told.push(`unresponsive: ${reason}`),
    },
    { pingIntervalMs, listTimeoutMs: 10_000, renewSessions: false, logger: silentLogger(), clock },
  );
  return { keeper, conn, sent, told };
}

const never = (): Promise<void> => new Promise(() => {});
/** An answer `ms` later on the test's clock (which is what Connection times a ping on). */
const after = (ms: number, outcome: () => void): Promise<void> =>
  new Promise((resolve, reject) =>
    clock.setTimeout(() => {
      try {
        outcome();
        resolve();
      } catch (error) {
        reject(error as Error);
      }
    }, ms),
  );

describe('pings', () => {
  it('go out every interval counted from when each was sent, however long the answer took', async () => {
    const { keeper, conn, sent, told } = keeperWith(() => after(300, () => {}));
    keeper.watch(conn);
    await advance(clock, 3500);
    expect(sent).toEqual([1000, 2000, 3000]);
    expect(told).toEqual([]);
    keeper.unwatch();
    expect(clock.pending).toBe(0);
  });

  it('a silent server is reported unresponsive one interval after the ping, two at most after it fell silent', async () => {
    let silent = false;
    const { keeper, conn, told } = keeperWith(() =>
      silent
        ? after(1000, () => {
            // What the SDK rejects an unanswered request with at its timeout.
            throw new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out');
          })
        : Promise.resolve(),
    );
    keeper.watch(conn);
    await advance(clock, 1001); // the first ping is answered at once
    silent = true; // the server stops right after answering
    await advance(clock, 1998);
    expect(told).toEqual([]);
    await advance(clock, 1);
    expect(told).toEqual(['unresponsive: no answer to a ping within 1000 ms']);
    // Nothing more is scheduled: the supervisor decides what happens to the server now.
    expect(clock.pending).toBe(0);
  });

  it('a JSON-RPC error in answer (a server that never learnt ping) counts as alive', async () => {
    const { keeper, conn, sent, told } = keeperWith(() =>
      Promise.reject(new ProtocolError(-32601, 'Method not found')),
    );
    keeper.watch(conn);
    await advance(clock, 3000);
    expect(sent).toHaveLength(3);
    expect(told).toEqual([]);
    keeper.unwatch();
  });

  it('a ping that fails outright (not a silence) means the server is lost', async () => {
    const { keeper, conn, told } = keeperWith(() => Promise.reject(new Error('fetch failed')));
    keeper.watch(conn);
    await advance(clock, 1000);
    expect(told).toEqual(['lost: ping failed: fetch failed']);
  });

  it('an interval of 0 sends none', async () => {
    const { keeper, conn, sent } = keeperWith(never, 0);
    keeper.watch(conn);
    await advance(clock, 60_000);
    expect(sent).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
