/**
 * Splits a text stream into lines. A line longer than `maxLength` is dropped whole (reported
 * once through `onOverflow`) rather than buffered without bound: a child that never prints a
 * newline must not grow the hub's memory.
 */
export class LineSplitter {
  private parts: string[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly maxLength: number,
    private readonly onOverflow: (length: number) => void = () => {},
  ) {}

  /** The complete lines in `chunk` (without `\n` or a trailing `\r`). */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (newline < 0) break;
      const line = this.take(chunk.slice(start, newline));
      if (line !== undefined) lines.push(line);
      start = newline + 1;
    }
    if (start < chunk.length) this.keep(chunk.slice(start));
    return lines;
  }

  /** Whatever is left after the stream ended: a last line without its newline. */
  flush(): string | undefined {
    const rest = this.take('');
    return rest === '' ? undefined : rest;
  }

  private keep(piece: string): void {
    if (this.discarding) return;
    this.parts.push(piece);
    this.size += piece.length;
    if (this.size > this.maxLength) {
      this.onOverflow(this.size);
      this.parts = [];
      this.size = 0;
      this.discarding = true;
    }
  }

  private take(tail: string): string | undefined {
    if (this.discarding) {
      this.discarding = false;
      return undefined;
    }
    this.parts.push(tail);
    const line = this.parts.join('');
    this.parts = [];
    this.size = 0;
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
