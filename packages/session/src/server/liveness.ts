import type { SessionStatus } from './options.js';

export interface LivenessLimits {
  pingIntervalMs: number;
  maxMissedPongs: number;
  pauseAfterMs: number;
  detachAfterMs: number;
  maxBufferedBytes: number;
}

export type Verdict = {
  /** The socket is dead (no pong) or its reader stopped reading: cut it. */
  cut: boolean;
  /** Time for a transport ping. */
  ping: boolean;
  /** The app fell silent (active → paused), or stayed paused too long (→ close 4408). */
  next: 'pause' | 'detach' | null;
};

/**
 * Two signs of life, kept apart on purpose: pongs say the client's network stack is there,
 * frames say the application is. A paused app (Unity without focus, a frozen tab) still
 * answers pings; only its silence shows that it is paused.
 */
export class Liveness {
  /** Last frame from the app. */
  heard = 0;
  /** Last pong, or frame (the transport is alive either way). */
  pong = 0;
  private pinged = 0;

  constructor(private readonly limits: LivenessLimits) {}

  reset(now: number): void {
    this.heard = this.pong = this.pinged = now;
  }

  frame(now: number): void {
    this.heard = this.pong = now;
  }

  check(
    now: number,
    status: SessionStatus,
    statusSince: number,
    canPing: boolean,
    buffered: number,
  ): Verdict {
    const l = this.limits;
    const verdict: Verdict = { cut: false, ping: false, next: null };
    if (canPing) {
      if (now - this.pong >= l.pingIntervalMs * l.maxMissedPongs) return { ...verdict, cut: true };
      if (now - this.pinged >= l.pingIntervalMs) {
        this.pinged = now;
        verdict.ping = true;
      }
    }
    // A reader that stopped reading: its frames wait in the replay buffer, not in our memory.
    if (buffered > l.maxBufferedBytes) return { ...verdict, cut: true };
    if (status === 'active' && now - this.heard >= l.pauseAfterMs) verdict.next = 'pause';
    else if (status === 'paused' && now - statusSince >= l.detachAfterMs) verdict.next = 'detach';
    return verdict;
  }
}
