export { Upstream } from './upstream.js';
export type { UpstreamOptions } from './upstream.js';
export type { RestartPolicy } from './backoff.js';
export { UpstreamError } from './types.js';
export type {
  CallOptions,
  ToolResult,
  UpstreamErrorCode,
  UpstreamEvents,
  UpstreamStateName,
  UpstreamStatus,
  UpstreamTool,
} from './types.js';
