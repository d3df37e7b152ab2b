/**
 * The link's socket seam: the few things it needs from a WebSocket, so `ws` in Node and the
 * browser's WebSocket both fit, and tests can pass a fake.
 */
export interface LinkSocket {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Cut at once with no close handshake (`ws.terminate()`); browsers can only close(). */
  terminate(): void;
  /** A protocol ping frame, where the platform can send one (Node). Absent in browsers. */
  ping?(): void;
  readonly bufferedAmount: number;
}

export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: string | Uint8Array, binary: boolean): void;
  onPong(): void;
  onClose(code: number, reason: string): void;
  onError(error: Error): void;
}

export type SocketFactory = (url: string, handlers: SocketHandlers) => LinkSocket;

/** The parts of the WHATWG WebSocket the link uses; declared here so no DOM types are needed. */
export interface PlatformWebSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  /** 1 = OPEN. Optional so minimal fakes still fit. */
  readonly readyState?: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type PlatformWebSocketConstructor = new (url: string) => PlatformWebSocket;

export function platformWebSocket(): PlatformWebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: PlatformWebSocketConstructor }).WebSocket;
}

/** A factory over the platform's WebSocket (browsers, Node >= 22, Deno, Bun). */
export function browserSocketFactory(
  WebSocketImpl: PlatformWebSocketConstructor | undefined = platformWebSocket(),
): SocketFactory {
  if (!WebSocketImpl) throw new Error('no WebSocket implementation on this platform');
  return (url, handlers) => {
    const ws = new WebSocketImpl(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => handlers.onOpen();
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') handlers.onMessage(event.data, false);
      else handlers.onMessage(new Uint8Array(event.data as ArrayBuffer), true);
    };
    ws.onerror = () => handlers.onError(new Error('WebSocket error'));
    ws.onclose = (event) => handlers.onClose(event.code, event.reason);
    return {
      send: (data) => {
        // A browser drops a frame sent on a closing socket silently: fail where the link sees it.
        if (ws.readyState !== undefined && ws.readyState !== 1)
          throw new Error(`WebSocket is not open: readyState ${ws.readyState}`);
        ws.send(data);
      },
      close: (code, reason) => ws.close(code, reason),
      // Browsers cannot cut a socket without a close handshake; close() is the closest.
      terminate: () => ws.close(),
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
  };
}
