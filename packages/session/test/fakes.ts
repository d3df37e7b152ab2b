import type { LinkSocket, SocketFactory, SocketHandlers } from '@tether/link';
import type { ConnectionHandlers, ServerTransport } from '../src/server/index.js';

type Frame = Record<string, unknown> & { type: string };

/** A client-side socket the test opens, feeds and breaks by hand. */
export class FakeSocket implements LinkSocket {
  sent: Frame[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  terminated = false;
  bufferedAmount = 0;

  constructor(readonly handlers: SocketHandlers) {}

  send(data: string | Uint8Array): void {
    this.sent.push(JSON.parse(String(data)) as Frame);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }
  terminate(): void {
    this.terminated = true;
  }
  ping(): void {}

  open(): void {
    this.handlers.onOpen();
  }
  receive(frame: object): void {
    this.handlers.onMessage(JSON.stringify(frame), false);
  }
  peerClose(code: number, reason = ''): void {
    this.handlers.onClose(code, reason);
  }
  types(): string[] {
    return this.sent.map((f) => f.type);
  }
}

export function fakeSockets() {
  const sockets: FakeSocket[] = [];
  const factory: SocketFactory = (_url, handlers) => {
    const socket = new FakeSocket(handlers);
    sockets.push(socket);
    return socket;
  };
  return { factory, sockets, last: () => sockets.at(-1)! };
}

/** The server's side of a socket, for driving the registry without `ws`. */
export class FakeTransport implements ServerTransport {
  sent: Frame[] = [];
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  pings = 0;
  bufferedAmount = 0;
  handlers!: ConnectionHandlers;

  send(text: string): void {
    this.sent.push(JSON.parse(text) as Frame);
  }
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }
  terminate(): void {
    this.terminated = true;
  }
  ping(): void {
    this.pings++;
  }

  /** What the client does. */
  frame(frame: object): void {
    this.handlers.message(JSON.stringify(frame));
  }
  data(): unknown[] {
    return this.sent.filter((f) => f.type === 'data').map((f) => f.body);
  }
  of(type: string): Frame[] {
    return this.sent.filter((f) => f.type === type);
  }
}

/** Lets promise chains (store calls, commits) run to completion. */
export const drain = () => new Promise((resolve) => setImmediate(resolve));
