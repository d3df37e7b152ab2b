import { createHash } from 'node:crypto';
import { isJSONRPCRequest } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import type { Link } from '@tether/link';
import { classifyFrame, ErrorCode } from '@tether/protocol';
import type { Classified, Invalid, JsonRpcId, JsonRpcRequest } from '@tether/protocol';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';

/** How often, at most, a flood of one kind of warning writes a summary line. */
export const LOG_SUMMARY_INTERVAL_MS = 10_000;

/** The most of a frame, or of an error's message, that a log line quotes. */
const QUOTED_CHARS = 200;
const QUOTED_ERROR_CHARS = 1_000;

/**
 * Warnings an endpoint can cause at will — a malformed frame, a refused call, an error the MCP
 * SDK reports — without letting it write a log line per frame. Per kind, the first is written
 * at once; the ones that follow within `intervalMs` are counted and written as one summary line
 * (the last of them, with `suppressed: n`) when that time is up, and so on while they keep
 * coming. A kind that has been quiet for `intervalMs` is written at once again. One per session,
 * shared by the transports of its sockets.
 */
export class LogLimiter {
  /** Made at the first warning: most sessions never have one. */
  private kinds: Map<string, Window> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = LOG_SUMMARY_INTERVAL_MS,
  ) {}

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const kinds = (this.kinds ??= new Map());
    const window = kinds.get(kind);
    if (!window || (now >= window.until && !window.timer)) {
      this.logger.warn(fields, message);
      kinds.set(kind, { since: now, until: now + this.intervalMs, suppressed: 0 });
      return;
    }
    window.suppressed++;
    window.last = { fields, message };
    if (!window.timer) {
      window.timer = setTimeout(() => this.summarise(kind), Math.max(0, window.until - now));
      window.timer.unref?.();
    }
  }

  /** Writes what is still counted (the session is stopping) and stops the timers. */
  flush(): void {
    if (!this.kinds) return;
    for (const [kind, window] of this.kinds) if (window.timer) this.summarise(kind);
  }

  private summarise(kind: string): void {
    const window = this.kinds?.get(kind);
    if (!this.kinds || !window) return;
    clearTimeout(window.timer);
    window.timer = undefined;
    const now = Date.now();
    if (window.suppressed > 0 && window.last) {
      const seconds = Math.max(1, Math.round((now - window.since) / 1000));
      this.logger.warn(
        { ...window.last.fields, suppressed: window.suppressed },
        `${window.last.message} (${window.suppressed} more like it in ${seconds} s, not logged one by one)`,
      );
    }
    // The summary opens a new window: a flood goes on costing one line per interval.
    this.kinds.set(kind, { since: now, until: now + this.intervalMs, suppressed: 0 });
  }
}

interface Window {
  since: number;
  until: number;
  suppressed: number;
  last?: { fields: Record<string, unknown>; message: string };
  timer?: NodeJS.Timeout;
}

/**
 * What the call path (endpoint/server.ts, answerToolCall) needs of the socket a `tools/call`
 * came in on. Calls are answered here, beside the MCP SDK's server rather than through it, so a
 * call costs a parse, the upstream request and a write (docs/architecture.md, "The call path").
 */
export interface CallSocket {
  /**
   * The controller of call `id`: aborted when this socket closes or the endpoint sends
   * `notifications/cancelled` for it. Already aborted when the socket is gone.
   */
  track(id: JsonRpcId): AbortController;
  /** The call is over, or became a job: this socket's end no longer concerns it. */
  untrack(controller: AbortController): void;
  result(id: JsonRpcId, result: unknown): void;
  error(id: JsonRpcId, code: number, message: string): void;
  notify(method: string, params: unknown): void;
}

/**
 * The MCP SDK's Transport over one socket of a link: one instance per socket generation.
 * Replies go out only on the socket their request came in on — `link.send(data, generation)`
 * refuses a later socket — so a result computed for a dead socket is dropped, never delivered
 * into the next session.
 */
