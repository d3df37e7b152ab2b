import type { Socket } from 'node:net';
import type { Direction, DirectionState } from './types.js';

export interface PipeHooks {
  state(direction: Direction): DirectionState;
  random(): number;
  count(direction: Direction, kind: 'bytes' | 'dropped', n: number): void;
}

interface Delayed {
  due: number;
  chunk: Buffer;
}

/**
 * One direction of a connection: reads `source`, writes `sink`.
 *
 * The source is read only while the direction is not paused and the sink is not pushing back,
 * so a paused direction fills the sender's buffers the way a stalled peer would. Delayed chunks
 * wait in one queue served by one timer: a chunk is never due before the one ahead of it, so
 * jitter cannot reorder a byte stream. The FIN follows the last delayed chunk, never overtakes it.
 *
 * A blackhole swallows teardown too, as a pulled cable does: a FIN or RST from the source is
 * held back while the direction is blackholed and delivered when it is no longer (the peer's
 * kernel would answer the first packet after the partition heals with an RST).
 */
export class Pipe {
  private readonly queue: Delayed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;
  private backpressured = false;
  private sourceEnded = false;
  private disposed = false;
  /** A reset that arrived while blackholed, held back until the blackhole ends. */
  private heldReset: (() => void) | undefined;

  constructor(
    private readonly direction: Direction,
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly hooks: PipeHooks,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => {
      this.sourceEnded = true;
      this.endIfDrained();
    });
    sink.on('drain', () => {
      this.backpressured = false;
      this.refresh();
    });
    this.refresh();
  }

  /** Re-reads the direction's state; called whenever the proxy's mode changes. */
  refresh(): void {
    if (this.disposed) return;
    const read = this.hooks.state(this.direction).flow !== 'paused' && !this.backpressured;
    if (read) this.source.resume();
    else this.source.pause();
    // Bytes queued under an old latency keep their due times; only the timer may need a start.
    this.schedule();
    if (!this.blackholed) {
      const held = this.heldReset;
      this.heldReset = undefined;
      held?.();
      this.endIfDrained();
    }
  }

  get blackholed(): boolean {
    return this.hooks.state(this.direction).flow === 'blackhole';
  }

  /** Passes a reset of the source on to the sink, unless the blackhole swallows it for now. */
  propagateReset(reset: () => void): void {
    if (this.blackholed) this.heldReset = reset;
    else reset();
  }

  /** Drops queued chunks and the timer; the sockets are torn down by the owner. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private onData(chunk: Buffer): void {
    const state = this.hooks.state(this.direction);
    if (state.flow === 'blackhole') {
      this.hooks.count(this.direction, 'dropped', chunk.length);
      return;
    }
    const delay = state.latencyMs + (this.hooks.random() * 2 - 1) * state.jitterMs;
    if (delay <= 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    this.lastDue = Math.max(performance.now() + Math.max(0, delay), this.lastDue);
    this.queue.push({ due: this.lastDue, chunk });
    this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.disposed || this.timer || !head) return;
    const wait = Math.max(0, head.due - performance.now());
    // Not unref()'d: bytes in flight keep the process alive, as the sockets carrying them do.
    this.timer = setTimeout(() => this.deliverDue(), wait);
  }

  private deliverDue(): void {
    this.timer = undefined;
    const now = performance.now();
    for (let head = this.queue[0]; head && head.due <= now; head = this.queue[0]) {
      this.queue.shift();
      this.write(head.chunk);
    }
    this.schedule();
    this.endIfDrained();
  }

  private write(chunk: Buffer): void {
    if (this.sink.destroyed || this.sink.writableEnded) {
      this.hooks.count(this.direction, 'dropped', chunk.length);
      return;
    }
    this.hooks.count(this.direction, 'bytes', chunk.length);
    if (!this.sink.write(chunk)) {
      this.backpressured = true;
      this.refresh();
    }
  }

  private endIfDrained(): void {
    if (!this.sourceEnded || this.queue.length > 0 || this.blackholed) return;
    if (!this.sink.destroyed && !this.sink.writableEnded) this.sink.end();
  }
}
