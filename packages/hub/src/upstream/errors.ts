import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { redact } from '../log/redact.js';
import { ResultTooLarge } from './limits.js';
import { UpstreamError } from './types.js';

/**
 * The one mapper from what the MCP SDK throws to UpstreamError codes (whose messages are
 * redacted as they are made: a fetch error quotes the URL, credentials and all).
 *
 * The SDK rejects an aborted request with SdkError(RequestTimeout) too, so whether the caller
 * cancelled is read from the caller's own signal, never from the error.
 */
export function toUpstreamError(error: unknown, callerSignal?: AbortSignal): UpstreamError {
  if (error instanceof UpstreamError) return error;
  // A connection given up on (abandonedReason): every call it carried fails with the hub's word.
  if (error instanceof SdkError && error.data instanceof UpstreamError) return error.data;
  if (callerSignal?.aborted === true) {
    return new UpstreamError('UPSTREAM_CANCELLED', 'the call was cancelled');
  }
  // The error the hub made up for a result it would not read (see limits.ts), not the server's.
  if (error instanceof ProtocolError && error.data instanceof ResultTooLarge) {
    return new UpstreamError('UPSTREAM_RESULT_TOO_LARGE', error.data.message);
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

/**
 * The reason a connection is aborted with when the hub gives up on it (an unresponsive server):
 * the SDK hands an SdkError reason as it is to every request still pending, so each of those
 * calls fails with `error` itself (toUpstreamError) rather than a generic "connection closed".
 */
export function abandonedReason(error: UpstreamError): SdkError {
  return new SdkError(SdkErrorCode.ConnectionClosed, error.message, error);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An error as a log line may carry it: message and stack redacted (the stack starts with the
 * message), the cause's message too, since undici hides the useful part of "fetch failed" there.
 */
export function loggable(error: unknown): {
  type: string;
  message: string;
  stack?: string;
  cause?: string;
} {
  if (!(error instanceof Error)) return { type: typeof error, message: redact(String(error)) };
  return {
    type: error.name,
    message: redact(error.message),
    ...(error.stack !== undefined && { stack: redact(error.stack) }),
    ...(error.cause !== undefined && { cause: redact(messageOf(error.cause)) }),
  };
}
