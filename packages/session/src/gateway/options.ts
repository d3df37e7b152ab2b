import type { Clock } from '@tether/link';
import type { SessionServerOptions } from '../server/index.js';
import type { UpstreamLoss } from './relay.js';
import { DEFAULT_FORWARDED_HEADERS, forwardedHeaderNames } from './target.js';

/** The session server's own options that the gateway passes through (docs/session-protocol.md). */
export type GatewaySessionOptions = Pick<
  SessionServerOptions<null>,
  | 'resumeWindowMs'
  | 'heartbeatMs'
  | 'pauseAfterMs'
  | 'detachAfterMs'
  | 'pingIntervalMs'
  | 'maxMissedPongs'
  | 'helloTimeoutMs'
  | 'replay'
  | 'acks'
  | 'maxBufferedBytes'
  | 'tickMs'
>;

export interface SessionGatewayOptions {
  /** The existing server: `ws://` or `wss://`, with a path and query of its own if it likes. */
  upstream: string | URL;
  /** Default 127.0.0.1: the gateway is reachable from elsewhere only when asked. */
  host?: string;
  /** Default 0: any free port (see `port` and `url`). */
  port?: number;
  /**
   * Request headers carried to the upstream. Default Authorization, Cookie, X-Forwarded-For
   * (the client's address appended) and X-Forwarded-Proto. Handshake headers are refused.
   */
  forwardHeaders?: readonly string[];
  /** Sessions held at once (dialling, live or waiting for a resume). Default 10,000. */
  maxSessions?: number;
  /** Largest frame from a client and from the upstream. Default 1 MiB. */
  maxFrameBytes?: number;
  /** The upstream must accept within this, or the client is refused. Default 5 s. */
  connectTimeoutMs?: number;
  /** An upstream socket holding more than this unsent has stopped reading: the session ends. Default 4 MiB. */
  maxUpstreamBufferedBytes?: number;
  /** The gateway pings the upstream this often and cuts it after two silent intervals; 0: never. Default 15 s. */
  upstreamPingIntervalMs?: number;
  /** A polite close that the peer does not finish within this is cut. Default 2 s. */
  closeGraceMs?: number;
  /** The session server's options: resume window, heartbeat, ping interval, replay buffer… */
  session?: GatewaySessionOptions;
  clock?: Clock;
}

export interface ResolvedGatewayOptions {
  upstream: URL;
  host: string;
  port: number;
  forwardHeaders: string[];
  maxSessions: number;
  maxFrameBytes: number;
  connectTimeoutMs: number;
  maxUpstreamBufferedBytes: number;
  upstreamPingIntervalMs: number;
  closeGraceMs: number;
  session: GatewaySessionOptions;
  /** The session server's resume window (its default when not given). */
  resumeWindowMs: number;
}

export function resolveGatewayOptions(options: SessionGatewayOptions): ResolvedGatewayOptions {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'ws:' && upstream.protocol !== 'wss:')
    throw new RangeError(`the upstream must be a ws:// or wss:// URL, not ${upstream.protocol}`);
  const positive = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a number >= 0`);
    return v;
  };
  return {
    upstream,
    host: options.host ?? '127.0.0.1',
    port: positive('port', options.port, 0),
    forwardHeaders: forwardedHeaderNames(options.forwardHeaders ?? DEFAULT_FORWARDED_HEADERS),
    maxSessions: positive('maxSessions', options.maxSessions, 10_000),
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes, 1024 * 1024),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5_000),
    maxUpstreamBufferedBytes: positive(
      'maxUpstreamBufferedBytes',
      options.maxUpstreamBufferedBytes,
      4 * 1024 * 1024,
    ),
    upstreamPingIntervalMs: positive(
      'upstreamPingIntervalMs',
      options.upstreamPingIntervalMs,
      15_000,
    ),
    closeGraceMs: positive('closeGraceMs', options.closeGraceMs, 2_000),
    session: options.session ?? {},
    resumeWindowMs: options.session?.resumeWindowMs ?? 120_000,
  };
}

/** Why a session of the gateway ended. */
export type EndReason =
  /** The client sent `end`: the upstream was closed with 1000. */
  | 'client-ended'
  /** The client stayed away past the resume window: the upstream was closed with 1001. */
  | 'expired'
  /** The upstream closed, failed, stopped reading or fell silent (see `loss`). */
  | 'upstream'
  /** The gateway stopped: client and upstream were closed with 1001. */
  | 'stopped';

export interface SessionGatewayEvents extends Record<string, unknown[]> {
  /** A new session: its upstream accepted, the client was welcomed. */
  start: [info: { sessionId: string; upstream: string }];
  resume: [info: { sessionId: string; upstream: string; replayed: number; missed: number }];
  /** The upstream went away while the session lived; the session ends once the client has its last messages. */
  'upstream-lost': [info: { sessionId: string; upstream: string; loss: UpstreamLoss }];
  end: [
    info: {
      sessionId: string;
      upstream: string;
      why: EndReason;
      loss?: UpstreamLoss;
      /** For `upstream`: the client had everything the upstream sent (false: the resume window passed first). */
      delivered?: boolean;
      /** Client messages that came after the upstream was gone. */
      dropped: number;
    },
  ];
  /** A client got no session: the upstream refused (1014), the gateway is full (1013) or stopping (1001). */
  refused: [info: { code: number; reason: string; upstream?: string }];
  error: [error: Error, context: string];
}
