import { Server } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, MessageExtraInfo, Transport } from '@modelcontextprotocol/server';
import { ErrorCode, idKey } from '@tether/protocol';
import type { JsonRpcId } from '@tether/protocol';
import { CALL_TOOL, FIND_TOOLS, findTools, routedCall } from '../endpoint/served.js';
import type { ServedTools } from '../endpoint/served.js';
import type { Logger } from '../log/logger.js';
import type { CallMeta } from '../store/types.js';
import type { CallOptions, ToolResult } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';
import { InvalidCursor, TOOLS_PAGE_SIZE, toolsPage } from './tools.js';

/** What a session serves and how it calls: the hub's, seen through one scope (all, or an endpoint). */
export interface McpSessionPorts {
  version: string;
  logger: Logger;
  /**
   * What this session lists and may call now (endpoint/served.ts): every tool, or one
   * endpoint's set — over that endpoint's budget, its pinned tools and the router's two.
   * Undefined once its scope is gone.
   */
  served(): ServedTools | undefined;
  /**
   * A call by exposed name, logged like the API's (CallRouter.call) with `meta`; a name this
   * session may not call is refused as unknown.
   */
  call(
    name: string,
    args: Record<string, unknown> | undefined,
    options: Partial<CallOptions>,
    meta: CallMeta,
  ): Promise<ToolResult>;
  /** Tool calls running at once; past it a call is refused at once with a tool error. */
  maxCalls(): number;
  /** Tools per `tools/list` page. Default TOOLS_PAGE_SIZE. */
  pageSize?: number;
  /**
   * A cancelled call is not answered (MCP); over HTTP its POST's event stream would then stay
   * open until the session ends, so the transport is asked to end it.
   */
  abandon?(id: JsonRpcId): void;
}

