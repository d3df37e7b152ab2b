import { Link, systemClock } from '@tether/link';
import type { Clock, LinkOptions, Transition } from '@tether/link';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { EndpointConfig, HubSettings, ToolFilter } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { maskUrl, registerSecrets, secretsOfUrl } from '../log/redact.js';
import { HealthTracker } from '../monitor/health.js';
import type { ToolCallEntry } from '../store/types.js';
import type { CallOptions, ToolResult } from '../upstream/types.js';
import { EndpointCalls } from './calls.js';
import type { JobStore } from './jobs.js';
import { servedTools } from './served.js';
import type { ServedTools } from './served.js';
import { answerToolCall, createEndpointServer } from './server.js';
import type { ToolCallPorts } from './server.js';
import { failureOf, redactCause } from './status.js';
import type { EndpointStatus } from './status.js';
import { LinkTransport, LogLimiter, toolSets } from './transport.js';

export type { EndpointStatus } from './status.js';

export interface EndpointSessionDeps {
  logger: Logger;
  settings: HubSettings;
  /** Time for every timer of the session and its link. Default: the system clock. */
  clock?: Clock;
  /** The tools this endpoint is allowed now (its servers and filters applied). */
  tools(): CatalogEntry[];
  /**
   * The endpoint's tool filter now, for its budget and pinned tools (endpoint/served.ts): a
   * change of the tool set alone keeps the session, so the definition it was made with may be
   * out of date. Absent: that definition's.
   */
  filter?(): ToolFilter;
  /**
   * Settles once the endpoint's servers have finished their first start; undefined when none
   * is starting. A tools/list waits for it (bounded: endpoint/server.ts, TOOLS_WAIT_MS).
   */
  ready?(): Promise<void> | undefined;
  callTool(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult>;
  /**
   * A tool of one of its servers that is down (restarting, unresponsive): called all the same,
   * so the model reads that the server is restarting rather than that the tool does not exist.
   */
  absentTool?(name: string): CatalogEntry | undefined;
  linkOptions?: Partial<LinkOptions>;
  version?: string;
  /**
   * How long the endpoint has to send `initialize` once the socket opens. Default 10,000; 0
   * for none. The self-hosted relay sends nothing until a device session starts, so its
   * `/mcp_endpoint/` URLs get no watchdog unless this is set.
   */
  handshakeTimeoutMs?: number;
  /** Health history that outlives this session (a restart after a config change keeps it). */
  health?: HealthTracker;
  /** The endpoint's jobs, which outlive this session likewise (made on first use). */
  jobs?(): JobStore;
  /** Told of every state change and every tool call (the status mirror, notifications). */
  report?: {
    transition(t: Transition, status: EndpointStatus): void;
    call(entry: ToolCallEntry): void;
  };
}

/**
 * One endpoint: a link to its WebSocket and, for each socket the link opens, a fresh MCP
 * server answering on it (endpoint/server.ts; calls in endpoint/calls.ts). The endpoint is the
 * MCP client and speaks first:
 *
 *   endpoint                              tether (this)
 *      | <-- upgrade (link connects) ------ |
 *      | --- initialize id 0 -------------> |   none within handshakeTimeoutMs: declared dead
 *      | <-- result ----------------------- |
 *      | --- notifications/initialized ---> |   (never answered)
 *      | --- tools/list id 1 -------------> |
 *      | <-- result {tools} --------------- |   link ready
 *      | --- ping / tools/call … ---------> |   answered concurrently, off the receive path
 *
 * Every call belongs to the socket that carried it: when that socket dies, the SDK aborts the
 * handler, the upstream call is cancelled and a late result is dropped (and logged).
 */
export class EndpointSession {
  readonly link: Link;
  private readonly clock: Clock;
  private transport: LinkTransport | undefined;
  private readonly calls: EndpointCalls;
  private lastClose: EndpointStatus['lastClose'] = null;
  private lastError: string | null = null;
  private servedTools = '';
  private toolTimer: unknown;
  private handshakeTimer: unknown;
  private readonly health: HealthTracker;
  /** Warnings the endpoint can cause at will, rate-limited for the whole session. */
  private readonly warnings: LogLimiter;
  /** The URL's token is known to the redactor while this session lives. */
  private readonly releaseSecrets: () => void;
  /** The URL as status shows it, masked once rather than at every transition. */
  private maskedUrl: string | undefined;
  /** What every socket's calls are answered with (endpoint/server.ts, answerToolCall). */
  private readonly callPorts: ToolCallPorts;

