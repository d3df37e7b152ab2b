/**
 * The link's states, named after PRODUCT.md's endpoint states:
 *
 *   disabled --connect()--> connecting --open--> open --markReady()--> ready
 *       ^                      |   ^               |                     |
 *       |                      |   |  loss: close, error, heartbeat, timeout, declared dead
 *     close()                  v   |               v                     v
 *   (from any state)         backoff <-------------+---------------------+
 *                              |  K consecutive failures
 *                              v
 *                            parked --probe timer or retryNow()--> connecting
 */
export type LinkStateName = 'disabled' | 'connecting' | 'open' | 'ready' | 'backoff' | 'parked';

/** What a person or program sees of the link; fields exist only in the states they belong to. */
export type LinkStatus =
  | { name: 'disabled'; since: number }
  | { name: 'connecting'; since: number; attempt: number }
  | { name: 'open'; since: number; generation: number }
  | { name: 'ready'; since: number; generation: number }
  | { name: 'backoff'; since: number; failures: number; retryAt: number | null }
  | { name: 'parked'; since: number; failures: number; probeAt: number | null };

/** Why a transition happened. */
export type Cause =
  | { type: 'person'; action: 'connect' | 'close' | 'retryNow' }
  | { type: 'open' }
  | { type: 'ready' }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; message: string }
  | { type: 'heartbeat'; missed: number; silentMs: number }
  | { type: 'timeout'; phase: 'connect' }
  | { type: 'dead'; reason: string }
  | { type: 'reconnect'; reason: string }
  | { type: 'timer'; purpose: 'retry' | 'probe' }
  | { type: 'network'; online: boolean };

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
