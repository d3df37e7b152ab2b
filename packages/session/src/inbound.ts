import type { Clock } from '@tether/link';

export interface AckPolicy {
  /** An ack waits at most this long, so a burst of messages costs one ack. Default 20 ms. */
  ackDelayMs?: number;
  /** …or goes out at once after this many unacked messages. Default 32. */
  ackEvery?: number;
}

/**
 * The receiving half of one direction, used by the client and the server alike: duplicates are
 * dropped by sequence number, and acks are cumulative and coalesced (one ack covers every
 * message up to its seq; a burst waits `ackDelayMs` or `ackEvery` messages for one ack).
 */
export class Inbound {
  /** Highest seq received in order. */
  lastSeq = 0;
  private acked = 0;
  private latest = 0;
  private unacked = 0;
  private repeat = false;
  private timer: unknown;
  private readonly delayMs: number;
  private readonly every: number;

  constructor(
    private readonly clock: Clock,
    private readonly sendAck: (seq: number) => void,
    policy: AckPolicy = {},
  ) {
    this.delayMs = policy.ackDelayMs ?? 20;
    this.every = policy.ackEvery ?? 32;
  }

  /**
   * Classifies an incoming seq. `new` advances lastSeq; a `duplicate` (a replay of something
   * already received) asks for an ack again, since the sender evidently missed ours; a `gap`
   * means the transport lost a frame, which an ordered socket never does: the caller drops it.
   */
  receive(seq: number): 'new' | 'duplicate' | 'gap' {
    if (seq <= this.lastSeq) {
      this.repeat = true;
      this.schedule();
      return 'duplicate';
    }
    if (seq > this.lastSeq + 1) return 'gap';
    this.lastSeq = seq;
    return 'new';
  }

  /** Everything up to `seq` may be acknowledged (the server calls this once it is stored). */
  ack(seq: number): void {
    if (seq <= this.latest) return;
    this.latest = seq;
    this.unacked++;
    if (this.unacked >= this.every) this.flush();
    else this.schedule();
  }

  /** Sends the pending ack now (before a pausing hint, for instance). */
  flush(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.latest > this.acked || (this.repeat && this.latest > 0)) this.sendAck(this.latest);
    this.acked = this.latest;
    this.unacked = 0;
    this.repeat = false;
  }

  /**
   * A new socket: the peer learnt our position from the hello or welcome, so nothing is owed;
   * `lastSeq` is where receiving resumes.
   */
  reset(lastSeq: number, acked = lastSeq): void {
    this.stop();
    this.lastSeq = lastSeq;
    this.latest = acked;
    this.acked = acked;
  }

  /** The socket is gone: no ack timer may outlive it. */
  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.unacked = 0;
    this.repeat = false;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    if (this.delayMs <= 0) return this.flush();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.delayMs);
  }
}
