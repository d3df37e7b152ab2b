export { SessionServer } from './server.js';
export type { AttachOptions, SessionServerEvents } from './server.js';
export type {
  ExpiredSession,
  NewSessionInfo,
  ResumeInfo,
  Session,
  SessionServerOptions,
  SessionStatus,
} from './options.js';
export type { ReplayLimits } from './replay.js';
export type { ConnectionHandlers } from './connection.js';
export type { ServerTransport } from './transport.js';
export { MemorySessionStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
export { RedisSessionStore } from './redis-store.js';
export type { RedisStoreOptions } from './redis-store.js';
export type {
  ClaimResult,
  ExpiredRecord,
  ReplayEntry,
  SessionChange,
  SessionStore,
  StoredSession,
} from './store.js';
