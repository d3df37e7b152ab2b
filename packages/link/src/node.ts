import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import type { SocketFactory } from './socket.js';

export type WsFactoryOptions = Pick<
  ClientOptions,
  'headers' | 'maxPayload' | 'agent' | 'family' | 'rejectUnauthorized' | 'ca'
>;

/**
 * The link's socket over `ws`. Compression is off: endpoint frames are small JSON and
 * permessage-deflate costs memory per socket. The link owns every timeout, so none is set here.
 */
export function wsSocketFactory(options: WsFactoryOptions = {}): SocketFactory {
  return (url, handlers) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    ws.on('open', () => handlers.onOpen());
    ws.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      handlers.onMessage(isBinary ? new Uint8Array(buffer) : buffer.toString('utf8'), isBinary);
    });
    ws.on('pong', () => handlers.onPong());
    ws.on('unexpected-response', (_req, res) => {
      // An HTTP answer instead of an upgrade (401, 404, 502…) is a failed attempt with a reason.
      handlers.onError(new Error(`upgrade refused: HTTP ${res.statusCode ?? '?'}`));
      ws.terminate();
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has already refused the frame from its header (nothing was buffered) and closes with 1009.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        handlers.onError(
          new Error(
            `the peer sent a frame over the ${options.maxPayload ?? 104_857_600}-byte limit; closed with 1009`,
          ),
        );
        return;
      }
      handlers.onError(error);
    });
    ws.on('close', (code, reason) => {
      handlers.onClose(code, reason.toString());
      ws.removeAllListeners();
      // A late error on a dead socket must not become an uncaught exception.
      ws.on('error', () => {});
    });
    // Frames sent in the same tick leave in one write (ws writes each frame at once, and
    // TCP_NODELAY is on): under load this saves a syscall per message.
    let corked = false;
    // ws queues a frame for a socket that is already closing and drops it without a word; a send
    // that cannot go out must fail where the link sees it (it checks the socket at once).
    const send = (data: string | Uint8Array) => {
      if (ws.readyState !== WebSocket.OPEN)
        throw new Error(`WebSocket is not open: readyState ${ws.readyState}`);
      const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (socket && !corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      ws.send(data);
    };
    return {
      send,
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      ping: () => ws.ping(),
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
  };
}
