import { z } from 'zod';

/**
 * JSON-RPC 2.0 as Xiaozhi endpoints speak it: one object per text frame.
 *
 * Ids are opaque. The official endpoint counts integers from 0, the self-hosted relay rewrites
 * them to strings such as "<uuid>_n_1"; either must be echoed back exactly, so an id is kept as
 * the value that arrived and never coerced.
 */
export const JsonRpcIdSchema = z.union([
  z.string(),
  // 1.5, 1e308 or 2^64 would not come back as the same id: refused, not coerced.
  z.number().refine(Number.isSafeInteger, 'a numeric id must be an integer (within ±2^53)'),
]);
export type JsonRpcId = z.infer<typeof JsonRpcIdSchema>;

/** JSON-RPC params are structured: an object or an array, never a bare value. */
const ParamsSchema = z
  .unknown()
  .optional()
  .refine((v): boolean => v === undefined || (typeof v === 'object' && v !== null), {
    message: 'params must be an object or an array',
  });

export const JsonRpcRequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: JsonRpcIdSchema,
  method: z.string(),
  params: ParamsSchema,
});
export type JsonRpcRequest = z.infer<typeof JsonRpcRequestSchema>;

export const JsonRpcNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string(),
  params: ParamsSchema,
});
export type JsonRpcNotification = z.infer<typeof JsonRpcNotificationSchema>;

export const JsonRpcErrorObjectSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});
export type JsonRpcErrorObject = z.infer<typeof JsonRpcErrorObjectSchema>;

export const JsonRpcSuccessSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: JsonRpcIdSchema,
  result: z.unknown(),
});
export type JsonRpcSuccess = z.infer<typeof JsonRpcSuccessSchema>;

export const JsonRpcFailureSchema = z.object({
  jsonrpc: z.literal('2.0'),
  // null is legal only when the request id could not be read (a parse error).
  id: JsonRpcIdSchema.nullable(),
  error: JsonRpcErrorObjectSchema,
});
export type JsonRpcFailure = z.infer<typeof JsonRpcFailureSchema>;

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/** Standard JSON-RPC error codes, plus the ones Xiaozhi endpoints are known to use. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The self-hosted relay's answer to a robot when no tool provider is connected. */
  NoProvider: -32001,
} as const;

/**
 * What a frame turned out to be. `invalid` carries a reason fit for a log line, the JSON-RPC
 * error code to answer with, and — for a request whose id could be read — that id, so the
 * answer reaches the caller; otherwise the answer goes to `id: null`.
 */
export type Classified =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'response'; message: JsonRpcResponse }
  | Invalid;

export interface Invalid {
  kind: 'invalid';
  reason: string;
  raw: string;
  code:
    typeof ErrorCode.ParseError | typeof ErrorCode.InvalidRequest | typeof ErrorCode.InvalidParams;
  /** Set when the frame was a request with a usable id. */
  id?: JsonRpcId;
}

/**
 * Reads one WebSocket text frame. Never throws: a malformed frame is a value the caller can
 * log, count and answer, not an exception on the receive path.
 */
export function classifyFrame(raw: string): Classified {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return {
      kind: 'invalid',
      reason: `not JSON: ${(error as Error).message}`,
      raw,
      code: ErrorCode.ParseError,
    };
  }
  return classifyMessage(value, raw);
}

export function classifyMessage(value: unknown, raw = safeStringify(value)): Classified {
  const invalid = (reason: string, code: Invalid['code'] = ErrorCode.InvalidRequest): Invalid => ({
    kind: 'invalid',
    reason,
    raw,
    code,
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // Batches are not used by Xiaozhi; treating them as invalid keeps the referee strict.
    return invalid('not a JSON-RPC object');
  }
  const record = value as Record<string, unknown>;
  const id = JsonRpcIdSchema.safeParse(record.id);
  if (record.jsonrpc !== '2.0')
    return { ...invalid('jsonrpc is not "2.0"'), ...(id.success && { id: id.data }) };
  if ('method' in record) {
    if ('id' in record) {
      const parsed = JsonRpcRequestSchema.safeParse(record);
      if (parsed.success) return { kind: 'request', message: parsed.data };
      const params = parsed.error.issues[0]?.path[0] === 'params';
      return {
        ...invalid(
          `bad request: ${firstIssue(parsed.error)}`,
          params ? ErrorCode.InvalidParams : ErrorCode.InvalidRequest,
        ),
        ...(id.success && { id: id.data }),
      };
    }
    const parsed = JsonRpcNotificationSchema.safeParse(record);
    return parsed.success
      ? { kind: 'notification', message: parsed.data }
      : invalid(`bad notification: ${firstIssue(parsed.error)}`);
  }
  if ('result' in record && 'error' in record) {
    return invalid('response has both result and error');
  }
  if ('result' in record) {
    const parsed = JsonRpcSuccessSchema.safeParse(record);
    return parsed.success
      ? { kind: 'response', message: parsed.data }
      : invalid(`bad response: ${firstIssue(parsed.error)}`);
  }
  if ('error' in record) {
    const parsed = JsonRpcFailureSchema.safeParse(record);
    return parsed.success
      ? { kind: 'response', message: parsed.data }
      : invalid(`bad error response: ${firstIssue(parsed.error)}`);
  }
  return invalid('neither request, notification nor response');
}

export function isFailure(response: JsonRpcResponse): response is JsonRpcFailure {
  return 'error' in response;
}

/** Key for id-keyed maps that keeps 0 apart from "0": ids must round-trip with their type. */
export function idKey(id: JsonRpcId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
