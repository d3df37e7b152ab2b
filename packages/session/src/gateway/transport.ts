import type { WebSocket } from 'ws';
import type { ServerTransport } from '../server/index.js';

/** A client's socket as the session server sees it, plus what the gateway needs of it. */
export interface ClientTransport extends ServerTransport {
  /** Aborted when the socket is gone: a dial made for it is abandoned. */
  readonly left: AbortSignal;
}

/**
 * Wraps one client socket. Only the first close counts: the gateway closes with its own code
 * and reason (1014 for a refused upstream, 4410 with the upstream's close) before the session
 * server, which then closes with its generic one.
 */
export function clientTransport(ws: WebSocket, closeGraceMs: number): ClientTransport {
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  const left = new AbortController();
  ws.once('close', () => {
    clearTimeout(timer);
    left.abort();
  });
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => {
      if (closing) return;
      closing = true;
      ws.close(code, closeReason(reason));
      // A peer that cannot complete the close (paused, gone) is cut shortly after.
      timer = setTimeout(() => ws.terminate(), closeGraceMs).unref();
    },
    terminate: () => ws.terminate(),
    ping: () => ws.ping(),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    left: left.signal,
  };
}

/** A close reason may hold at most 123 bytes of UTF-8 (RFC 6455, 5.5): longer ones are cut. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = '';
  for (const char of text) {
    // 120 bytes and the ellipsis (3 bytes) make 123.
    if (Buffer.byteLength(out) + Buffer.byteLength(char) > 120) break;
    out += char;
  }
  return `${out}…`;
}
