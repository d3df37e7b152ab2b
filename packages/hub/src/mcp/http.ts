import { createHash, randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import type { HubEvents, HubPort } from '../hub/port.js';
import type { Logger } from '../log/logger.js';
import { McpSession } from './session.js';
import { ViewWatch } from './tools.js';

/** What `/mcp` needs of the hub. */
export type McpHub = Pick<HubPort, 'on' | 'off' | 'servedTools' | 'callTool' | 'settings'>;

export interface McpHttpOptions {
  logger: Logger;
  version?: string;
  /** Sessions at once; past it the one idle longest is closed, or the new one refused. Default 64. */
  maxSessions?: number;
  /** A session with no request, stream or call for this long is closed. Default 30 minutes. */
  idleMs?: number;
  /** Tools per tools/list page. Default TOOLS_PAGE_SIZE (100). */
  pageSize?: number;
  clock?: Clock;
}

/** A session as `GET /api/mcp/sessions` shows it. */
export interface McpSessionView {
  /** A digest of the session id: stable, and not the id itself (which a client presents). */
  id: string;
  client: { name: string; version: string } | null;
  /** `/mcp/<endpoint>`'s endpoint; null for `/mcp`. */
  endpoint: string | null;
  createdAt: number;
  lastActivityAt: number;
  callsInFlight: number;
  /** Event streams open now (the GET stream and POSTs still answering). */
  streams: number;
}

interface Entry {
  id: string;
  scope: string | undefined;
  session: McpSession;
  transport: WebStandardStreamableHTTPServerTransport;
  createdAt: number;
  lastActivityAt: number;
  streams: number;
}

/** The JSON-RPC error body the SDK's transport answers with, for refusals made before it. */
export function rpcRefusal(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    { jsonrpc: '2.0', error: { code, message }, id: null },
    { status, headers: { 'content-type': 'application/json', ...headers } },
  );
}

const isInitialize = (body: unknown): boolean =>
  typeof body === 'object' &&
  body !== null &&
  !Array.isArray(body) &&
  (body as { method?: unknown }).method === 'initialize' &&
  (body as { id?: unknown }).id !== undefined;

/**
 * `/mcp` and `/mcp/<endpoint>`: MCP Streamable HTTP, one SDK transport and McpSession per
 * client session, in memory (a session is the process's; a restarted hub answers 404 and the
 * client initialises again, as the specification has it).
 *
 *   POST initialize, no Mcp-Session-Id  ─▶ a new session (the SDK's transport answers)
 *   any method with a known id          ─▶ that session's transport, if the path is its scope
 *   an unknown id, or another scope's   ─▶ 404 "Session not found"
 *   anything else without an id         ─▶ 400
 *
 * Bounded: `maxSessions` at once (a newcomer takes the place of the session idle longest, or
 * gets 503), idle ones closed after `idleMs`, calls per session capped (McpSession). Each
 * session hears `notifications/tools/list_changed` when what it lists changes.
 */
export class McpHttp {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly maxSessions: number;
  private readonly idleMs: number;
  /** Per scope in use ('' for /mcp, else the endpoint's name): its view, watched for changes. */
  private readonly watches = new Map<string, ViewWatch>();
  private sweepTimer: unknown;
  private listening = false;
  private readonly listeners: { [E in keyof HubEvents]?: (...args: HubEvents[E]) => void };

  constructor(
    private readonly hub: McpHub,
    private readonly options: McpHttpOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxSessions = options.maxSessions ?? 64;
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.listeners = {
      tools: () => this.viewsMayHaveChanged(),
      endpoint: (name) => this.viewsMayHaveChanged(name),
      'endpoint-removed': (name) => this.scopeGone(name),
    };
  }

  /** The hub's events are heard only while there are sessions to tell. */
  private listen(on: boolean): void {
    if (on === this.listening) return;
    this.listening = on;
    const method = on ? 'on' : 'off';
    this.hub[method]('tools', this.listeners.tools!);
    this.hub[method]('endpoint', this.listeners.endpoint!);
    this.hub[method]('endpoint-removed', this.listeners['endpoint-removed']!);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * One request for `/mcp` (`scope` undefined) or `/mcp/<scope>`; the caller has checked the
   * scope names an endpoint. `body` is the POST's JSON, already read within the door's limits.
   */
  async handle(request: Request, scope: string | undefined, body?: unknown): Promise<Response> {
    const id = request.headers.get('mcp-session-id');
    if (id !== null) {
      const entry = this.entries.get(id);
      if (!entry || entry.scope !== scope) return rpcRefusal(404, -32001, 'Session not found');
      return this.serve(entry, request, body);
    }
    if (request.method !== 'POST')
      return rpcRefusal(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    if (!isInitialize(body))
      return rpcRefusal(400, -32000, 'Bad Request: no valid session; send initialize first');
    if (this.entries.size >= this.maxSessions && !this.evictIdlest())
      return rpcRefusal(
        503,
        -32000,
        `${this.entries.size} MCP sessions are open, the most this hub serves; close one or try again later`,
        { 'retry-after': '5' },
      );
    const entry = await this.open(scope);
    const response = await this.serve(entry, request, body);
    // A refused initialize (a bad protocol header, a malformed request) leaves no session.
    if (!response.ok || entry.transport.sessionId !== entry.id) void this.close(entry);
    return response;
  }

  /** Every session, for the dashboard. */
  sessions(): McpSessionView[] {
    return [...this.entries.values()].map((e) => ({
      id: createHash('sha256').update(e.id).digest('hex').slice(0, 12),
      client: e.session.client ?? null,
      endpoint: e.scope ?? null,
      createdAt: e.createdAt,
      lastActivityAt: e.lastActivityAt,
      callsInFlight: e.session.callsInFlight,
      streams: e.streams,
    }));
  }

  /** Closes every session (their calls are cancelled). */
  async close(): Promise<void>;
  async close(entry: Entry): Promise<void>;
  async close(entry?: Entry): Promise<void> {
    if (entry) {
      this.entries.delete(entry.id);
      this.forgetUnused(entry.scope);
      await entry.session.close().catch(() => {});
      return;
    }
    this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.listen(false);
    await Promise.all([...this.entries.values()].map((e) => this.close(e)));
  }

  private async open(scope: string | undefined): Promise<Entry> {
    const id = randomUUID();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
    });
    const hub = this.hub;
    const session = new McpSession(transport, {
      version: this.options.version ?? '0.1.0',
      logger: this.options.logger,
      served: () => hub.servedTools(scope),
      call: (name, args, options, meta) =>
        hub.callTool(name, args, options, {
          meta,
          ...(scope !== undefined && { endpoint: scope }),
        }),
      maxCalls: () => hub.settings.limits.callsPerEndpoint,
      ...(this.options.pageSize !== undefined && { pageSize: this.options.pageSize }),
      abandon: (requestId) => transport.closeSSEStream(requestId),
    });
    await session.start();
    const now = this.clock.now();
    const entry: Entry = {
      id,
      scope,
      session,
      transport,
      createdAt: now,
      lastActivityAt: now,
      streams: 0,
    };
    // A DELETE, or the transport closing for any reason, ends the session here too.
    const onclose = transport.onclose;
    transport.onclose = () => {
      onclose?.call(transport);
      if (this.entries.get(id) !== entry) return;
      this.entries.delete(id);
      this.forgetUnused(scope);
    };
    this.entries.set(id, entry);
    this.listen(true);
    this.remember(scope);
    this.armSweep();
    return entry;
  }

