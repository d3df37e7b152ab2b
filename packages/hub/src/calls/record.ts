import type { CatalogEntry } from '../catalog/catalog.js';
import { boundCallMeta } from '../store/call-meta.js';
import type { CallMeta, ToolCallEntry } from '../store/types.js';
import type { ToolResult } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';

export type CallOutcome = ToolCallEntry['outcome'];

/**
 * What a finished call came to, the same for the endpoints' calls and the API's: a timeout and
 * a cancellation are told apart from other failures, and a result the tool marked as an error
 * counts as one.
 */
export function outcomeOf(ended: { error?: unknown; result?: ToolResult }): CallOutcome {
  if (ended.error !== undefined) {
    const code = ended.error instanceof UpstreamError ? ended.error.code : '';
    if (code === 'UPSTREAM_TIMEOUT') return 'timeout';
    if (code === 'UPSTREAM_CANCELLED') return 'cancelled';
    return 'error';
  }
  return ended.result?.isError ? 'error' : 'ok';
}

/** The size of a value as JSON, in bytes: measured once per result (log, budget). */
export function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value));
}

/**
 * One line of the tool-call log, the same for endpoints' calls and the API's. `meta` (how the
 * call came, what repair changed) is bounded here already, because the entry also travels
 * beyond the store (the hub's `call` event, the cluster's call events).
 */
export function callRecord(
  endpointId: string | null,
  entry: CatalogEntry,
  args: Record<string, unknown> | undefined,
  started: number,
  ended: number,
  outcome: CallOutcome,
  resultBytes: number,
  error: string | null,
  meta?: CallMeta,
): ToolCallEntry {
  const bounded = boundCallMeta(meta);
  return {
    endpointId,
    tool: entry.name,
    server: entry.server,
    at: started,
    durationMs: ended - started,
    outcome,
    argsBytes: args ? Buffer.byteLength(JSON.stringify(args)) : 0,
    resultBytes,
    error,
    ...(bounded === undefined ? {} : { meta: bounded }),
  };
}