export class LinkTransport implements Transport, CallSocket {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly detach: () => void;
  private readonly warnings: LogLimiter;
  private closed = false;
  /** Frames that arrive before the SDK has started the transport wait here, in order. */
  private early: Array<[string | Uint8Array, boolean]> | undefined = [];
  /** The calls this socket carries, by controller (an endpoint may reuse an id). */
  private readonly calls = new Map<AbortController, JsonRpcId>();

  constructor(
    private readonly link: Link,
    readonly generation: number,
    logger: Logger,
    private readonly hooks: {
      onRequest?: (method: string) => void;
      /**
       * The first frame arrived before start(): the moment to make the MCP server that starts
       * this transport (it then reads that frame first).
       */
      onFirstFrame?: () => void;
      /** The session's limiter, so that a new socket does not start the counts afresh. */
      warnings?: LogLimiter;
      /** Every `tools/call`: answered on this socket (CallSocket), never given to the SDK. */
      onToolCall?: (request: JsonRpcRequest, socket: CallSocket) => void;
    } = {},
  ) {
    this.warnings = hooks.warnings ?? new LogLimiter(logger);
    // Subscribed from the start: the endpoint speaks first, maybe before the SDK is attached.
    this.detach = this.link.on('message', (data, meta) => {
      if (meta.generation !== this.generation) return;
      if (!this.early) return this.receive(data, meta.binary);
      this.early.push([data, meta.binary]);
      if (this.early.length === 1) this.hooks.onFirstFrame?.();
    });
  }

  async start(): Promise<void> {
    const early = this.early ?? [];
    this.early = undefined;
    for (const [data, binary] of early) this.receive(data, binary);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.write(serialise(message), (message as { id?: unknown }).id);
  }

  track(id: JsonRpcId): AbortController {
    const controller = new AbortController();
    if (this.closed) controller.abort(new Error('endpoint socket closed'));
    else this.calls.set(controller, id);
    return controller;
  }

  untrack(controller: AbortController): void {
    this.calls.delete(controller);
  }

