import { utf8Length } from '../protocol.js';
import type { ReplayEntry } from './store.js';

export interface ReplayLimits {
  /** Unacknowledged messages kept per session. Default 1,000. */
  maxMessages?: number;
  /** Unacknowledged bytes kept per session. Default 1 MiB. */
  maxBytes?: number;
}

interface Kept extends ReplayEntry {
  bytes: number;
}

/**
 * The server's unacknowledged data frames for one session, kept for replay after a resume.
 * Bounded in messages and bytes: past a bound the oldest are dropped (counted in `lost`), and
 * the next welcome's `replayFrom` tells the client how many it will never get. The newest
 * frame is always kept, so a message larger than the bound is still delivered live.
 */
export class ReplayBuffer {
  private entries: Kept[] = [];
  private head = 0;
  private total = 0;
  /** Highest seq removed, acknowledged or dropped. */
  removedThrough = 0;
  /** Frames dropped unacknowledged because of the bounds. */
  lost = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;

  constructor(limits: ReplayLimits = {}, initial: ReplayEntry[] = []) {
    this.maxMessages = limits.maxMessages ?? 1_000;
    this.maxBytes = limits.maxBytes ?? 1024 * 1024;
    for (const entry of initial) this.keep(entry);
    if (initial[0]) this.removedThrough = initial[0].seq - 1;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.total;
  }

  /** Keeps a frame; returns the highest seq the bounds pushed out (0: none). */
  push(entry: ReplayEntry): number {
    this.keep(entry);
    let dropped = 0;
    while (this.size > 1 && (this.size > this.maxMessages || this.total > this.maxBytes)) {
      dropped = this.shift()!.seq;
      this.lost++;
    }
    return dropped;
  }

  /** Removes everything up to `seq` (the client has it). */
  ackThrough(seq: number): void {
    while (this.size > 0 && this.entries[this.head]!.seq <= seq) this.shift();
    this.removedThrough = Math.max(this.removedThrough, seq);
  }

  /** Frames after `seq` and up to `through`, in order. */
  after(seq: number, through = Infinity): ReplayEntry[] {
    const out: ReplayEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.seq > through) break;
      if (e.seq > seq) out.push({ seq: e.seq, frame: e.frame });
    }
    return out;
  }

  /** The seq the next frame sent after `seq` will carry, given what is still kept. */
  firstAfter(seq: number, nextNew: number): number {
    for (let i = this.head; i < this.entries.length; i++) {
      if (this.entries[i]!.seq > seq) return this.entries[i]!.seq;
    }
    return nextNew;
  }

  all(): ReplayEntry[] {
    return this.after(0);
  }

  private keep(entry: ReplayEntry): void {
    const bytes = utf8Length(entry.frame);
    this.entries.push({ ...entry, bytes });
    this.total += bytes;
  }

  private shift(): Kept | undefined {
    const e = this.entries[this.head];
    if (!e) return undefined;
    this.entries[this.head++] = undefined as unknown as Kept;
    this.total -= e.bytes;
    this.removedThrough = e.seq;
    // Compact now and then instead of shifting the array at every ack.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return e;
  }
}
