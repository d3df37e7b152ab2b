import type { NewSessionReason } from '../protocol.js';
import type { ReplayEntry } from './store.js';

/** The server's side of one socket: `ws` in production, an in-memory fake in unit tests. */
export interface ServerTransport {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Cut without a close handshake. */
  terminate(): void;
  /** A protocol ping frame; the transport reports pongs to the registry. */
  ping?(): void;
  readonly bufferedAmount: number;
}

/** What a session starts from: nothing (new) or what the store had (resumed elsewhere). */
export interface SessionInit<S> {
  id: string;
  epoch: number;
  state: S;
  inSeq: number;
  outSeq: number;
  replay: ReplayEntry[];
}

/** What the welcome says beyond the session's own numbers. */
export interface Welcome {
  token: string;
  resumed: boolean;
  reason?: NewSessionReason;
}
