import { utf8Length } from './protocol.js';

/**
 * What `send()` does when the outbox is full:
 * - `reject`: refuse the new message (`send()` returns false), keep everything already queued;
 * - `drop-oldest`: evict the oldest messages that were never sent to make room (reported in the
 *   `dropped` event). Messages already on the wire are never evicted: the server may hold them,
 *   and a hole in the sequence would break the resume.
 */
export type OverflowPolicy = 'reject' | 'drop-oldest';

export interface OutboxLimits {
  /** Messages queued or unacknowledged. Default 1,000. */
  maxMessages?: number;
  /** Bytes (UTF-8 of the JSON body) queued or unacknowledged. Default 1 MiB. */
  maxBytes?: number;
  overflow?: OverflowPolicy;
}

interface Entry {
  /** 0 until the message is first sent: it has no place in the sequence before that. */
  seq: number;
  json: string;
  bytes: number;
}

/**
 * The client's outgoing messages until the server acknowledges them: first those already sent
 * (numbered, replayed after a resume), then those queued while there was no welcome (numbered
 * when they are first sent, so a message dropped from the queue leaves no hole).
 */
export class Outbox {
  private entries: Entry[] = [];
  private nextSeq = 1;
  private total = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly overflow: OverflowPolicy;

  constructor(limits: OutboxLimits = {}) {
    this.maxMessages = limits.maxMessages ?? 1_000;
    this.maxBytes = limits.maxBytes ?? 1024 * 1024;
    this.overflow = limits.overflow ?? 'reject';
  }

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.total;
  }

  /** Queues a message; `dropped` holds the bodies evicted to make room for it. */
  push(body: unknown): { accepted: boolean; dropped: unknown[] } {
    const json = JSON.stringify(body ?? null);
    const bytes = utf8Length(json);
    const dropped: unknown[] = [];
    if (bytes > this.maxBytes) return { accepted: false, dropped };
    const fits = () =>
      this.entries.length + 1 <= this.maxMessages && this.total + bytes <= this.maxBytes;
    if (!fits()) {
      if (this.overflow === 'reject') return { accepted: false, dropped };
      const first = this.entries.findIndex((e) => e.seq === 0);
      const unsent = first < 0 ? [] : this.entries.slice(first);
      const unsentBytes = unsent.reduce((sum, e) => sum + e.bytes, 0);
      // Evicting is only worth it when it makes room: otherwise refuse and lose nothing.
      if (this.total - unsentBytes + bytes > this.maxBytes || this.maxMessages < 1)
        return { accepted: false, dropped };
      while (!fits() && this.entries[first]?.seq === 0) {
        const [evicted] = this.entries.splice(first, 1);
        this.total -= evicted!.bytes;
        dropped.push(JSON.parse(evicted!.json));
      }
      if (!fits()) return { accepted: false, dropped };
    }
    this.entries.push({ seq: 0, json, bytes });
    this.total += bytes;
    return { accepted: true, dropped };
  }

  /** Numbers the queued messages and returns their frames, in order. */
  takeUnsent(): string[] {
    const frames: string[] = [];
    for (const entry of this.entries) {
      if (entry.seq !== 0) continue;
      entry.seq = this.nextSeq++;
      frames.push(frame(entry));
    }
    return frames;
  }

  /** The server holds everything up to `seq`. */
  ack(seq: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.seq !== 0 && this.entries[n]!.seq <= seq) {
      this.total -= this.entries[n]!.bytes;
      n++;
    }
    if (n > 0) this.entries.splice(0, n);
  }

  /** The server holds seqs up to `seq` already: new messages are numbered after them. */
  continueAfter(seq: number): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
  }

  /** Frames sent before and not acknowledged, to send again on a new socket. */
  unacked(): string[] {
    return this.entries.filter((e) => e.seq !== 0).map(frame);
  }

  /** The highest seq ever given out (0: none). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Empties the outbox for a new session and returns what it held, oldest first. */
  drain(): unknown[] {
    const bodies = this.entries.map((e) => JSON.parse(e.json) as unknown);
    this.entries = [];
    this.total = 0;
    this.nextSeq = 1;
    return bodies;
  }
}

const frame = (e: Entry): string => `{"type":"data","seq":${e.seq},"body":${e.json}}`;
