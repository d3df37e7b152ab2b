import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { UpstreamError } from './types.js';

/**
 * The one mapper from what the MCP SDK throws to UpstreamError codes.
 *
 * The SDK rejects an aborted request with SdkError(RequestTimeout) too, so whether the caller
 * cancelled is read from the caller's own signal, never from the error.
 */
export function toUpstreamError(error: unknown, callerSignal?: AbortSignal): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (callerSignal?.aborted === true) {
    return new UpstreamError('UPSTREAM_CANCELLED', 'the call was cancelled');
  }
  if (error instanceof ProtocolError) {
    return new UpstreamError('UPSTREAM_RPC_ERROR', error.message, error.code);
  }
  if (error instanceof SdkError) {
    if (error.code === SdkErrorCode.RequestTimeout) {
      return new UpstreamError('UPSTREAM_TIMEOUT', error.message);
    }
    if (error.code === SdkErrorCode.InvalidResult) {
      // The server answered, but not with a tool result: its fault, though it sent no code.
      return new UpstreamError('UPSTREAM_RPC_ERROR', error.message);
    }
  }
  return new UpstreamError('UPSTREAM_UNAVAILABLE', messageOf(error));
}

/**
 * True when the server no longer knows our session: HTTP 404 to a request carrying it. Streamable
 * HTTP surfaces it as SdkHttpError (code ClientHttpNotImplemented on a POST, FailedToOpenStream
 * on the GET stream); the legacy SSE transport only as a plain Error whose message holds the status.
 */
export function isSessionGone(error: unknown): boolean {
  if (error instanceof SdkHttpError) return error.status === 404;
  return error instanceof Error && /\(HTTP 404\)/.test(error.message);
}

/** The reason a connection is closed when the upstream stops, so calls read as unavailable. */
export function closedReason(why: string): SdkError {
  return new SdkError(SdkErrorCode.ConnectionClosed, why);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
