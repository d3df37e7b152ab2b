import { SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { ManualClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../src/upstream/deadline.js';

describe('a request deadline', () => {
  it('aborts at ms on its clock with the timeout the SDK would have given', () => {
    const clock = new ManualClock();
    const deadline = new Deadline(clock, 500);
    clock.advance(499);
    expect(deadline.signal.aborted).toBe(false);
    clock.advance(1);
    const reason = deadline.signal.reason as SdkError;
    expect(reason).toBeInstanceOf(SdkError);
    expect([reason.code, reason.message]).toEqual([
      SdkErrorCode.RequestTimeout,
      'Request timed out',
    ]);
    deadline.clear();
  });

  it('starts over on restart()', () => {
    const clock = new ManualClock();
    const deadline = new Deadline(clock, 500, { message: 'tools/list took over 500 ms' });
    clock.advance(400);
    deadline.restart();
    clock.advance(499);
    expect(deadline.signal.aborted).toBe(false);
    clock.advance(1);
    expect((deadline.signal.reason as Error).message).toBe('tools/list took over 500 ms');
    expect(clock.pending).toBe(0);
  });

  it('follows its parents, the first to abort giving the reason, and lets go of them on clear()', () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const lifetime = new AbortController();
    const deadline = new Deadline(clock, 500, { follows: [caller.signal, lifetime.signal] });
    lifetime.abort(new Error('closed'));
    caller.abort(new Error('cancelled'));
    expect((deadline.signal.reason as Error).message).toBe('closed');
    deadline.clear();
    expect(clock.pending).toBe(0);

    // Already aborted: the first in order wins, and no timer is set at all.
    const early = new Deadline(clock, 500, { follows: [caller.signal, lifetime.signal] });
    expect((early.signal.reason as Error).message).toBe('cancelled');
    expect(clock.pending).toBe(0);

    // Cleared: a parent aborting later no longer reaches it.
    const parent = new AbortController();
    const done = new Deadline(clock, 500, { follows: [parent.signal] });
    done.clear();
    parent.abort(new Error('late'));
    expect(done.signal.aborted).toBe(false);
    expect(clock.pending).toBe(0);
  });
});
