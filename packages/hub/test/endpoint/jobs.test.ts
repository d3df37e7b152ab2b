import { ManualClock } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { JobStore, REDELIVER_MS } from '../../src/endpoint/jobs.js';
import type { JobStoreOptions } from '../../src/endpoint/jobs.js';
import type { ToolResult } from '../../src/upstream/types.js';

// The limits on what waits are in test/security/endpoint-jobs.test.ts; these are its times.

const stores: JobStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.clear();
});

function store(options: JobStoreOptions = {}) {
  const clock = new ManualClock();
  const s = new JobStore({ clock, ...options });
  stores.push(s);
  return { s, clock };
}

const text = (value: string): ToolResult => ({ content: [{ type: 'text', text: value }] });

/** Lets the store see a call settle (its `then` runs in a microtask). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A job whose call finishes when the test says. */
function pending(s: JobStore): { id: string; finish: (result: ToolResult) => void } {
  let finish!: (result: ToolResult) => void;
  const call = new Promise<ToolResult>((resolve) => (finish = resolve));
  return { id: s.add('fake__slow', call, new AbortController()), finish };
}

describe('jobs on the store clock', () => {
  it('keep a finished result for ttlMs, then forget it', async () => {
    const { s, clock } = store({ ttlMs: 60_000 });
    const id = s.add('fake__echo', Promise.resolve(text('r')), new AbortController());
    await settled();
    expect(clock.pending).toBe(1);
    clock.advance(59_999);
    expect(s.size).toBe(1);
    clock.advance(1);
    expect(s.size).toBe(0);
    expect(await s.take(id, 0)).toBe('unknown');
    expect(clock.pending).toBe(0);
  });

  it('serves a taken result again for a minute (its answer may have gone into a dead socket), then forgets it', async () => {
    const { s, clock } = store({ ttlMs: 600_000 });
    const id = s.add('fake__echo', Promise.resolve(text('r')), new AbortController());
    await settled();
    expect(await s.take(id, 0)).toEqual(text('r'));
    clock.advance(59_999);
    // Asked again on the next socket: the same result, and the window does not start over.
    expect(await s.take(id, 0)).toEqual(text('r'));
    clock.advance(1);
    expect(await s.take(id, 0)).toBe('unknown');
    expect(clock.pending).toBe(0);
  });

  it('take() waits up to waitMs for a running job, then says it is still running', async () => {
    const { s, clock } = store();
    const { id } = pending(s);
    let answer: ToolResult | 'running' | 'unknown' | undefined;
    void s.take(id, 5_000).then((a) => (answer = a));
    await settled();
    clock.advance(4_999);
    await settled();
    expect(answer).toBeUndefined();
    clock.advance(1);
    await settled();
    expect(answer).toBe('running');
    expect(clock.pending).toBe(0);
  });

  it('take() answers as soon as the job finishes within the wait', async () => {
    const { s, clock } = store({ ttlMs: 1_000 });
    const { id, finish } = pending(s);
    const answer = s.take(id, 5_000);
    await settled();
    clock.advance(2_000);
    finish(text('late'));
    expect(await answer).toEqual(text('late'));
    // Its wait is gone; only the window for asking again is left, and then nothing.
    expect(clock.pending).toBe(1);
    clock.advance(REDELIVER_MS);
    expect(clock.pending).toBe(0);
  });

  it('keeps maxFinished results and cuts them to resultBytes, as configured', async () => {
    const { s } = store({ maxFinished: 2, resultBytes: 1024 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        s.add('fake__big', Promise.resolve(text('x'.repeat(10_000))), new AbortController()),
      );
      await settled();
    }
    expect(s.size).toBe(2);
    expect(await s.take(ids[0]!, 0)).toBe('unknown');
    const kept = (await s.take(ids[2]!, 0)) as ToolResult;
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(1024);
  });
});
