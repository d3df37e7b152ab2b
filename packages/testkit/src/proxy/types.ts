export type Direction = 'toServer' | 'toClient';

export interface Target {
  host?: string;
  port: number;
}

/**
 * What happens to bytes travelling one way. `flow` says whether the proxy reads and forwards
 * ('pass'), reads and discards ('blackhole'), or stops reading ('paused'). Latency is separate:
 * it applies to forwarded bytes whatever the flow was when they were read.
 */
export interface DirectionState {
  readonly flow: 'pass' | 'blackhole' | 'paused';
  readonly latencyMs: number;
  readonly jitterMs: number;
}

export interface FaultProxyOptions {
  /** The server behind the proxy; host defaults to '127.0.0.1'. */
  target: Target;
  /** Listen host, default '127.0.0.1'. */
  host?: string;
  /** Listen port, default 0 (ephemeral); kept across refuse()/accept(). */
  port?: number;
  /** Source of jitter, default Math.random; tests pass a seeded one. */
  random?: () => number;
}

export interface FaultProxyStats {
  /** Pairs whose upstream connection is established and not yet torn down. */
  open: number;
  /** Every client connection ever accepted, including those the target refused. */
  total: number;
  /** Bytes written to the receiving side. */
  bytes: Record<Direction, number>;
  /** Bytes read from the sending side and discarded (blackhole, or the receiver already gone). */
  dropped: Record<Direction, number>;
}
