export { Link } from './link.js';
export type { LinkEvents, LinkOptions, MessageMeta } from './link.js';
export {
  equalJitter,
  exponentialCeiling,
  fullJitter,
  fullJitterBackoff,
  outageCeiling,
} from './backoff.js';
export type { Backoff, BackoffOptions, Ceiling, Jitter, RetryContext } from './backoff.js';
export { ConnectBudget } from './budget.js';
export type { ConnectBudgetOptions, ConnectBudgetStatus } from './budget.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { LinkError, isLinkError } from './errors.js';
export type { LinkErrorCode } from './errors.js';
export { browserSocketFactory } from './socket.js';
export type {
  LinkSocket,
  PlatformWebSocket,
  PlatformWebSocketConstructor,
  SocketFactory,
  SocketHandlers,
} from './socket.js';
export { defaultUnwelcome } from './states.js';
export type {
  Cause,
  CheckTrigger,
  Damping,
  LinkStateName,
  LinkStatus,
  Transition,
  UnwelcomePredicate,
} from './states.js';
export { attachPageLifecycle } from './browser.js';
export type { PageLifecycleSources } from './browser.js';
export { Emitter } from './emitter.js';
