import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HubError } from '../hub/errors.js';
import { redact } from '../log/redact.js';
import { isStoreError } from '../store/index.js';
import { UpstreamError } from '../upstream/types.js';

/** One error shape for every route: `{ error: { code, message, details? } }`. */
export function failure(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details?: unknown,
) {
  return c.json(
    { error: { code, message, ...(details !== undefined ? { details } : {}) } },
    status,
  );
}

const HUB_STATUS: Record<HubError['code'], ContentfulStatusCode> = {
  NOT_FOUND: 404,
  READ_ONLY: 409,
  CONFLICT: 409,
  NO_STORE: 503,
  OWNER_UNREACHABLE: 503,
};
const UPSTREAM_STATUS: Record<string, ContentfulStatusCode> = {
  UPSTREAM_UNKNOWN_TOOL: 404,
  // Down for now and coming back: the message says when.
  UPSTREAM_RESTARTING: 503,
  UPSTREAM_UNRESPONSIVE: 503,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_ARGUMENTS_TOO_LARGE: 413,
};

/** The one mapper from local errors (string codes) to HTTP answers. */
export function answerError(c: Context, error: unknown) {
  // A body stream cut by the size limit surfaces here when a handler was reading it.
  if (error instanceof HTTPException) return failure(c, error.status, 'HTTP', error.message);
  const message = redact((error as Error)?.message ?? String(error));
  if (error instanceof HubError) return failure(c, HUB_STATUS[error.code], error.code, message);
  if (error instanceof UpstreamError)
    return failure(c, UPSTREAM_STATUS[error.code] ?? 502, error.code, message);
  if (isStoreError(error))
    return failure(c, error.code === 'STORE_INVALID' ? 400 : 503, error.code, message);
  return failure(c, 500, 'INTERNAL', message);
}