  constructor(
    readonly config: EndpointConfig,
    private readonly deps: EndpointSessionDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.releaseSecrets = registerSecrets(secretsOfUrl(config.url));
    this.link = new Link({ url: config.url, clock: this.clock, ...deps.linkOptions });
    this.health = deps.health ?? new HealthTracker();
    this.warnings = new LogLimiter(deps.logger);
    this.calls = new EndpointCalls({
      endpoint: config.name,
      clock: this.clock,
      logger: deps.logger,
      warnings: this.warnings,
      settings: () => this.deps.settings,
      invoke: (entry, args, options) => this.deps.callTool(entry, args, options),
      repairArguments: () => (this.deps.filter?.() ?? this.config.tools).repairArguments === true,
      ...(deps.report ? { record: (entry: ToolCallEntry) => deps.report!.call(entry) } : {}),
      ...(deps.jobs ? { jobs: deps.jobs } : {}),
    });
    this.callPorts = {
      served: () => this.served(),
      ...(deps.absentTool ? { absentTool: (name: string) => this.deps.absentTool!(name) } : {}),
      earlyReplies: () => this.deps.settings.earlyReplyMs > 0,
      calls: this.calls,
    };
    this.link.on('transition', (t) => this.onTransition(redactCause(t)));
  }

  start(): void {
    if (this.config.enabled) void this.link.connect().catch(() => {});
  }

  /** `graceMs` as for Link.close: 0 cuts the socket at once (the lease is gone). */
  async stop(code = 1001, reason = 'tether shutting down', graceMs?: number): Promise<void> {
    this.clock.clearTimeout(this.toolTimer);
    this.toolTimer = undefined;
    this.clearHandshakeTimer();
    this.calls.clear();
    try {
      await this.link.close(code, reason, graceMs);
    } finally {
      // Counted warnings are written while the redactor still knows this endpoint's token.
      this.warnings.flush();
      this.releaseSecrets();
    }
  }

  /**
   * The tool set may have changed. Xiaozhi reads tools only during the handshake, so a real
   * change reaches it by a reconnect, debounced so a burst of changes costs one.
   */
  toolsChanged(): void {
    const state = this.link.status.name;
    if ((state !== 'open' && state !== 'ready') || this.fingerprint() === this.servedTools) return;
    this.clock.clearTimeout(this.toolTimer);
    this.toolTimer = this.clock.setTimeout(() => {
      this.toolTimer = undefined;
      if (this.fingerprint() !== this.servedTools) this.link.reconnect('tools changed');
    }, this.deps.settings.toolChangeDebounceMs);
  }

  /**
   * The endpoint now. `tools` is counted when it is read, not when the status is made: counting
   * filters the whole catalog, and most readers — every transition's report (the mirror, the
   * notifier), the claim rounds' load — never look at it. Spread or serialised, the status is a
   * plain snapshot.
   */
  get status(): EndpointStatus {
    const s = this.link.status;
    const deps = this.deps;
    return {
      name: this.config.name,
      url: (this.maskedUrl ??= maskUrl(this.config.url)),
      enabled: this.config.enabled,
      state: s.name,
      since: s.since,
      lastClose: this.lastClose,
      lastError: this.lastError,
      attempts: this.link.attemptCount,
      nextRetryAt: s.name === 'backoff' ? s.retryAt : s.name === 'parked' ? s.probeAt : null,
      get tools() {
        return deps.tools().length;
      },
      callsInFlight: this.calls.inFlight,
      health: this.health.score(),
    };
  }

