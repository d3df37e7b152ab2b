import type { IncomingMessage } from 'node:http';
import type { ServerSession } from './session.js';
import type { ServerTransport } from './transport.js';

/** Feed a transport's events in with these. */
export interface ConnectionHandlers {
  message(text: string): void;
  pong(): void;
  closed(): void;
}

/** One socket, from its hello to its close. */
export interface Connection {
  transport: ServerTransport;
  request: IncomingMessage | undefined;
  phase: 'hello' | 'handshaking' | 'attached' | 'closed';
  session: ServerSession<unknown> | null;
  /** Frames that arrived while the hello was being answered: handled right after the welcome. */
  early: string[];
  timer: unknown;
}
