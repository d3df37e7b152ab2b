import type { LinkSocket, SocketFactory, SocketHandlers } from '../src/socket.js';

/** A socket the test opens, closes and breaks by hand; it records what the link did to it. */
export class FakeSocket implements LinkSocket {
  sent: Array<string | Uint8Array> = [];
  pings = 0;
  closedWith: { code?: number; reason?: string } | undefined;
  terminated = false;
  bufferedAmount = 0;

  constructor(
    readonly url: string,
    readonly handlers: SocketHandlers,
  ) {}

  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }
  terminate(): void {
    this.terminated = true;
  }
  ping(): void {
    this.pings++;
  }

  // What the peer or the network does:
  open(): void {
    this.handlers.onOpen();
  }
  pong(): void {
    this.handlers.onPong();
  }
  receive(data: string): void {
    this.handlers.onMessage(data, false);
  }
  peerClose(code: number, reason = ''): void {
    this.handlers.onClose(code, reason);
  }
  fail(message = 'ECONNREFUSED'): void {
    this.handlers.onError(new Error(message));
  }
}

export function fakeFactory(): {
  factory: SocketFactory;
  sockets: FakeSocket[];
  last(): FakeSocket;
} {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    factory: (url, handlers) => {
      const socket = new FakeSocket(url, handlers);
      sockets.push(socket);
      return socket;
    },
    last: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket was created');
      return socket;
    },
  };
}
