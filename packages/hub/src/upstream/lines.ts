/** What is left of a line or event that was over the limit: its size and its two ends. */
export interface Oversized {
  /** Its whole length in bytes (a line's newline not counted, an event's blank line counted). */
  bytes: number;
  /** Its first and last few bytes, decoded: enough to find the JSON-RPC id it carries. */
  head: string;
  tail: string;
}

/** The ends kept of an oversized line or event: bounded, however long it goes on. */
export class Ends {
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);

  private constructor(private readonly keep: number) {}

  /** Starts from the pieces gathered so far (which the caller then lets go). */
  static of(pieces: readonly Uint8Array[], keep: number): Ends {
    const ends = new Ends(keep);
    for (const piece of pieces) ends.add(piece);
    return ends;
  }

  add(piece: Uint8Array): void {
    // Copies throughout, so that neither end pins a whole chunk of the stream in memory.
    if (this.head.length < this.keep) {
      const room = this.keep - this.head.length;
      this.head = Buffer.concat([this.head, piece.subarray(0, room)]);
    }
    this.tail =
      piece.length >= this.keep
        ? Buffer.from(piece.subarray(piece.length - this.keep))
        : Buffer.concat([this.tail, piece]).subarray(-this.keep);
  }

  done(bytes: number): Oversized {
    return { bytes, head: this.head.toString('utf8'), tail: this.tail.toString('utf8') };
  }
}

const LF = 0x0a;
/** Bytes kept of each end of an oversized line: ids sit in the first or last few dozen. */
export const KEEP_BYTES = 1024;

/**
 * Splits a byte stream into UTF-8 lines. A line longer than `maxBytes` is never held whole, so a
 * child that writes a huge line (or never a newline) cannot grow the hub's memory: only its first
 * and last KEEP_BYTES are kept, and `onOversized` hears of it when the line ends.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private over?: Ends;

  constructor(
    private readonly maxBytes: number,
    private readonly onOversized: (line: Oversized) => void = () => {},
  ) {}

  /** The complete lines in `chunk` (without `\n` or a trailing `\r`). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      if (newline < 0) break;
      this.add(chunk.subarray(start, newline));
      const line = this.end();
      if (line !== undefined) lines.push(line);
      start = newline + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return lines;
  }

  /** Whatever is left after the stream ended: a last line without its newline. */
  flush(): string | undefined {
    const rest = this.end();
    return rest === '' ? undefined : rest;
  }

  private add(piece: Buffer): void {
    if (piece.length === 0) return;
    this.size += piece.length;
    if (this.over !== undefined) {
      this.over.add(piece);
      return;
    }
    this.parts.push(piece);
    if (this.size > this.maxBytes) {
      this.over = Ends.of(this.parts, KEEP_BYTES);
      this.parts = [];
    }
  }

  private end(): string | undefined {
    const { parts, size, over } = this;
    this.parts = [];
    this.size = 0;
    this.over = undefined;
    if (over !== undefined) {
      this.onOversized(over.done(size));
      return undefined;
    }
    const line =
      parts.length === 1
        ? (parts[0] as Buffer).toString('utf8')
        : Buffer.concat(parts, size).toString('utf8');
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}

/** The last `capacity` items, oldest first. */
export class Tail<T> {
  private readonly items: T[] = [];

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  last(): T | undefined {
    return this.items.at(-1);
  }

  toArray(): T[] {
    return [...this.items];
  }
}
