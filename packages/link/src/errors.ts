/** Local errors carry a string code, like ws's `WS_ERR_*`, so callers branch without parsing text. */
export type LinkErrorCode = 'LINK_CLOSED' | 'LINK_NO_WEBSOCKET' | 'LINK_ABORTED';

export class LinkError extends Error {
  constructor(
    readonly code: LinkErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

export function isLinkError(error: unknown, code?: LinkErrorCode): error is LinkError {
  return error instanceof LinkError && (code === undefined || error.code === code);
}
