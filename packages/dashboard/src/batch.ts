/**
 * Holds what arrives between two renders and hands it over in one go, on an animation frame:
 * the next one when things are calm, and no sooner than `minGapMs` after the last hand-over
 * when they are not. A lone event shows on the next frame; a flood of thousands a second (a
 * mass reconnect) costs one fold and one render every 100 ms, not one per event or per frame.
 * When no frame comes (a hidden tab draws none) a timer hands over after `maxWaitMs`.
 */
export interface BatcherOptions<T> {
  flush: (items: T[]) => void;
  /** Least time between two hand-overs; default 100 ms. */
  minGapMs?: number;
  /** How long a scheduled hand-over waits for a frame before it goes without; default 100 ms. */
  maxWaitMs?: number;
  /** Defaults: requestAnimationFrame when there is one, and setTimeout; tests pass fakes. */
  requestFrame?: ((fn: () => void) => unknown) | undefined;
  cancelFrame?: ((handle: unknown) => void) | undefined;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  now?: () => number;
}

export const BATCH_MIN_GAP_MS = 100;
export const BATCH_MAX_WAIT_MS = 100;

export class Batcher<T> {
  private pending: T[] = [];
  private frame: unknown;
  private timer: unknown;
  private scheduled = false;
  private closed = false;
  private last = -Infinity;
  private readonly requestFrame: ((fn: () => void) => unknown) | undefined;
  private readonly cancelFrame: ((handle: unknown) => void) | undefined;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private readonly now: () => number;

  constructor(private readonly options: BatcherOptions<T>) {
    const raf = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : undefined;
    this.requestFrame =
      'requestFrame' in options ? options.requestFrame : raf && ((fn) => raf(() => fn()));
    this.cancelFrame =
      'cancelFrame' in options
        ? options.cancelFrame
        : raf && ((handle) => cancelAnimationFrame(handle as number));
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer =
      options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
    this.now = options.now ?? (() => performance.now());
  }

  /** How many items wait for the next flush. */
  get size(): number {
    return this.pending.length;
  }

  push(item: T): void {
    if (this.closed) return;
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.last + (this.options.minGapMs ?? BATCH_MIN_GAP_MS) - this.now();
    if (wait <= 0) this.awaitFrame();
    else
      this.timer = this.setTimer(() => {
        this.timer = undefined;
        this.awaitFrame();
      }, wait);
  }

  /** Hands over what waits now (before anything that must come after it), if anything does. */
  flush(): void {
    this.unschedule();
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.last = this.now();
    this.options.flush(items);
  }

  /** Drops what waits; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.unschedule();
    this.pending = [];
  }

  private awaitFrame(): void {
    const run = () => this.flush();
    if (this.requestFrame) this.frame = this.requestFrame(run);
    this.timer = this.setTimer(run, this.options.maxWaitMs ?? BATCH_MAX_WAIT_MS);
  }

  private unschedule(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    if (this.frame !== undefined) this.cancelFrame?.(this.frame);
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.frame = undefined;
    this.timer = undefined;
  }
}