  private async serve(entry: Entry, request: Request, body: unknown): Promise<Response> {
    entry.lastActivityAt = this.clock.now();
    const response = await entry.transport.handleRequest(
      request,
      body === undefined ? undefined : { parsedBody: body },
    );
    return this.counted(entry, response);
  }

  /**
   * An event stream counts as activity for as long as it is open: a client listening on its
   * GET stream for list_changed is not idle, however long nothing is said.
   */
  private counted(entry: Entry, response: Response): Response {
    const body = response.body;
    if (!body || !response.headers.get('content-type')?.startsWith('text/event-stream'))
      return response;
    entry.streams++;
    let open = true;
    const done = () => {
      if (!open) return;
      open = false;
      entry.streams--;
      entry.lastActivityAt = this.clock.now();
    };
    const reader = body.getReader();
    const wrapped = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done: finished, value } = await reader.read();
          if (finished) {
            done();
            controller.close();
          } else controller.enqueue(value);
        } catch (error) {
          done();
          controller.error(error);
        }
      },
      cancel(reason) {
        done();
        return reader.cancel(reason);
      },
    });
    return new Response(wrapped, { status: response.status, headers: response.headers });
  }

  /** Makes room for a newcomer: the session idle longest, if any is idle at all. */
  private evictIdlest(): boolean {
    let idlest: Entry | undefined;
    for (const entry of this.entries.values())
      if (this.idle(entry) && (!idlest || entry.lastActivityAt < idlest.lastActivityAt))
        idlest = entry;
    if (!idlest) return false;
    this.options.logger.info(
      { client: idlest.session.client?.name },
      'closed the MCP session idle longest to make room for a new one',
    );
    void this.close(idlest);
    return true;
  }

  private idle(entry: Entry): boolean {
    return entry.streams === 0 && entry.session.callsInFlight === 0;
  }

  /** One timer for the idle sweep, running only while there are sessions. */
  private armSweep(): void {
    if (this.sweepTimer !== undefined) return;
    const every = Math.max(10, Math.min(60_000, Math.floor(this.idleMs / 4)));
    const tick = () => {
      this.sweepTimer = undefined;
      const now = this.clock.now();
      for (const entry of [...this.entries.values()])
        if (this.idle(entry) && now - entry.lastActivityAt >= this.idleMs) {
          this.options.logger.info(
            { client: entry.session.client?.name, idleMs: now - entry.lastActivityAt },
            'closed an idle MCP session',
          );
          void this.close(entry);
        }
      if (this.entries.size > 0) this.armSweep();
    };
    this.sweepTimer = this.clock.setTimeout(tick, every);
  }

  /** Watches the view of a scope that has a session now. */
  private remember(scope: string | undefined): void {
    const key = scope ?? '';
    if (!this.watches.has(key))
      this.watches.set(key, new ViewWatch(() => this.hub.servedTools(scope)?.listed));
  }

  /**
   * The catalog changed (every scope may have), or one endpoint did (its scope may have): each
   * scope's sessions hear list_changed when its view lists something else than before.
   */
  private viewsMayHaveChanged(endpoint?: string): void {
    const keys = endpoint === undefined ? [...this.watches.keys()] : [endpoint];
    for (const key of keys) {
      if (!this.watches.get(key)?.changed()) continue;
      for (const entry of this.entries.values())
        if ((entry.scope ?? '') === key) entry.session.toolsChanged();
    }
  }

  /** A scope no session uses any more is not watched. */
  private forgetUnused(scope: string | undefined): void {
    if (this.entries.size === 0) this.listen(false);
    for (const entry of this.entries.values()) if (entry.scope === scope) return;
    this.watches.delete(scope ?? '');
  }

  /** An endpoint was removed: its sessions end (their next request gets 404). */
  private scopeGone(name: string): void {
    this.watches.delete(name);
    for (const entry of [...this.entries.values()])
      if (entry.scope === name) void this.close(entry);
  }
}
