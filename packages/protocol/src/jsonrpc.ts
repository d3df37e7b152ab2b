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
 * error code to answer with, what the frame was meant to be (`shape`) and — for a request whose
 * id could be read — that id, so the answer reaches the caller; otherwise the answer goes to
 * `id: null`.
 */
export type Classified =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'response'; message: JsonRpcResponse }
  | Invalid;

/**
 * What a frame was meant to be, read from its members alone: a `method` and an `id` make a
 * request, a `method` alone a notification, no `method` but an `id`, `result` or `error` a
 * response. Only a request (and a frame that is none of these) may be answered: answering a
 * notification breaks JSON-RPC, and answering a response lets two peers ping-pong forever.
 */
export type FrameShape = 'request' | 'notification' | 'response' | 'unknown';

export interface Invalid {
  kind: 'invalid';
  reason: string;
  raw: string;
  code:
    typeof ErrorCode.ParseError | typeof ErrorCode.InvalidRequest | typeof ErrorCode.InvalidParams;
  shape: FrameShape;
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
      shape: 'unknown',
    };
  }
  return classifyMessage(value, raw);
}

/** The same verdict as `JsonRpcIdSchema`, without zod: the check every frame pays. */
export function isJsonRpcId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || Number.isSafeInteger(value);
}

/**
 * The verdict on one parsed message. A well-formed message is recognised by plain structural
 * checks that accept exactly what the schemas above accept, and is built as they would build it
 * (unknown members left out); only a frame those checks do not accept is handed to zod, which
 * decides it and words the reason.
 */
export function classifyMessage(value: unknown, raw?: string): Classified {
  const invalid = (
    reason: string,
    shape: FrameShape,
    code: Invalid['code'] = ErrorCode.InvalidRequest,
  ): Invalid => ({
    kind: 'invalid',
    reason,
    raw: raw ?? safeStringify(value),
    code,
    shape,
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // Batches are not used by Xiaozhi; treating them as invalid keeps the referee strict.
    return invalid('not a JSON-RPC object', 'unknown');
  }
  const record = value as Record<string, unknown>;
  const hasMethod = 'method' in record;
  const hasId = 'id' in record;
  const shape: FrameShape = hasMethod
    ? hasId
      ? 'request'
      : 'notification'
    : hasId || 'result' in record || 'error' in record
      ? 'response'
      : 'unknown';
  const id = record.id;
  const withId = (verdict: Invalid): Invalid => (isJsonRpcId(id) ? { ...verdict, id } : verdict);
  if (record.jsonrpc !== '2.0') return withId(invalid('jsonrpc is not "2.0"', shape));
  switch (shape) {
    case 'request': {
      const { method, params } = record;
      if (isJsonRpcId(id) && typeof method === 'string' && isParams(params)) {
        const message: JsonRpcRequest = { jsonrpc: '2.0', id, method };
        if (params !== undefined) message.params = params;
        return { kind: 'request', message };
      }
      const parsed = JsonRpcRequestSchema.safeParse(record);
      if (parsed.success) return { kind: 'request', message: parsed.data };
      const badParams = parsed.error.issues[0]?.path[0] === 'params';
      return withId(
        invalid(
          `bad request: ${firstIssue(parsed.error)}`,
          shape,
          badParams ? ErrorCode.InvalidParams : ErrorCode.InvalidRequest,
        ),
      );
    }
    case 'notification': {
      const { method, params } = record;
      if (typeof method === 'string' && isParams(params)) {
        const message: JsonRpcNotification = { jsonrpc: '2.0', method };
        if (params !== undefined) message.params = params;
        return { kind: 'notification', message };
      }
      const parsed = JsonRpcNotificationSchema.safeParse(record);
      return parsed.success
        ? { kind: 'notification', message: parsed.data }
        : invalid(`bad notification: ${firstIssue(parsed.error)}`, shape);
    }
    case 'response':
      return classifyResponse(record, invalid);
    default:
      return invalid('neither request, notification nor response', shape);
  }
}

function classifyResponse(
  record: Record<string, unknown>,
  invalid: (reason: string, shape: FrameShape) => Invalid,
): Classified {
  const id = record.id;
  if ('result' in record && 'error' in record) {
    return invalid('response has both result and error', 'response');
  }
  if ('result' in record) {
    if (isJsonRpcId(id)) {
      return { kind: 'response', message: { jsonrpc: '2.0', id, result: record.result } };
    }
    const parsed = JsonRpcSuccessSchema.safeParse(record);
    return parsed.success
      ? { kind: 'response', message: parsed.data }
      : invalid(`bad response: ${firstIssue(parsed.error)}`, 'response');
  }
  if ('error' in record) {
    const error = record.error as Record<string, unknown> | null;
    if (
      (id === null || isJsonRpcId(id)) &&
      typeof error === 'object' &&
      error !== null &&
      !Array.isArray(error) &&
      Number.isSafeInteger(error.code) &&
      typeof error.message === 'string'
    ) {
      const object: JsonRpcErrorObject = { code: error.code as number, message: error.message };
      if ('data' in error) object.data = error.data;
      return { kind: 'response', message: { jsonrpc: '2.0', id, error: object } };
    }
    const parsed = JsonRpcFailureSchema.safeParse(record);
    return parsed.success
      ? { kind: 'response', message: parsed.data }
      : invalid(`bad error response: ${firstIssue(parsed.error)}`, 'response');
  }
  return invalid('neither request, notification nor response', 'response');
}

/** The same verdict as the params schema: absent, or an object or an array. */
function isParams(value: unknown): boolean {
  return value === undefined || (typeof value === 'object' && value !== null);
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
