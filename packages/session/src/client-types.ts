import type { Clock, LinkOptions, PageLifecycleSources, SocketFactory } from '@tether/link';
import type { AckPolicy } from './inbound.js';
import type { OutboxLimits } from './outbox.js';
import type { NewSessionReason } from './protocol.js';

export interface SessionClientOptions {
  /** The server's session URL; a function is read at every attempt. */
  url: string | (() => string);
  /** Default: the platform's WebSocket. In Node 20 pass `wsSocketFactory()` from `@tether/link/node`. */
  socketFactory?: SocketFactory;
  clock?: Clock;
  random?: () => number;
  /**
   * The application's context, sent in every hello (language, conversation id, anything JSON up
   * to 64 KiB): the server's set-up of a new session gets it, so it can seed the session. A
   * function is read at every hello.
   */
  context?: unknown;
  /**
   * A session to resume from the start, as a previous run of the app stored it (`snapshot()`):
   * the first hello carries its token, and the welcome says whether it could be resumed. For
   * apps whose memory does not survive a restart (a Unity WebGL player after a reload).
   */
  resume?: SessionSnapshot;
  /** App heartbeat interval; by default the one the server asks for in its welcome. */
  heartbeatMs?: number;
  /** A socket that opens but brings no welcome within this is dropped and retried. Default 10 s. */
  welcomeTimeoutMs?: number;
  /** Bounds of the messages queued or awaiting an ack, and what happens beyond them. */
  outbox?: OutboxLimits;
  acks?: AckPolicy;
  /** Link tuning: transport heartbeat, connect timeout, backoff, parking. */
  link?: Omit<
    Partial<LinkOptions>,
    'url' | 'socketFactory' | 'clock' | 'random' | 'heartbeat' | 'unwelcome'
  >;
  /** The page to follow (visibility, freeze, online); default the current page; false: none. */
  page?: PageLifecycleSources | false;
}

/** What a client must keep to resume its session after the app restarts. */
export interface SessionSnapshot {
  sessionId: string;
  resumeToken: string;
  /** Highest server seq received in order. */
  lastSeq: number;
}

export type ClientState = 'idle' | 'connecting' | 'handshaking' | 'active' | 'closed';

export interface ResumedEvent {
  sessionId: string;
  /** Our messages sent again because the server had not stored them. */
  resent: number;
  /** Server messages lost for good (its replay buffer overflowed while we were away). */
  missed: number;
}

export interface NewSessionEvent {
  sessionId: string;
  /** `new` on a first connection; otherwise why the previous session could not be resumed. */
  reason: NewSessionReason | 'bad-token';
  previousSessionId: string | null;
  /** Messages for the previous session it never confirmed; not sent to the new one. */
  undelivered: unknown[];
}

export interface SessionClientEvents extends Record<string, unknown[]> {
  message: [body: unknown, meta: { seq: number }];
  resumed: [ResumedEvent];
  newSession: [NewSessionEvent];
  state: [to: ClientState, from: ClientState];
  /** Messages evicted by the `drop-oldest` overflow policy. */
  dropped: [bodies: unknown[]];
  closed: [info: { reason: 'closed' | 'replaced' }];
}
