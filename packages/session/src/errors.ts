/** Local errors carry a string code, so callers branch without parsing text. */
export type SessionErrorCode =
  /** The client was closed (by the app, or replaced by another connection). */
  | 'SESSION_CLOSED'
  /** The server refused a frame or broke the protocol. */
  | 'SESSION_PROTOCOL';

export class SessionError extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

export function isSessionError(error: unknown, code?: SessionErrorCode): error is SessionError {
  return error instanceof SessionError && (code === undefined || error.code === code);
}