/** One call running for the client, by the request's id. */
interface Running {
  controller: AbortController;
  /** The HTTP request that carried it (several requests may share one POST). */
  carrier: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One MCP client's session, on any transport (Streamable HTTP at `/mcp`, stdio for `tether
 * mcp --config`). The SDK's Server answers the handshake, `ping`, unknown methods and every
 * notification; `tools/list` and `tools/call` are read off the transport before it sees them
 * and answered here, beside it, as the endpoint side does (endpoint/server.ts): the SDK would
 * check a call's result against its own content types, dropping a kind it does not know, and
 * rewrites some output schemas on the way out, where Tether passes both through untouched.
 *
 *   client ──▶ transport.onmessage ──▶ tools/list            ─▶ one page of the view
 *                                 ├──▶ tools/call            ─▶ ports.call ─▶ router ─▶ upstream
 *                                 ├──▶ cancelled (our calls) ─▶ abort ─▶ upstream notifications/cancelled
 *                                 └──▶ everything else       ─▶ the SDK's Server
 *   upstream progress ─▶ onProgress ─▶ notifications/progress with the client's own token
 */
export class McpSession {
  readonly server: Server;
  private readonly running = new Map<string, Running>();
  private ready = false;
  private closed = false;

  constructor(
    readonly transport: Transport,
    private readonly ports: McpSessionPorts,
  ) {
    this.server = new Server(
      { name: 'tether', version: ports.version },
      {
        capabilities: { tools: { listChanged: true } },
        instructions:
          'Tools of the MCP servers Tether supervises, named server__tool after the server that answers them.',
      },
    );
    this.server.oninitialized = () => {
      this.ready = true;
    };
  }

  /** Connects the SDK's server, then puts the tool path in front of it. */
  async start(): Promise<void> {
    await this.server.connect(this.transport);
    const sdk = this.transport.onmessage;
    this.transport.onmessage = (message, extra) => {
      if (!this.take(message, extra)) sdk?.call(this.transport, message, extra);
    };
    const onclose = this.transport.onclose;
    this.transport.onclose = () => {
      onclose?.call(this.transport);
      this.ended();
    };
  }

  /** The client's name and version from its `initialize`. */
  get client(): { name: string; version: string } | undefined {
    const info = this.server.getClientVersion();
    return info && { name: info.name, version: info.version };
  }

  /** Whether the client finished the handshake (notifications are sent only then). */
  get initialized(): boolean {
    return this.ready;
  }

  get callsInFlight(): number {
    return this.running.size;
  }

  /** Tells the client to list the tools again (its view changed). */
  toolsChanged(): void {
    if (!this.ready || this.closed) return;
    this.server.sendToolListChanged().catch((error: unknown) => this.debug(error, 'list_changed'));
  }

  /** Ends the session: every call it carried is cancelled upstream. */
  async close(): Promise<void> {
    this.ended();
    await this.server.close();
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { controller } of this.running.values())
      controller.abort(new Error('the MCP session ended'));
    this.running.clear();
  }

  /** The tool path: true when the message was one of its own. */
  private take(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): boolean {
    const m = message as { id?: unknown; method?: unknown; params?: unknown };
    if (m.method === 'notifications/cancelled') return this.cancel(m.params);
    if (m.id === undefined || (m.method !== 'tools/list' && m.method !== 'tools/call'))
      return false;
    const id = m.id as JsonRpcId;
    if (m.params !== undefined && !isObject(m.params)) {
      this.error(id, ErrorCode.InvalidParams, 'Invalid params: params must be an object');
      return true;
    }
    const params = m.params ?? {};
    if (m.method === 'tools/list') this.list(id, params);
    else this.call(id, params, extra?.request);
    return true;
  }

  private list(id: JsonRpcId, params: Record<string, unknown>): void {
    const cursor = params.cursor;
    if (cursor !== undefined && typeof cursor !== 'string')
      return this.error(id, ErrorCode.InvalidParams, 'Invalid params: cursor must be a string');
    const view = this.ports.served()?.listed ?? [];
    try {
      this.result(id, toolsPage(view, cursor, this.ports.pageSize ?? TOOLS_PAGE_SIZE));
    } catch (error) {
      if (!(error instanceof InvalidCursor)) throw error;
      this.error(id, ErrorCode.InvalidParams, error.message);
    }
  }

  private call(id: JsonRpcId, params: Record<string, unknown>, carrier: unknown): void {
    const { name, arguments: args, _meta: meta } = params;
    if (typeof name !== 'string')
      return this.error(id, ErrorCode.InvalidParams, 'Invalid params: name must be a string');
    if (args !== undefined && !isObject(args))
      return this.error(id, ErrorCode.InvalidParams, 'Invalid params: arguments must be an object');
    const token = isObject(meta) ? meta.progressToken : undefined;
    if (token !== undefined && typeof token !== 'string' && !Number.isSafeInteger(token))
      return this.error(id, ErrorCode.InvalidParams, 'Invalid params: bad progressToken');
    const key = idKey(id);
    if (this.running.has(key))
      return this.error(id, ErrorCode.InvalidRequest, 'a request with this id is still running');
    const cap = this.ports.maxCalls();
    if (this.running.size >= cap)
      return this.result(
        id,
        textResult(
          `Tether is already running ${cap} calls for this session (hub.limits.callsPerEndpoint); try again when one has finished.`,
        ),
      );
    const controller = new AbortController();
    this.running.set(key, { controller, carrier });
    const options: Partial<CallOptions> = { signal: controller.signal };
    if (token !== undefined)
      options.onProgress = (progress) => {
        if (!controller.signal.aborted)
          this.send(
            {
              jsonrpc: '2.0',
              method: 'notifications/progress',
              params: { ...progress, progressToken: token },
            } as JSONRPCMessage,
            id,
          );
      };
    void this.route(name, args as Record<string, unknown> | undefined, options)
      .then(
        (result) => {
          if (!controller.signal.aborted) this.result(id, result);
        },
        (error: unknown) => {
          if (!controller.signal.aborted) this.failed(id, name, error);
        },
      )
      .finally(() => {
        if (this.running.get(key)?.controller === controller) this.running.delete(key);
      });
  }

  /**
   * Where a call goes. Over an endpoint's budget the router's tools are answered as the
   * endpoint's are (endpoint/served.ts) — a search with no result budget, since an MCP client
   * takes what a device cannot — and every other name goes to the hub, which refuses what the
   * session may not call.
   */
  private route(
    name: string,
    args: Record<string, unknown> | undefined,
    options: Partial<CallOptions>,
  ): Promise<ToolResult> {
    const client = this.client?.name;
    const meta: CallMeta = { via: 'mcp', ...(client !== undefined && { client }) };
    const router = this.ports.served()?.router;
    if (router && name === FIND_TOOLS.name)
      return Promise.resolve(findTools(router, args, 0).result);
    if (router && name === CALL_TOOL.name) {
      const routed = routedCall(router, args);
      if ('refusal' in routed) return Promise.resolve(routed.refusal);
      return this.ports.call(routed.entry.name, routed.args, options, { ...meta, via: 'router' });
    }
    return this.ports.call(name, args, options, meta);
  }

  /**
   * How a failed call reaches the client: an unknown tool as MCP has it (-32602); the
   * upstream's own JSON-RPC error as it sent it; anything else — a timeout, a server that is
   * restarting — as a tool error the model can read, as endpoints get it (endpoint/calls.ts).
   */
  private failed(id: JsonRpcId, name: string, error: unknown): void {
    if (error instanceof UpstreamError && error.code === 'UPSTREAM_UNKNOWN_TOOL')
      return this.error(id, ErrorCode.InvalidParams, error.message);
    if (error instanceof UpstreamError && error.code === 'UPSTREAM_RPC_ERROR' && error.rpcCode)
      return this.error(id, error.rpcCode, error.message);
    const code = error instanceof UpstreamError ? error.code : 'UPSTREAM_ERROR';
    const message = error instanceof Error ? error.message : String(error);
    this.result(id, textResult(`${name} failed (${code}): ${message}`));
  }

  /** `notifications/cancelled` for one of our calls: true when it was one. */
  private cancel(params: unknown): boolean {
    const requestId = isObject(params) ? params.requestId : undefined;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return false;
    const key = idKey(requestId);
    const call = this.running.get(key);
    if (!call) return false;
    this.running.delete(key);
    const given = isObject(params) && typeof params.reason === 'string' ? params.reason : '';
    const reason = given.length > 200 ? `${given.slice(0, 200)}…` : given;
    call.controller.abort(new Error(`cancelled by the client${reason ? `: ${reason}` : ''}`));
    // The POST that carried it ends, unless it still carries another call.
    const shared = [...this.running.values()].some((r) => r.carrier === call.carrier);
    if (!shared) this.ports.abandon?.(requestId);
    return true;
  }

  private result(id: JsonRpcId, result: unknown): void {
    this.send({ jsonrpc: '2.0', id, result } as JSONRPCMessage, id);
  }

  private error(id: JsonRpcId, code: number, message: string): void {
    this.send({ jsonrpc: '2.0', id, error: { code, message } } as JSONRPCMessage, id);
  }

  /** Out on the stream of the request it belongs to (Streamable HTTP keeps one per POST). */
  private send(message: JSONRPCMessage, relatedRequestId: JsonRpcId): void {
    if (this.closed) return;
    this.transport
      .send(message, { relatedRequestId })
      .catch((error: unknown) => this.debug(error, 'send'));
  }

  private debug(error: unknown, what: string): void {
    this.ports.logger.debug(
      { err: error, what },
      'an MCP client message could not be sent (its stream is gone)',
    );
  }
}

function textResult(text: string): ToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}
