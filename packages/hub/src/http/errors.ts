import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { HubError } from '../hub.js';
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
};
const UPSTREAM_STATUS: Record<string, ContentfulStatusCode> = {
  UPSTREAM_UNKNOWN_TOOL: 404,
  UPSTREAM_TIMEOUT: 504,
};

/** The one mapper from local errors (string codes) to HTTP answers. */
export function answerError(c: Context, error: unknown) {
  if (error instanceof HubError)
    return failure(c, HUB_STATUS[error.code], error.code, error.message);
  if (error instanceof UpstreamError)
    return failure(c, UPSTREAM_STATUS[error.code] ?? 502, error.code, error.message);
  if (isStoreError(error))
    return failure(c, error.code === 'STORE_INVALID' ? 400 : 503, error.code, error.message);
  return failure(c, 500, 'INTERNAL', (error as Error).message ?? String(error));
}

/** Reads and validates a JSON body; answers 400 with every issue when it does not fit. */
export async function body<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<z.output<T> | Response> {
  let value: unknown;
  try {
    value = await c.req.json();
  } catch {
    return failure(c, 400, 'BAD_REQUEST', 'the body must be JSON');
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    path: i.path.join('.') || '(body)',
    message: i.message,
  }));
  return failure(
    c,
    400,
    'BAD_REQUEST',
    issues.map((i) => `${i.path}: ${i.message}`).join('; '),
    issues,
  );
}
