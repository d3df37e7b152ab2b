import { ProtocolErrorCode } from '@modelcontextprotocol/client';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/client';
import { UpstreamError } from './types.js';

export const DEFAULT_MAX_RESULT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_ARGUMENTS_BYTES = 1024 * 1024;

/*
 * What the hub keeps of one server's tools/list (tool-list.ts). Past any of these the tools that
 * fit are kept, the rest are left out, and the server's lastError and a warning say which and
 * why. Each page is already bounded by the result limit; these bound the walk and what it keeps.
 */
/** Pages of tools/list walked; a server whose nextCursor never ends stops here. */
export const MAX_TOOL_PAGES = 100;
/** Tools kept per server: far more than any model can choose from. */
export const MAX_TOOLS_PER_SERVER = 2_000;
/** The longest tool name kept, in characters; exposed names are cut to 64 anyway. */
export const MAX_TOOL_NAME_CHARS = 128;
/** The largest tool kept, in bytes of JSON (name, description and schemas). */
export const MAX_TOOL_BYTES = 64 * 1024;
/** All of one server's tools together, in bytes of JSON. */
export const MAX_TOOL_LIST_BYTES = 8 * 1024 * 1024;
/** The longest nextCursor followed, in characters; each is sent back and remembered. */
export const MAX_CURSOR_CHARS = 4_096;

/**
 * Rides in the `data` of the JSON-RPC error the hub makes up for a result it refused to read, so
 * that the call fails through the SDK's own path (timers and progress handlers cleared, the
 * pending request settled). Only JSON ever arrives from a server, so no server can forge an
 * instance of this class: errors.ts maps exactly these to UPSTREAM_RESULT_TOO_LARGE.
 */
export class ResultTooLarge {
  constructor(
    readonly limit: number,
    /** The size, when it is known (a stream cut off at the limit only knows it is larger). */
    readonly bytes?: number,
  ) {}

  get message(): string {
    const size = this.bytes === undefined ? 'larger than' : `${sizeOf(this.bytes)}, over`;
    return (
      `the result is ${size} the ${sizeOf(this.limit)} limit, and was dropped; ` +
      'raise hub.limits.resultBytes to accept larger results'
    );
  }
}

/** The error response that fails request `id` with `marker`; delivered as if the server sent it. */
export function tooLargeResponse(id: RequestId, marker: ResultTooLarge): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: ProtocolErrorCode.InternalError, message: marker.message, data: marker },
  };
}

/**
 * Refuses a message bigger than `limit` bytes of UTF-8 before it is sent. The text is already
 * serialised (by the SDK or the stdio transport), so this costs no second JSON.stringify, and its
 * length alone settles most cases: each UTF-16 unit is at least one byte and at most three.
 */
export function refuseLargeArguments(text: string, limit: number): void {
  if (text.length * 3 <= limit) return;
  if (text.length <= limit && Buffer.byteLength(text, 'utf8') <= limit) return;
  throw new UpstreamError(
    'UPSTREAM_ARGUMENTS_TOO_LARGE',
    `the call's arguments are larger than the ${sizeOf(limit)} limit, so nothing was sent; ` +
      'send smaller arguments or raise hub.limits.argumentsBytes',
  );
}

const STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const PRIMITIVE = String.raw`(?:${STRING}|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)`;
const MEMBER = String.raw`${STRING}\s*:\s*${PRIMITIVE}`;
/** One `"key": primitive` member and what follows it; sticky, so members are read in a row. */
const NEXT_MEMBER = new RegExp(String.raw`\s*(${STRING})\s*:\s*(${PRIMITIVE})\s*(,|\}|$)`, 'y');
/** The object's last members, when they are all primitives, up to its closing brace. */
const TRAILING = new RegExp(String.raw`[{,]\s*(${MEMBER}(?:\s*,\s*${MEMBER})*)\s*\}\s*$`);

/**
 * The id of the response whose JSON starts with `head` and ends with `tail` (the middle was
 * never kept). Servers put the envelope's members (`jsonrpc`, `id`) before the result or after
 * it, so the top-level primitive members at either end are read. Undefined when no id shows, or
 * when a `method` does: a request from the server has an id too, from the server's own id space,
 * and must not fail a call of ours that happens to share it.
 */
export function responseIdOf(head: string, tail: string): RequestId | undefined {
  const members = new Map<string, unknown>();
  const start = /^\s*\{/.exec(head);
  if (start !== null) readMembers(head, start[0].length, members);
  const end = TRAILING.exec(tail);
  if (end?.[1] !== undefined) readMembers(end[1], 0, members);
  if (members.has('method')) return undefined;
  const id = members.get('id');
  if (typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id))) return id;
  return undefined;
}

function readMembers(text: string, from: number, into: Map<string, unknown>): void {
  NEXT_MEMBER.lastIndex = from;
  for (;;) {
    const match = NEXT_MEMBER.exec(text);
    if (match === null) return;
    into.set(JSON.parse(match[1] as string) as string, JSON.parse(match[2] as string));
    if (match[3] !== ',') return;
  }
}

/** Ids of the requests in a JSON-RPC message or batch as sent (the body of an HTTP POST). */
export function requestIdsOf(sent: string): RequestId[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(sent);
  } catch {
    return [];
  }
  const ids: RequestId[] = [];
  for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
    if (typeof message !== 'object' || message === null || !('method' in message)) continue;
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') ids.push(id);
  }
  return ids;
}

const KIB = 1024;
const MIB = 1024 * 1024;

/** `8 MiB`, `512 KiB`, `19.1 MiB`, `900 bytes`: for messages a person reads. */
export function sizeOf(bytes: number): string {
  if (bytes >= MIB) return `${trim(bytes / MIB)} MiB`;
  if (bytes >= KIB) return `${trim(bytes / KIB)} KiB`;
  return `${bytes} bytes`;
}

const trim = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
