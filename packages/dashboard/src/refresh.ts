/**
 * The request loop behind the pictures (figures.tsx `useThrottled`): it keeps a view's data
 * fresh without a request per event. Kept apart from the component so the timing can be
 * tested with a fake clock (test/refresh.test.ts), as batch.ts is.
 *
 * - It lives as long as the view: `stop()` (unmount) is the only thing that silences answers.
 *   Inputs that change with every call only `poke()` it: a request already on its way is kept,
 *   and its answer shown.
 * - One timer: a poke asks for a request at most every `spacingMs`; without pokes, one every
 *   `everyMs`. At most one request is on its way, unless the last has hung past `everyMs`.
 * - `restart()` is for a change of what is shown (another endpoint): a request goes at once,
 *   and only the newest request's answer is ever shown (a sequence number), so a slow answer
 *   for the endpoint shown before cannot land over the new one.
 * - While the page is hidden nothing is fetched; becoming visible fetches (within the spacing).
 */

export interface RefresherOptions<T> {
  load: () => Promise<T>;
  /** An answer or a failure of the newest request. */
  onAnswer: (answer: { data: T } | { error: unknown }) => void;
  spacingMs: number;
  everyMs: number;
  hidden?: () => boolean;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export class Refresher<T> {
  private readonly o: Required<RefresherOptions<T>>;
  private timer: unknown = undefined;
  private alive = false;
  /** A poke (or a visit while hidden) asked for fresh data not fetched yet. */
  private dirty = false;
  /** When the newest request went; -Infinity before the first. */
  private last = -Infinity;
  private seq = 0;
  private inFlight = false;

  constructor(options: RefresherOptions<T>) {
    this.o = {
      hidden: () => typeof document !== 'undefined' && document.hidden,
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  /** Mounted: the first request goes now (or when the page is next visible). */
  start(): void {
    this.alive = true;
    this.dirty = true;
    this.fire();
  }

  /** Something the data follows has moved: fetch again, no sooner than the spacing allows. */
  poke(): void {
    if (!this.alive) return;
    this.dirty = true;
    if (!this.inFlight) this.schedule();
  }

  /** What is shown changed: fetch now, and never show an answer asked before this. */
  restart(): void {
    if (!this.alive) return;
    this.dirty = true;
    this.inFlight = false;
    this.seq++;
    this.fire();
  }

  /** The page's visibility changed (document `visibilitychange`). */
  visibility(): void {
    if (!this.alive || this.o.hidden()) return;
    this.dirty = true;
    if (!this.inFlight) this.schedule();
  }

  stop(): void {
    this.alive = false;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== undefined) this.o.clearTimer(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.cancel();
    const due = this.last + (this.dirty ? this.o.spacingMs : this.o.everyMs);
    this.timer = this.o.setTimer(() => this.fire(), Math.max(0, due - this.o.now()));
  }

  private fire(): void {
    this.cancel();
    if (!this.alive) return;
    if (this.o.hidden()) {
      // Nothing while hidden; visibility() fetches when the page is seen again.
      this.dirty = true;
      return;
    }
    const now = this.o.now();
    if (this.inFlight && now - this.last < this.o.everyMs) {
      // Its answer reschedules; this timer only covers an answer that never comes.
      this.timer = this.o.setTimer(() => this.fire(), this.last + this.o.everyMs - now);
      return;
    }
    this.dirty = false;
    this.last = now;
    this.inFlight = true;
    const mine = ++this.seq;
    const settle = (answer: { data: T } | { error: unknown }) => {
      if (!this.alive || mine !== this.seq) return;
      this.inFlight = false;
      this.o.onAnswer(answer);
      this.schedule();
    };
    let request: Promise<T>;
    try {
      request = this.o.load();
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(
      (data) => settle({ data }),
      (error: unknown) => settle({ error }),
    );
    // Meanwhile the periodic one stays armed, in case this request never answers.
    this.schedule();
  }
}
