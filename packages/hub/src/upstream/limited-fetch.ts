import type { FetchLike, RequestId } from '@modelcontextprotocol/client';
import type { Logger } from '../log/logger.js';
import { Ends, KEEP_BYTES } from './lines.js';
import type { Oversized } from './lines.js';
import {
  ResultTooLarge,
  refuseLargeArguments,
  requestIdsOf,
  responseIdOf,
  sizeOf,
} from './limits.js';

export interface LimitedFetchOptions {
  maxResultBytes: number;
  maxArgumentsBytes: number;
  /** These requests were answered with more than the limit: fail them now. */
  onTooLarge(ids: RequestId[], marker: ResultTooLarge): void;
  logger: Logger;
  /** The fetch underneath; default the global one. */
  fetch?: FetchLike;
}

/**
 * The fetch an HTTP or SSE upstream's transport uses: the size limits at the door.
 *
 *   request:  body over maxArgumentsBytes ─▶ UPSTREAM_ARGUMENTS_TOO_LARGE, nothing sent
 *   JSON (or any non-SSE) body over maxResultBytes ─▶ the requests in the POST fail at once;
 *     the body stream errors (a Content-Length over the limit: before a byte is read)
 *   SSE body: each event is held back until complete; one over maxResultBytes is dropped
 *     (only its two ends kept), the call it answers fails at once, and the stream goes on
 */
export function limitedFetch(options: LimitedFetchOptions): FetchLike {
  const base = options.fetch ?? fetch;
  return async (url, init) => {
    const body = init?.body;
    if (typeof body === 'string') refuseLargeArguments(body, options.maxArgumentsBytes);
    const response = await base(url, init);
    if (response.body === null) return response;
    const sent = typeof body === 'string' ? body : undefined;
    return limitBody(response, options, sent);
  };
}

function limitBody(response: Response, options: LimitedFetchOptions, sent?: string): Response {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const contentType = response.headers.get('content-type') ?? '';
  const isEvents = contentType.split(';')[0]?.trim().toLowerCase() === 'text/event-stream';
  const body = isEvents
    ? eventStream(reader, options)
    : wholeBody(reader, response, options, () => (sent === undefined ? [] : requestIdsOf(sent)));
  const limited = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // The SDK reads `url` when it explains a redirect it did not follow.
  Object.defineProperty(limited, 'url', { value: response.url });
  return limited;
}

function wholeBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  response: Response,
  options: LimitedFetchOptions,
  answering: () => RequestId[],
): ReadableStream<Uint8Array> {
  const limit = options.maxResultBytes;
  const declared = Number(response.headers.get('content-length') ?? NaN);
  let read = 0;
  const refuse = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    bytes?: number,
  ): void => {
    const marker = new ResultTooLarge(limit, bytes);
    // An error page is the SDK's to report; only an answer fails the calls it answers.
    const ids = response.ok ? answering() : [];
    if (ids.length > 0) {
      options.onTooLarge(ids, marker);
    } else {
      options.logger.warn({ status: response.status, limit: sizeOf(limit) }, 'HTTP body cut off');
    }
    controller.error(new Error(marker.message));
    reader.cancel().catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (declared > limit) refuse(controller, declared);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      read += value.length;
      if (read > limit) refuse(controller);
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function eventStream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: LimitedFetchOptions,
): ReadableStream<Uint8Array> {
  const events = new EventSplitter(options.maxResultBytes, (event) => {
    const { head, tail } = eventData(event);
    const id = responseIdOf(head, tail);
    if (id === undefined) {
      options.logger.warn({ bytes: event.bytes }, 'an SSE event over the size limit was dropped');
      return;
    }
    options.onTooLarge([id], new ResultTooLarge(options.maxResultBytes, event.bytes));
  });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Until an event is complete there is nothing to pass on: read on.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          const rest = events.flush();
          if (rest !== undefined) controller.enqueue(rest);
          controller.close();
          return;
        }
        const complete = events.push(value);
        for (const piece of complete) controller.enqueue(piece);
        if (complete.length > 0) return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The JSON at the two ends of an oversized event: `data:` stripped, other fields dropped. */
function eventData(event: Oversized): { head: string; tail: string } {
  const data = /^data: ?/m.exec(event.head);
  const head = data === null ? '' : event.head.slice(data.index + data[0].length);
  const lines = event.tail.split(/\r\n|\r|\n/);
  // Trailing blank lines, and fields after the data (`id:`, `event:`, comments), are not JSON.
  while (lines.length > 1 && /^(|:.*|(id|event|retry)(:.*)?)$/.test(lines.at(-1) ?? ''))
    lines.pop();
  const tail = (lines.at(-1) ?? '').replace(/^data: ?/, '');
  return { head, tail };
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits an SSE byte stream into events (an event ends at a blank line; lines end in CRLF, LF or
 * CR). Each event is held back until it is complete, so one over `maxBytes` never reaches the
 * SSE parser: only its two ends are kept, and `onOversized` hears of it when it ends.
 */
export class EventSplitter {
  private parts: Uint8Array[] = [];
  private size = 0;
  private over?: Ends;
  /** No byte yet on the current line: a line end here is a blank line. */
  private lineEmpty = true;
  /** The last byte was a CR: an LF now completes that line end rather than making another. */
  private afterCR = false;
  /** The last event ended on a CR (passed on: true; dropped: false); its LF, if any, is next. */
  private endedOnCR?: boolean;

  constructor(
    private readonly maxBytes: number,
    private readonly onOversized: (event: Oversized) => void,
  ) {}

  /** Complete events in `chunk` (with what was held of them), ready to pass on. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    let cr = chunk.indexOf(CR);
    for (let i = 0; i < chunk.length;) {
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      const lf = chunk.indexOf(LF, i);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1 || end > i) {
        this.lineEmpty = false;
        this.afterCR = false;
        this.endedOnCR = undefined;
        if (end === -1) break;
      }
      const byte = chunk[end];
      i = end + 1;
      if (byte === LF && this.afterCR) {
        this.afterCR = false;
        if (this.endedOnCR !== undefined) {
          // The LF of the CRLF that ended the last event goes with that event.
          if (this.endedOnCR) out.push(chunk.subarray(end, i));
          this.endedOnCR = undefined;
          start = i;
        }
        continue;
      }
      this.afterCR = byte === CR;
      this.endedOnCR = undefined;
      if (!this.lineEmpty) {
        this.lineEmpty = true;
        continue;
      }
      this.add(chunk.subarray(start, i));
      const event = this.end();
      // A loop, not a spread: an event that came in thousands of tiny chunks has as many pieces.
      for (const piece of event ?? []) out.push(piece);
      if (byte === CR) this.endedOnCR = event !== undefined;
      start = i;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return out;
  }

  /** What is left when the stream ends (an unterminated event, which the parser will discard). */
  flush(): Uint8Array | undefined {
    const rest = this.end();
    return rest === undefined || rest.length === 0 ? undefined : Buffer.concat(rest);
  }

  private add(piece: Uint8Array): void {
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

  /** The event's pieces, or undefined when it was over the limit (and is reported). */
  private end(): Uint8Array[] | undefined {
    const { parts, size, over } = this;
    this.parts = [];
    this.size = 0;
    this.over = undefined;
    if (over === undefined) return parts;
    this.onOversized(over.done(size));
    return undefined;
  }
}
