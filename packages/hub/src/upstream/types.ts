import type { ServerConfig } from '../config/types.js';
import { redact } from '../log/redact.js';

/** A tool exactly as the upstream listed it: schemas and unknown fields pass through untouched. */
export interface UpstreamTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  [key: string]: unknown;
}

/** A tools/call result as the upstream returned it. */
export interface ToolResult {
  content: unknown[];
  isError?: boolean;
  [key: string]: unknown;
}

/**
 * `unresponsive`: it stopped answering pings; it has been killed and waits to be restarted,
 * like `restarting`, which is a loss of any other kind (an exit, a closed connection).
 */
export type UpstreamStateName =
  'starting' | 'ready' | 'restarting' | 'unresponsive' | 'failed' | 'stopped';

export interface UpstreamStatus {
  name: string;
  type: ServerConfig['type'];
  state: UpstreamStateName;
  since: number;
  tools: number;
  restarts: number;
  /** Why it is not ready (or why it last failed). */
  lastError?: string;
  /** stdio only. */
  pid?: number;
  /** The last lines the child wrote to stderr (stdio only). */
  stderrTail: string[];
}

export interface CallOptions {
  /** Aborting cancels the call upstream (notifications/cancelled). */
  signal?: AbortSignal;
  /** Per-call timeout; every progress notification starts it again. */
  timeoutMs: number;
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

export type UpstreamErrorCode =
  | 'UPSTREAM_UNAVAILABLE' // not ready: starting or stopped, or the connection broke mid-call
  | 'UPSTREAM_RESTARTING' // down (restarting or failed); the message says when it is expected back
  | 'UPSTREAM_UNRESPONSIVE' // stopped answering pings: killed, and restarted after a pause
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_CANCELLED'
  | 'UPSTREAM_RPC_ERROR' // the upstream answered with a JSON-RPC error (see rpcCode)
  | 'UPSTREAM_UNKNOWN_TOOL'
  | 'UPSTREAM_RESULT_TOO_LARGE' // over maxResultBytes: dropped unparsed; the server stays up
  | 'UPSTREAM_ARGUMENTS_TOO_LARGE'; // over maxArgumentsBytes: not sent

/** Its message is redacted here, once, so that no path can store or show it unmasked. */
export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    readonly rpcCode?: number,
  ) {
    super(redact(message));
    this.name = 'UpstreamError';
  }
}

export interface UpstreamEvents {
  /** The tool list changed (first listing, refresh after list_changed, restart). */
  tools: [readonly UpstreamTool[]];
  state: [UpstreamStatus];
  /** A line on the child's stderr. */
  stderr: [string];
}