  result(id: JsonRpcId, result: unknown): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, result }), id);
  }

  error(id: JsonRpcId, code: number, message: string): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }), id);
  }

  notify(method: string, params: unknown): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', method, params }), undefined);
  }

  /** Out on this socket only: a later socket of the link refuses it (see the class comment). */
  private write(text: string, id: unknown): void {
    if (!this.closed && this.link.send(text, this.generation)) return;
    this.warnings.warn(
      'reply-dropped',
      { generation: this.generation, id },
      'dropped a message: its socket is gone',
    );
  }

  /** `notifications/cancelled` for a call of this socket: true when it was one. */
  private cancel(params: unknown): boolean {
    const id = isObject(params) ? params.requestId : undefined;
    let found = false;
    for (const [controller, callId] of this.calls) {
      if (callId !== id) continue;
      found = true;
      this.calls.delete(controller);
      // The endpoint's words, cut short: they travel on to the server and into the log.
      const given = isObject(params) && typeof params.reason === 'string' ? params.reason : '';
      const reason = given.length > 200 ? `${given.slice(0, 200)}…` : given;
      controller.abort(new Error(`cancelled by the endpoint${reason ? `: ${reason}` : ''}`));
    }
    return found;
  }

  async close(): Promise<void> {
    this.socketGone();
  }

  /** The socket this transport belongs to is closed: the SDK aborts every call it carried. */
  socketGone(): void {
    if (this.closed) return;
    this.closed = true;
    this.early = undefined;
    this.detach();
    for (const controller of this.calls.keys())
      controller.abort(new Error('endpoint socket closed'));
    this.calls.clear();
    this.onclose?.();
  }

  /**
   * An error the MCP SDK reports (its `onerror`): a response to an id never sent, a message it
   * could not place, a reply it could not send. Logged, rate-limited, quoting at most the start
   * of what the endpoint sent, redacted.
   */
  reportError(error: Error): void {
    this.warnings.warn(
      'sdk-error',
      { generation: this.generation, err: quotable(error) },
      'the MCP server reported an error',
    );
  }

  /**
   * Every request gets one answer, even one the SDK would drop: a frame that is not JSON gets
   * -32700, a request with an unusable id (1.5, 1e308, 2^64) -32600 to `id: null`, params that
   * are not an object — or a `_meta` or progress token the SDK would refuse — -32602 to the
   * request's own id. Notifications and responses are never answered, however malformed.
   * Either way there is a (rate-limited) log line and the socket stays up. Each frame is parsed
   * once, here; the SDK gets the parsed message.
   */
  private receive(data: string | Uint8Array, binary: boolean): void {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    const read = classifyFrame(text);
    const frame: Classified = binary ? binaryFrame(read, text) : read;
    if (frame.kind === 'invalid') {
      this.refuse(frame, text);
      return;
    }
    if (frame.kind === 'request') {
      const problem = envelopeProblem(frame.message);
      if (problem) {
        this.refuse(
          {
            kind: 'invalid',
            reason: problem,
            raw: text,
            code: ErrorCode.InvalidParams,
            shape: 'request',
            id: frame.message.id,
          },
          text,
        );
        return;
      }
      this.hooks.onRequest?.(frame.message.method);
      if (frame.message.method === 'tools/call' && this.hooks.onToolCall) {
        this.hooks.onToolCall(frame.message, this);
        return;
      }
    } else if (
      frame.kind === 'notification' &&
      frame.message.method === 'notifications/cancelled' &&
      this.cancel(frame.message.params)
    ) {
      return;
    }
    this.onmessage?.(frame.message as JSONRPCMessage);
  }

  /** Logs a bad frame and, when it was a request (or nothing recognisable), answers it. */
  private refuse(frame: Invalid, text: string): void {
    // Answering a response could start two peers answering each other forever.
    const answer = frame.shape === 'request' || frame.shape === 'unknown';
    this.warnings.warn(
      `malformed-${frame.shape}`,
      {
        reason: frame.reason,
        code: frame.code,
        shape: frame.shape,
        answered: answer,
        frame: quote(text, QUOTED_CHARS),
      },
      answer
        ? 'malformed frame from endpoint: answered with an error'
        : `malformed ${frame.shape} from endpoint: dropped, not answered`,
    );
    if (!answer) return;
    this.reply(frame.id ?? null, frame.code, `${TITLES[frame.code]}: ${frame.reason}`);
  }

  private reply(id: JsonRpcId | null, code: number, message: string): void {
    this.link.send(
      JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }),
      this.generation,
    );
  }
}

/**
 * Tool sets as the endpoints are sent them, shared by every session that serves the same one.
 * A set is known by the identity of its tool objects — the catalog builds fresh ones at every
 * change and never alters them — so 1,000 endpoints with the same tools cost one JSON text and
 * one digest, computed once per catalog change instead of once per session, handshake or
 * tools-changed check. Sets are filed under their first tool, weakly: once a catalog change has
 * replaced the tools and no session holds the old ones, their texts go with them.
 */
export class ToolSets {
  private readonly byFirst = new WeakMap<object, ToolSetEntry[]>();

  /** Sets kept per first tool (endpoints whose filters differ further down). */
  constructor(private readonly perFirst = 8) {}

  /** The JSON text of the array of these tools, exactly as JSON.stringify writes it. */
  json(tools: readonly object[]): string {
    return this.entry(tools).json;
  }

  /** A digest of the set, not the set itself: thousands of endpoints keep 40 bytes each. */
  digest(tools: readonly object[]): string {
    const entry = this.entry(tools);
    return (entry.digest ??= createHash('sha1').update(entry.json).digest('hex'));
  }

  private entry(tools: readonly object[]): ToolSetEntry {
    const first = tools[0];
    if (typeof first !== 'object' || first === null) return { tools, json: JSON.stringify(tools) };
    let list = this.byFirst.get(first);
    if (!list) this.byFirst.set(first, (list = []));
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (!sameItems(entry.tools, tools)) continue;
      if (i > 0) {
        list.splice(i, 1);
        list.unshift(entry);
      }
      return entry;
    }
    // A copy: the caller's array may be reused or grown (tools/list appends tether__result).
    const entry: ToolSetEntry = { tools: tools.slice(), json: JSON.stringify(tools) };
    list.unshift(entry);
    if (list.length > this.perFirst) list.pop();
    return entry;
  }
}

