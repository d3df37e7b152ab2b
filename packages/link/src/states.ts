/**
 * The link's states (docs/architecture.md, "link"); the hub's API and dashboard show an
 * endpoint's state by the same names (`LinkState` in @tether/protocol). `reconnecting` is a
 * planned reconnect waiting for its old socket to close (never two sockets, never a failure).
 *
 *   disabled --connect()--> connecting --open--> open --markReady()--> ready
 *       ^                      |   ^               |                     |
 *       |                      |   |   loss: close, error, heartbeat, check, timeout, dead
 *     close()                  v   |               v                     v
 *   (from any state)         backoff <-------------+---------------------+
 *                              |   ^                      open/ready --reconnect()--+
 *                              |   +-- old socket gone, offline --+                 v
 *                              |                                   +---------- reconnecting
 *                              | K failures        connecting <-- old socket gone --+
 *                              v
 *                            parked --probe timer or retryNow()--> connecting
 */
export type LinkStateName =
  'disabled' | 'connecting' | 'open' | 'ready' | 'reconnecting' | 'backoff' | 'parked';

/** What a person or program sees of the link; fields exist only in the states they belong to. */
export type LinkStatus =
  | { name: 'disabled'; since: number }
  | { name: 'connecting'; since: number; attempt: number }
  | { name: 'open'; since: number; generation: number }
  | { name: 'ready'; since: number; generation: number }
  | { name: 'reconnecting'; since: number; reason: string }
  | { name: 'backoff'; since: number; failures: number; retryAt: number | null }
  | { name: 'parked'; since: number; failures: number; probeAt: number | null };

/**
 * A link that keeps losing its socket after completing the handshake is damped: its first
 * retry waits at least `floorMs`. Carried by the loss that was damped, so the timeline says why
 * the retry was slow.
 */
export interface Damping {
  /** Losses after a completed handshake within the window, this one included. */
  losses: number;
  windowMs: number;
  floorMs: number;
}

/** What made the link check an open socket at once instead of waiting for the next ping. */
export type CheckTrigger = 'send-failed' | 'backpressure' | 'page';

/** Why a transition happened. A loss may say it was damped (`damped`). */
export type Cause =
  | { type: 'person'; action: 'connect' | 'close' | 'retryNow' }
  | { type: 'open' }
  | { type: 'ready' }
  | { type: 'close'; code: number; reason: string; damped?: Damping }
  | { type: 'error'; message: string; damped?: Damping }
  | {
      type: 'heartbeat';
      missed: number;
      silentMs: number;
      /** Present when a check (not the regular heartbeat) found the socket dead. */
      check?: CheckTrigger;
      damped?: Damping;
    }
  | { type: 'timeout'; phase: 'connect' }
  | { type: 'dead'; reason: string; damped?: Damping }
  | { type: 'reconnect'; reason: string }
  | { type: 'timer'; purpose: 'retry' | 'probe' | 'budget' }
  | { type: 'network'; online: boolean }
  /** An attempt was due but the shared connect budget gave it a later slot. */
  | { type: 'budget'; waitMs: number };

export interface Transition {
  from: LinkStateName;
  to: LinkStateName;
  at: number;
  cause: Cause;
  status: LinkStatus;
}

/** A close code and reason that mean "you are not welcome here": do not hammer. */
export type UnwelcomePredicate = (code: number, reason: string) => boolean;

/**
 * 1008 policy violation (the relay's bad token), 4001/4003/4401/4403 (auth-style application
 * codes), and a close whose reason says the socket was replaced by another connection: coming
 * straight back would only kick the other holder off in turn.
 */
export const defaultUnwelcome: UnwelcomePredicate = (code, reason) =>
  [1008, 4001, 4003, 4401, 4403].includes(code) || /replac/i.test(reason);
