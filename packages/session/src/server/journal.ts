import type { Clock } from '@tether/link';
import type { SessionChange } from './store.js';

export type CommitResult = 'ok' | 'lost';

/**
 * Write-ahead for one session. Everything a turn of the event loop changes (the client seq just
 * received, the state the handler set, the frames it sent) goes to the store in one commit, and
 * only then are those frames put on the wire and the client's message acknowledged. So a crash
 * loses nothing the other side was told about: an unacknowledged message is sent again by the
 * client and handled against the state as it was before it, and no reply from a lost turn was
 * ever seen. One commit at a time, in order; a failed write is retried, merged with newer ones.
 */
export class Journal {
  private pending: SessionChange = {};
  private dirty = false;
  private busy = false;
  private scheduled = false;
  private open = false;
  private retryTimer: unknown;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly write: (change: SessionChange) => Promise<boolean>,
    private readonly committed: (change: SessionChange) => void,
    private readonly lost: () => void,
    private readonly failed: (error: unknown) => void,
    private readonly retryMs = 1_000,
  ) {}

  /** Records a change for the next commit. */
  note(change: SessionChange): void {
    merge(this.pending, change);
    this.dirty = true;
    this.schedule();
  }

  /** Forgets what was noted so far: a snapshot that includes it is being written instead. */
  discard(): void {
    this.pending = {};
    this.dirty = false;
  }

  /** Commits start once the session exists in the store. */
  start(): void {
    this.open = true;
    this.schedule();
  }

  /** Stops for good (the session expired or moved); nothing more is written. */
  stop(): void {
    this.open = false;
    this.pending = {};
    this.dirty = false;
    this.clock.clearTimeout(this.retryTimer);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Runs `fn` with no commit in flight and none starting until it is done (a claim, an end). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.idle();
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /** Resolves when everything noted so far is committed (or the journal stopped). */
  idle(): Promise<void> {
    if (!this.open || (!this.dirty && !this.busy)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (!this.open || this.busy || this.scheduled || this.retryTimer !== undefined) return;
    if (!this.dirty) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    this.scheduled = true;
    // One commit per turn: everything a handler does synchronously lands in the same write.
    queueMicrotask(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (!this.open || this.busy || !this.dirty) return this.schedule();
    const change = this.pending;
    this.pending = {};
    this.dirty = false;
    this.busy = true;
    let outcome: boolean;
    try {
      outcome = await this.write(change);
    } catch (error) {
      this.busy = false;
      this.failed(error);
      // Put it back in front of whatever came since, and try again shortly.
      this.pending = merge(change, this.pending);
      this.dirty = true;
      this.retryTimer = this.clock.setTimeout(() => {
        this.retryTimer = undefined;
        this.schedule();
      }, this.retryMs);
      return;
    }
    this.busy = false;
    if (!outcome) {
      this.stop();
      this.lost();
      return;
    }
    this.committed(change);
    this.schedule();
  }
}

/** Folds `next` into `base` (later values win; appends concatenate; trims take the furthest). */
function merge(base: SessionChange, next: SessionChange): SessionChange {
  if (next.state !== undefined) base.state = next.state;
  if (next.inSeq !== undefined) base.inSeq = Math.max(base.inSeq ?? 0, next.inSeq);
  if (next.outSeq !== undefined) base.outSeq = Math.max(base.outSeq ?? 0, next.outSeq);
  if (next.append?.length) base.append = [...(base.append ?? []), ...next.append];
  if (next.trimThrough !== undefined)
    base.trimThrough = Math.max(base.trimThrough ?? 0, next.trimThrough);
  if (next.detachedAt !== undefined) base.detachedAt = next.detachedAt;
  return base;
}
