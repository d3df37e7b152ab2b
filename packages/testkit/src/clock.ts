interface Scheduled {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Structurally the `Clock` port of `@tether/link`, so a
 * test drives every timer of the code under test deterministically. Timers due at the same
 * moment run in the order they were set.
 */
export class ManualClock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, Scheduled>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers still set: a component that was closed should leave none. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer fires, if any. */
  get nextAt(): number | undefined {
    return this.next()?.at;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let timer = this.next(); timer && timer.at <= target; timer = this.next()) {
      this.timers.delete(timer.id);
      this.current = timer.at;
      timer.fn();
    }
    this.current = target;
  }

  /** Runs the next timer, whenever it is due; false when none is set. */
  runNext(): boolean {
    const timer = this.next();
    if (!timer) return false;
    this.advance(timer.at - this.current);
    return true;
  }

  private next(): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const timer of this.timers.values()) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.id < best.id)) best = timer;
    }
    return best;
  }
}

/** A deterministic random in [0, 1) (mulberry32), for jitter in tests and benchmarks. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
