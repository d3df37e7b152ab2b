export { Upstream } from './upstream.js';
export { childEnvironment } from './child-env.js';
export { DEFAULT_MAX_ARGUMENTS_BYTES, DEFAULT_MAX_RESULT_BYTES } from './limits.js';
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
