// The root entry runs anywhere (browsers, Node, workers): no node: imports. The Node server and
// the Redis store live at `@tether/session/server`.
export { SessionClient } from './client.js';
export type {
  ClientState,
  NewSessionEvent,
  ResumedEvent,
  SessionClientEvents,
  SessionClientOptions,
  SessionSnapshot,
} from './client-types.js';
export type { OutboxLimits, OverflowPolicy } from './outbox.js';
export type { AckPolicy } from './inbound.js';
export { SessionError, isSessionError } from './errors.js';
export type { SessionErrorCode } from './errors.js';
export { CloseCode, PROTOCOL_VERSION, parseClientFrame, parseServerFrame } from './protocol.js';
export type {
  AckFrame,
  ClientFrame,
  DataFrame,
  HelloFrame,
  NewSessionReason,
  ServerFrame,
  WelcomeFrame,
} from './protocol.js';