  /** What the endpoint is sent and may call now: all it is allowed, or the router's set. */
  private served(): ServedTools {
    return servedTools(this.deps.tools(), this.deps.filter?.() ?? this.config.tools);
  }

  /**
   * A digest of the tool set sent, not the set itself: thousands of endpoints keep 40 bytes
   * each. It is computed once per tool set (transport.ts, toolSets) and shared by the sessions
   * serving it. Over the budget it is the router's fixed set, which changes only with the
   * pinned tools: other changes of the catalog cost no reconnect.
   */
  private fingerprint(entries = this.served().listed): string {
    return toolSets.digest(entries.map((e) => e.definition));
  }

  private onTransition(t: Transition): void {
    if (t.cause.type === 'close')
      this.lastClose = { code: t.cause.code, reason: t.cause.reason, at: t.at };
    this.lastError = failureOf(t) ?? this.lastError;
    this.deps.logger.info(
      { from: t.from, to: t.to, cause: t.cause },
      `endpoint ${this.config.name}: ${t.from} → ${t.to}`,
    );
    // Switching an endpoint off is a person's choice, not a drop.
    if (t.to !== 'disabled')
      this.health.observe(
        t.at,
        t.to === 'ready',
        t.to === 'connecting'
          ? 'connecting'
          : t.from === 'connecting' && t.to !== 'open'
            ? 'failed'
            : 'other',
      );
    if (t.to === 'open' && t.status.name === 'open') this.attach(t.status.generation);
    else if (t.to !== 'ready') this.detach();
    this.deps.report?.transition(t, this.status);
  }

  /**
   * A new socket: a watchdog for the endpoint's `initialize`, and a new MCP server on it, made
   * when the endpoint first speaks (a relay's socket can sit silent until a device session
   * starts, and a silent socket need not carry a server). Frames wait in the transport until
   * the server has started, in order.
   */
  private attach(generation: number): void {
    this.detach();
    const timeoutMs = this.handshakeTimeoutMs();
    const transport = new LinkTransport(this.link, generation, this.deps.logger, {
      onRequest: (method) => {
        if (method === 'initialize') this.clearHandshakeTimer();
      },
      onFirstFrame: () => this.serve(transport),
      onToolCall: (request, socket) => answerToolCall(this.callPorts, request, socket),
      warnings: this.warnings,
    });
    this.transport = transport;
    if (timeoutMs > 0) {
      this.handshakeTimer = this.clock.setTimeout(() => {
        this.handshakeTimer = undefined;
        this.link.declareDead(`no initialize within ${timeoutMs} ms`);
      }, timeoutMs);
    }
  }

  /** The MCP server for one socket's transport. */
  private serve(transport: LinkTransport): void {
    const server = createEndpointServer({
      tools: () => this.served().listed,
      earlyReplies: this.callPorts.earlyReplies,
      version: this.deps.version ?? '0.1.0',
      ...(this.deps.ready ? { ready: () => this.deps.ready!() } : {}),
      clock: this.clock,
      listed: (entries) => {
        this.servedTools = this.fingerprint(entries);
        // Only the socket that asked may be marked ready by its answer.
        if (this.transport === transport) this.link.markReady();
      },
    });
    // What the SDK reports (and what the transport reports through it) reaches the log.
    server.onerror = (error) => transport.reportError(error);
    void server
      .connect(transport)
      .catch((error: Error) =>
        this.deps.logger.error({ err: error }, 'MCP server failed to attach'),
      );
  }

  /** A timer is let go once done with: an idle session should not hold a spent one. */
  private clearHandshakeTimer(): void {
    this.clock.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private detach(): void {
    this.clearHandshakeTimer();
    this.transport?.socketGone();
    this.transport = undefined;
  }

  private handshakeTimeoutMs(): number {
    if (this.deps.handshakeTimeoutMs !== undefined) return this.deps.handshakeTimeoutMs;
    return /\/mcp_endpoint\//.test(this.config.url) ? 0 : 10_000;
  }
}