interface ToolSetEntry {
  tools: readonly object[];
  json: string;
  digest?: string;
}

function sameItems(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The process's tool sets: every session's fingerprint and every tools/list reply. */
export const toolSets = new ToolSets();

/**
 * A message as JSON text. A tools/list reply — `{result: {tools: […]}, jsonrpc, id}`, the one
 * large message every handshake sends — takes its tools' text from `toolSets`, so the same tool
 * set is not serialised again for each of a thousand endpoints. The text is the same as
 * JSON.stringify(message) gives; any other message is given to JSON.stringify.
 */
function serialise(message: JSONRPCMessage): string {
  const result = (message as { result?: unknown }).result;
  if (!isPlain(result) || !Array.isArray(result.tools) || !isPlain(message)) {
    return JSON.stringify(message);
  }
  const tools = result.tools as object[];
  return stringifyWith(message, (key) =>
    key === 'result'
      ? stringifyWith(result, (k) => (k === 'tools' ? toolSets.json(tools) : undefined))
      : undefined,
  );
}

/**
 * JSON.stringify of a plain object, with the text of some members given by `special`
 * (undefined: JSON.stringify's own). Members whose value JSON leaves out are left out.
 */
function stringifyWith(
  object: Record<string, unknown>,
  special: (key: string) => string | undefined,
): string {
  let out = '{';
  for (const key of Object.keys(object)) {
    const text = special(key) ?? (JSON.stringify(object[key]) as string | undefined);
    if (text === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}

/** An object JSON.stringify writes member by member: no toJSON, a plain prototype. */
function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  );
}

const TITLES: Record<number, string> = {
  [ErrorCode.ParseError]: 'Parse error',
  [ErrorCode.InvalidRequest]: 'Invalid Request',
  [ErrorCode.InvalidParams]: 'Invalid params',
};

/** A binary frame is refused, answered (to `id: null`) only if it would have been as text. */
function binaryFrame(read: Classified, text: string): Invalid {
  return {
    kind: 'invalid',
    reason: 'binary frame',
    raw: text,
    code: ErrorCode.InvalidRequest,
    shape: read.kind === 'invalid' ? read.shape : read.kind,
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Why the MCP SDK would not take this request, if it would not. The SDK drops a request whose
 * params are not an object (an array), whose `_meta` is not an object or whose progress token
 * is neither a string nor an integer, telling only its `onerror` — so the endpoint would wait
 * for an answer that never comes. Plain checks cover what endpoints send; a reserved
 * `io.modelcontextprotocol/…` key in `_meta` (rare) is left to the SDK's own schema to judge.
 */
function envelopeProblem(request: JsonRpcRequest): string | undefined {
  const params = request.params;
  if (params === undefined) return undefined;
  if (!isObject(params)) return 'params must be an object';
  if (!('_meta' in params)) return undefined;
  const meta = params._meta;
  if (!isObject(meta)) return 'params._meta must be an object';
  const token = meta.progressToken;
  if (token !== undefined && typeof token !== 'string' && !Number.isSafeInteger(token))
    return 'params._meta.progressToken must be a string or an integer';
  for (const key in meta) {
    if (key.startsWith('io.modelcontextprotocol/')) {
      return isJSONRPCRequest(request)
        ? undefined
        : `params._meta does not fit an MCP request (${key})`;
    }
  }
  return undefined;
}

/** The start of a text for a log line, redacted before it is cut so no secret is half-shown. */
function quote(text: string, chars: number): string {
  const shown = redact(text.length > chars * 4 ? text.slice(0, chars * 4) : text);
  return shown.length > chars ? `${shown.slice(0, chars)}…` : shown;
}

/**
 * An error fit for a log line: its message (which may quote a whole frame, megabytes of it) cut
 * to its start, redacted, and its stack's frames without the message repeated.
 */
function quotable(error: Error): Error {
  const message = quote(error.message, QUOTED_ERROR_CHARS);
  if (message === error.message) return error;
  const out = new Error(message);
  out.name = error.name;
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  out.stack = [`${error.name}: ${message}`, ...frames].join('\n');
  return out;
}
