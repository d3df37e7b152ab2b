import { describe, expect, it } from 'vitest';
import { BATCH_MAX_WAIT_MS, BATCH_MIN_GAP_MS, Batcher } from '../src/batch.js';

/** A fake clock, frame queue and timer queue: the test says when a frame is drawn or time passes. */
function harness(options: { frames?: boolean } = {}) {
  let now = 1000;
  let next = 1;
  const frames = new Map<number, () => void>();
  const timers = new Map<number, { fn: () => void; at: number }>();
  const flushed: number[][] = [];
  const batcher = new Batcher<number>({
    flush: (items) => flushed.push(items),
    requestFrame:
      options.frames === false
        ? undefined
        : (fn) => {
            frames.set(next, fn);
            return next++;
          },
    cancelFrame: (handle) => frames.delete(handle as number),
    setTimer: (fn, ms) => {
      timers.set(next, { fn, at: now + ms });
      return next++;
    },
    clearTimer: (timer) => timers.delete(timer as number),
    now: () => now,
  });
  const drawFrame = () => {
    now += 16;
    const due = [...frames.values()];
    frames.clear();
    for (const fn of due) fn();
  };
  /** Moves the clock on, running the timers that fall due, in order. */
  const elapse = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at);
      const first = due[0];
      if (!first) break;
      timers.delete(first[0]);
      now = first[1].at;
      first[1].fn();
    }
    now = until;
  };
  return { batcher, flushed, frames, timers, drawFrame, elapse };
}

describe('Batcher', () => {
  it('hands over everything pushed before the next frame in one go, in order', () => {
    const h = harness();
    for (let i = 0; i < 500; i++) h.batcher.push(i);
    expect(h.flushed).toEqual([]);
    expect(h.frames.size).toBe(1);
    h.drawFrame();
    expect(h.flushed).toEqual([Array.from({ length: 500 }, (_, i) => i)]);
    // The fallback timer went with the flush; nothing is left scheduled.
    expect(h.frames.size + h.timers.size).toBe(0);
  });

  it('under a flood, hands over at most once per BATCH_MIN_GAP_MS, on a frame', () => {
    const h = harness();
    let pushed = 0;
    // 5,000 items a second for two seconds, a frame every 16 ms.
    for (let frame = 0; frame < 125; frame++) {
      for (let k = 0; k < 80; k++) h.batcher.push(pushed++);
      h.elapse(0);
      h.drawFrame();
    }
    h.elapse(BATCH_MIN_GAP_MS);
    h.drawFrame();
    expect(h.flushed.flat()).toEqual(Array.from({ length: pushed }, (_, i) => i));
    expect(h.flushed.length).toBeLessThanOrEqual(Math.ceil(2000 / BATCH_MIN_GAP_MS) + 1);
    expect(h.flushed.length).toBeGreaterThanOrEqual(Math.floor(2000 / (BATCH_MIN_GAP_MS + 16)));
  });

  it('shows a lone item after a quiet spell on the next frame', () => {
    const h = harness();
    h.batcher.push(1);
    h.drawFrame();
    h.elapse(5000);
    h.batcher.push(2);
    expect(h.frames.size).toBe(1);
    h.drawFrame();
    expect(h.flushed).toEqual([[1], [2]]);
  });

  it('hands over after the wait bound when no frame is drawn (a hidden tab)', () => {
    const h = harness();
    h.batcher.push(1);
    h.batcher.push(2);
    h.elapse(BATCH_MAX_WAIT_MS);
    expect(h.flushed).toEqual([[1, 2]]);
    expect(h.frames.size).toBe(0);
    h.batcher.push(3);
    h.elapse(BATCH_MIN_GAP_MS + BATCH_MAX_WAIT_MS);
    expect(h.flushed).toEqual([[1, 2], [3]]);
  });

  it('works without requestAnimationFrame, on timers alone', () => {
    const h = harness({ frames: false });
    h.batcher.push(1);
    expect(h.frames.size).toBe(0);
    h.elapse(BATCH_MAX_WAIT_MS);
    expect(h.flushed).toEqual([[1]]);
  });

  it('flushes at once on demand, so an action that follows sees the items before it', () => {
    const h = harness();
    h.batcher.push(1);
    h.batcher.flush();
    expect(h.flushed).toEqual([[1]]);
    expect(h.frames.size + h.timers.size).toBe(0);
    h.batcher.flush();
    expect(h.flushed).toEqual([[1]]);
  });

  it('drops what waits and ignores later pushes once closed', () => {
    const h = harness();
    h.batcher.push(1);
    h.batcher.close();
    h.batcher.push(2);
    h.drawFrame();
    h.elapse(1000);
    expect(h.flushed).toEqual([]);
    expect(h.batcher.size).toBe(0);
  });
});
