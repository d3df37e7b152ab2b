import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Refresher } from '../src/refresh.js';

const SPACING = 10_000;
const EVERY = 60_000;

/** A refresher over a fake server that answers each request `answerMs` later, numbered. */
function harness(options: { answerMs?: number; hidden?: () => boolean } = {}) {
  const answerMs = options.answerMs ?? 100;
  let asked = 0;
  const shown: Array<number | string> = [];
  const loop = new Refresher<number>({
    load: () => {
      const n = ++asked;
      return new Promise((resolve) => setTimeout(() => resolve(n), answerMs));
    },
    onAnswer: (answer) => shown.push('data' in answer ? answer.data : `error`),
    spacingMs: SPACING,
    everyMs: EVERY,
    hidden: options.hidden ?? (() => false),
  });
  return { loop, shown, asked: () => asked };
}

describe('refreshing the pictures', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows the figures although calls keep arriving faster than the hub answers', async () => {
    const { loop, shown, asked } = harness({ answerMs: 100 });
    loop.start();
    // A call event every 40 ms: the first answer (100 ms) comes after two more events.
    const calls = setInterval(() => loop.poke(), 40);
    await vi.advanceTimersByTimeAsync(150);
    expect(shown).toEqual([1]);
    // Still flowing: one request per spacing, each answer shown.
    await vi.advanceTimersByTimeAsync(3 * SPACING);
    expect(asked()).toBe(4);
    expect(shown).toEqual([1, 2, 3, 4]);
    clearInterval(calls);
    loop.stop();
  });

  it('refreshes every minute without any event, and stops when the view goes', async () => {
    const { loop, asked } = harness();
    loop.start();
    await vi.advanceTimersByTimeAsync(EVERY - 1_000);
    expect(asked()).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(asked()).toBe(2);
    await vi.advanceTimersByTimeAsync(EVERY);
    expect(asked()).toBe(3);
    loop.stop();
    await vi.advanceTimersByTimeAsync(5 * EVERY);
    expect(asked()).toBe(3);
  });

  it('keeps one request at a time: events during a slow answer wait for it', async () => {
    const { loop, shown, asked } = harness({ answerMs: 15_000 });
    loop.start();
    await vi.advanceTimersByTimeAsync(SPACING + 1_000);
    loop.poke();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(asked()).toBe(1);
    // The answer at 15 s; the poke's request then goes at once (the spacing has passed).
    await vi.advanceTimersByTimeAsync(3_500);
    expect(shown).toEqual([1]);
    expect(asked()).toBe(2);
  });

  it('shows only the newest answer when what is shown changes mid-request', async () => {
    let answerMs = 5_000;
    let asked = 0;
    const shown: number[] = [];
    const loop = new Refresher<number>({
      load: () => {
        const n = ++asked;
        const ms = answerMs;
        return new Promise((resolve) => setTimeout(() => resolve(n), ms));
      },
      onAnswer: (answer) => 'data' in answer && shown.push(answer.data),
      spacingMs: SPACING,
      everyMs: EVERY,
      hidden: () => false,
    });
    loop.start(); // endpoint A, a slow answer
    await vi.advanceTimersByTimeAsync(1_000);
    answerMs = 100;
    loop.restart(); // endpoint B, at once
    expect(asked).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    // A's answer came last but was asked first: never shown.
    expect(shown).toEqual([2]);
    loop.stop();
  });

  it('fetches nothing while the page is hidden, and refreshes when it is seen again', async () => {
    let hidden = false;
    const { loop, shown, asked } = harness({ hidden: () => hidden });
    loop.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(asked()).toBe(1);
    hidden = true;
    loop.visibility();
    loop.poke();
    await vi.advanceTimersByTimeAsync(10 * EVERY);
    expect(asked()).toBe(1);
    hidden = false;
    loop.visibility();
    await vi.advanceTimersByTimeAsync(200);
    expect(asked()).toBe(2);
    expect(shown).toEqual([1, 2]);
    loop.stop();
  });

  it('keeps refreshing after a failed request, and shows the failure', async () => {
    let fail = true;
    const shown: string[] = [];
    const loop = new Refresher<string>({
      load: () => (fail ? Promise.reject(new Error('502')) : Promise.resolve('ok')),
      onAnswer: (answer) => shown.push('data' in answer ? answer.data : 'error'),
      spacingMs: SPACING,
      everyMs: EVERY,
      hidden: () => false,
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(10);
    fail = false;
    await vi.advanceTimersByTimeAsync(EVERY);
    expect(shown).toEqual(['error', 'ok']);
    loop.stop();
  });
});
