import type { IncomingMessage } from 'node:http';
import type { Clock } from '@tether/link';
import type { AckPolicy } from '../inbound.js';
import type { NewSessionReason } from '../protocol.js';
import type { ReplayLimits } from './replay.js';
import type { SessionStore } from './store.js';

/**
 * A session's life on the server:
 *
 *   active ──no app frame for pauseAfterMs, or "pausing"──▶ paused ──detachAfterMs──▶ detached
 *     ▲  ◀───────────────────── any app frame ──────────────────┘   (closed 4408)       │
 *     │                                                                                   │
 *     └── resumed (hello with its token) ◀── detached ◀── transport lost (close, no pong) ─┘
 *   detached ──resumeWindowMs──▶ expired;   any state ──end()──▶ expired
 *
 * `moved`: this instance's handle after a newer connection took the session elsewhere.
 */
export type SessionStatus = 'active' | 'paused' | 'detached' | 'expired' | 'moved';

/** What the application holds for one session. */
export interface Session<S> {
  readonly id: string;
  readonly status: SessionStatus;
  /** Why the session is paused: the client's hint, or its silence. */
  readonly pausedBy: 'hint' | 'silence' | null;
  /** The application's state, kept with the session and handed back on resume. */
  readonly state: S;
  /** Replaces the state; it is stored with the next commit (call it, do not mutate in place). */
  setState(state: S): void;
  /**
   * Sends to the client: now if it is attached, after its resume otherwise (from the replay
   * buffer). False once the session expired or moved.
   */
  send(body: unknown): boolean;
  /** Ends the session: the client is closed with 4410 and told it has a new session next time. */
  end(): Promise<void>;
  /** Messages dropped unacknowledged because the replay buffer was full. */
  readonly lost: number;
}

export interface NewSessionInfo<S = unknown> {
  reason: NewSessionReason;
  /** The session the client asked to resume, when it could not be. */
  previousSessionId: string | null;
  /**
   * That session's last state, when it expired and the client presented its own token: seed the
   * new session from it (the conversation, the language) instead of starting blank.
   */
  previousState?: S;
  /** The context the client's hello carried (language, conversation id, …), if any. */
  context: unknown;
  /** The upgrade request (headers, URL), for authentication or per-session settings. */
  request: IncomingMessage | undefined;
}

export interface ResumeInfo {
  /** Our messages sent again because the client had not received them. */
  replayed: number;
  /** Our messages it will never get (the replay buffer overflowed). */
  missed: number;
  /** The context the client's hello carried this time, if any. */
  context: unknown;
  request: IncomingMessage | undefined;
}

export interface ExpiredSession<S> {
  id: string;
  /** The state as last stored. */
  state: S;
  /** `timeout`: the resume window passed; `ended`: the app or the client ended it. */
  reason: 'timeout' | 'ended';
}

export interface SessionServerOptions<S> {
  store?: SessionStore;
  /** A detached session can be resumed this long. Default 120 s. */
  resumeWindowMs?: number;
  /** The client's app heartbeat interval, told in the welcome. Default 5 s. */
  heartbeatMs?: number;
  /** No app frame this long: paused. Default 2.5 × heartbeatMs. */
  pauseAfterMs?: number;
  /** Paused this long on a live socket: the socket is closed (4408) and the session detached. Default 15 s. */
  detachAfterMs?: number;
  /** Transport ping frames; no pong for maxMissedPongs intervals: the socket is cut. Default 5 s, 2. */
  pingIntervalMs?: number;
  maxMissedPongs?: number;
  /** The first frame must be a hello within this. Default 10 s. */
  helloTimeoutMs?: number;
  replay?: ReplayLimits;
  acks?: AckPolicy;
  /** A socket holding more than this unsent (a paused reader) is cut; replay covers it. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Granularity of the pause, detach and ping checks. Default 250 ms. */
  tickMs?: number;
  /** A session whose owner stopped touching it is reaped by others this long after its deadline. Default 10 s. */
  orphanGraceMs?: number;
  /** This instance's name in the store. Default: random. */
  instanceId?: string;
  clock?: Clock;
  /**
   * A new session: set it up and return its initial state (`session.state` is undefined until
   * then; what it sends is delivered right after the welcome). Never called on a resume.
   */
  onNewSession?(session: Session<S>, info: NewSessionInfo<S>): S | Promise<S>;
  /** A resume: `session.state` is the state as it was; set-up is not run again. */
  onResume?(session: Session<S>, info: ResumeInfo): void;
  onMessage?(session: Session<S>, body: unknown): void;
  /** Runs once per session, on the instance that reaps it. */
  onExpire?(expired: ExpiredSession<S>): void;
}

export type Resolved<S> = Required<
  Omit<
    SessionServerOptions<S>,
    'onNewSession' | 'onResume' | 'onMessage' | 'onExpire' | 'replay' | 'acks' | 'store'
  >
> &
  Pick<SessionServerOptions<S>, 'onNewSession' | 'onResume' | 'onMessage' | 'onExpire'> & {
    replay: ReplayLimits;
    acks: AckPolicy;
  };

export function resolveOptions<S>(
  options: SessionServerOptions<S>,
  clock: Clock,
  instanceId: string,
): Resolved<S> {
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  return {
    ...options,
    resumeWindowMs: options.resumeWindowMs ?? 120_000,
    heartbeatMs,
    pauseAfterMs: options.pauseAfterMs ?? heartbeatMs * 2.5,
    detachAfterMs: options.detachAfterMs ?? 15_000,
    pingIntervalMs: options.pingIntervalMs ?? 5_000,
    maxMissedPongs: options.maxMissedPongs ?? 2,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    replay: options.replay ?? {},
    acks: options.acks ?? {},
    maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
    tickMs: options.tickMs ?? 250,
    orphanGraceMs: options.orphanGraceMs ?? 10_000,
    instanceId,
    clock,
  };
}
