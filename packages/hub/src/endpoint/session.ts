import { createHash } from 'node:crypto';
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { Link } from '@tether/link';
import type { LinkOptions, LinkStatus, Transition } from '@tether/link';
import { callRecord } from '../catalog/catalog.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { EndpointConfig, HubSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { maskUrl, redact, registerSecrets, secretsOfUrl } from '../log/redact.js';
import { HealthTracker } from '../monitor/health.js';
import type { HealthParts } from '../monitor/health.js';
import type { ToolCallEntry } from '../store/types.js';
import type { CallOptions, ToolResult } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';
import { fitToBudget } from './budget.js';
import { JobStore, RESULT_TOOL } from './jobs.js';
import { LinkTransport, LogLimiter } from './transport.js';

export interface EndpointSessionDeps {
  logger: Logger;
  settings: HubSettings;
  /** The tools this endpoint gets now (its servers and filters applied). */
  tools(): CatalogEntry[];
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
  /** Health history that outlives this session (a restart after a config change keeps it). */
  health?: HealthTracker;
  /** Told of every state change and every tool call (the status mirror, notifications). */
  report?: {
    transition(t: Transition, status: EndpointStatus): void;
    call(entry: ToolCallEntry): void;
  };
}

export interface EndpointStatus {
  name: string;
  url: string;
  enabled: boolean;
  state: LinkStatus['name'];
  since: number;
  lastClose: { code: number; reason: string; at: number } | null;
  lastError: string | null;
  attempts: number;
  nextRetryAt: number | null;
  tools: number;
  callsInFlight: number;
  health: HealthParts;
}

/**
 * One endpoint: a link to its WebSocket and, for each socket the link opens, a fresh MCP
 * server answering on it. The endpoint is the MCP client and speaks first:
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
  private transport: LinkTransport | undefined;
  private readonly jobs = new JobStore();
  private inFlight = 0;
  private lastClose: EndpointStatus['lastClose'] = null;
  private lastError: string | null = null;
  private servedTools = '';
  private toolTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly health: HealthTracker;
  /** Warnings the endpoint can cause at will, rate-limited for the whole session. */
  private readonly warnings: LogLimiter;
  /** The URL's token is known to the redactor while this session lives. */
  private readonly releaseSecrets: () => void;

  constructor(
    readonly config: EndpointConfig,
    private readonly deps: EndpointSessionDeps,
  ) {
    this.releaseSecrets = registerSecrets(secretsOfUrl(config.url));
    this.link = new Link({ url: config.url, ...deps.linkOptions });
    this.health = deps.health ?? new HealthTracker();
    this.warnings = new LogLimiter(deps.logger);
    this.link.on('transition', (t) => this.onTransition(redactCause(t)));
  }

  start(): void {
    if (this.config.enabled) void this.link.connect().catch(() => {});
  }

  /** `graceMs` as for Link.close: 0 cuts the socket at once (the lease is gone). */
  async stop(code = 1001, reason = 'tether shutting down', graceMs?: number): Promise<void> {
    clearTimeout(this.toolTimer);
    clearTimeout(this.handshakeTimer);
    this.jobs.clear();
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
    clearTimeout(this.toolTimer);
    this.toolTimer = setTimeout(() => {
      if (this.fingerprint() !== this.servedTools) this.link.reconnect('tools changed');
    }, this.deps.settings.toolChangeDebounceMs);
    this.toolTimer.unref();
  }

  get status(): EndpointStatus {
    const s = this.link.status;
    return {
      name: this.config.name,
      url: maskUrl(this.config.url),
      enabled: this.config.enabled,
      state: s.name,
      since: s.since,
      lastClose: this.lastClose,
      lastError: this.lastError,
      attempts: this.link.attemptCount,
      nextRetryAt: s.name === 'backoff' ? s.retryAt : s.name === 'parked' ? s.probeAt : null,
      tools: this.deps.tools().length,
      callsInFlight: this.inFlight,
      health: this.health.score(),
    };
  }

  /** A digest of the tool set, not the set itself: thousands of endpoints keep 40 bytes each. */
  private fingerprint(entries = this.deps.tools()): string {
    return createHash('sha1')
      .update(JSON.stringify(entries.map((e) => e.definition)))
      .digest('hex');
  }

  private onTransition(t: Transition): void {
    const log = this.deps.logger;
    if (t.cause.type === 'close')
      this.lastClose = { code: t.cause.code, reason: t.cause.reason, at: t.at };
    if (
      t.cause.type === 'error' ||
      t.cause.type === 'timeout' ||
      t.cause.type === 'heartbeat' ||
      t.cause.type === 'dead'
    ) {
      this.lastError = describe(t);
    }
    log.info(
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

  /** A new socket: a new MCP server on it, and a watchdog for the endpoint's `initialize`. */
  private attach(generation: number): void {
    this.detach();
    const timeoutMs = this.handshakeTimeoutMs();
    const transport = new LinkTransport(this.link, generation, this.deps.logger, {
      onRequest: (method) => {
        if (method === 'initialize') clearTimeout(this.handshakeTimer);
      },
      warnings: this.warnings,
    });
    this.transport = transport;
    const server = this.createServer(generation);
    // What the SDK reports (and what the transport reports through it) reaches the log.
    server.onerror = (error) => transport.reportError(error);
    void server
      .connect(transport)
      .catch((error: Error) =>
        this.deps.logger.error({ err: error }, 'MCP server failed to attach'),
      );
    if (timeoutMs > 0) {
      this.handshakeTimer = setTimeout(
        () => this.link.declareDead(`no initialize within ${timeoutMs} ms`),
        timeoutMs,
      );
      this.handshakeTimer.unref();
    }
  }

  private detach(): void {
    clearTimeout(this.handshakeTimer);
    this.transport?.socketGone();
    this.transport = undefined;
  }

  /** The self-hosted relay sends nothing until a device session starts: no watchdog there. */
  private handshakeTimeoutMs(): number {
    return /\/mcp_endpoint\//.test(this.config.url) ? 0 : 10_000;
  }

  private createServer(generation: number): Server {
    const server = new Server(
      { name: 'tether', version: this.deps.version ?? '0.1.0' },
      { capabilities: { tools: {} } },
    );
    server.setRequestHandler('tools/list', async () => {
      const entries = this.deps.tools();
      this.servedTools = this.fingerprint(entries);
      // Only the socket that asked may be marked ready by its answer.
      if (this.transport?.generation === generation) this.link.markReady();
      const tools = entries.map((e) => e.definition);
      return {
        tools: this.deps.settings.earlyReplyMs > 0 ? [...tools, RESULT_TOOL] : tools,
      } as never;
    });
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const { name, arguments: args } = request.params;
      if (name === RESULT_TOOL.name && this.deps.settings.earlyReplyMs > 0)
        return (await this.fetchJob(args, ctx.mcpReq.signal)) as never;
      const entry = this.deps.tools().find((e) => e.name === name) ?? this.deps.absentTool?.(name);
      if (!entry) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      // A cap on work one endpoint can start: calls past it are refused at once, not queued.
      const cap = this.deps.settings.limits.callsPerEndpoint;
      if (this.inFlight >= cap) {
        this.warnings.warn(
          'call-refused',
          { tool: name, inFlight: this.inFlight },
          'call refused: too many at once',
        );
        return {
          isError: true,
          content: [
            {
              type: 'text',
              text: `Tether is already running ${cap} calls for this endpoint (hub.limits.callsPerEndpoint); try again when one has finished.`,
            },
          ],
        } as never;
      }
      return (await this.call(
        entry,
        args,
        ctx.mcpReq.signal,
        ctx.mcpReq._meta?.progressToken,
        (n) => ctx.mcpReq.notify(n),
      )) as never;
    });
    return server;
  }

  private async call(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    socketSignal: AbortSignal,
    progressToken: string | number | undefined,
    notify: (n: {
      method: 'notifications/progress';
      params: Record<string, unknown>;
    }) => Promise<void>,
  ): Promise<ToolResult> {
    const { settings, logger } = this.deps;
    // The upstream call has its own controller: cancelled with the socket, unless it was
    // answered early and became a job that outlives the socket.
    const abort = new AbortController();
    let detached = false;
    const onSocketGone = () => {
      if (!detached) abort.abort(new Error('endpoint socket closed'));
    };
    socketSignal.addEventListener('abort', onSocketGone, { once: true });
    this.inFlight++;
    const started = Date.now();
    let failure: string | undefined;
    const call = this.deps
      .callTool(entry, args, {
        signal: abort.signal,
        timeoutMs: settings.callTimeoutMs,
        ...(progressToken !== undefined
          ? {
              onProgress: (p) =>
                void notify({
                  method: 'notifications/progress',
                  params: { progressToken, ...p },
                }).catch(() => {}),
            }
          : {}),
      })
      .then(
        (result) => result,
        (error: unknown) => {
          failure = error instanceof UpstreamError ? error.code : 'UPSTREAM_ERROR';
          return toolError(entry, error);
        },
      )
      .finally(() => {
        this.inFlight--;
        socketSignal.removeEventListener('abort', onSocketGone);
      });

    const early = settings.earlyReplyMs > 0 ? delay(settings.earlyReplyMs) : undefined;
    const outcome = await Promise.race([
      call,
      ...(early ? [early.promise.then(() => 'early' as const)] : []),
    ]);
    early?.cancel();
    if (outcome === 'early') {
      this.recordCall(entry, args, started, 'early', undefined);
      if (socketSignal.aborted) return stillRunning('');
      detached = true;
      const job = this.jobs.add(entry.name, call, abort);
      logger.info(
        { tool: entry.name, job },
        'call outlived the early-reply window; answered with a job id',
      );
      return stillRunning(job);
    }
    this.recordCall(
      entry,
      args,
      started,
      socketSignal.aborted ? 'dropped' : outcomeOf(failure, outcome),
      outcome,
    );
    if (socketSignal.aborted) {
      logger.warn(
        { tool: entry.name, ms: Date.now() - started },
        'result dropped: the socket that asked is gone',
      );
    }
    return fitToBudget(outcome, settings.resultBudgetBytes);
  }

  private recordCall(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    started: number,
    outcome: ToolCallEntry['outcome'],
    result: ToolResult | undefined,
  ): void {
    const report = this.deps.report;
    if (!report) return;
    const firstText = result?.isError
      ? (result.content[0] as { text?: string } | undefined)?.text
      : undefined;
    report.call(
      callRecord(this.config.name, entry, args, started, outcome, result, firstText ?? null),
    );
  }

  private async fetchJob(
    args: Record<string, unknown> | undefined,
    signal?: AbortSignal,
  ): Promise<ToolResult> {
    const job = typeof args?.job === 'string' ? args.job : '';
    const outcome = await this.jobs.take(job, this.deps.settings.earlyReplyMs, signal);
    if (outcome === 'unknown')
      return {
        isError: true,
        content: [
          {
            type: 'text',
            text: `No job "${job}": unknown, or its result was already taken or expired.`,
          },
        ],
      };
    if (outcome === 'running') return stillRunning(job);
    return fitToBudget(outcome, this.deps.settings.resultBudgetBytes);
  }
}

function outcomeOf(failure: string | undefined, result: ToolResult): ToolCallEntry['outcome'] {
  if (failure === 'UPSTREAM_TIMEOUT') return 'timeout';
  if (failure === 'UPSTREAM_CANCELLED') return 'cancelled';
  return failure || result.isError ? 'error' : 'ok';
}

function stillRunning(job: string): ToolResult {
  return {
    content: [
      {
        type: 'text',
        text: `Still running. Call ${RESULT_TOOL.name} with {"job": "${job}"} to get the result when it is ready.`,
      },
    ],
  };
}

/** Upstream failures reach the model as tool errors it can read, not as protocol errors. */
function toolError(entry: CatalogEntry, error: unknown): ToolResult {
  const code = error instanceof UpstreamError ? error.code : 'UPSTREAM_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return {
    isError: true,
    content: [{ type: 'text', text: `${entry.name} failed (${code}): ${message}` }],
  };
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * A transition whose words may quote the endpoint URL (an unparsable URL's error does) with
 * them redacted: this is where a link's causes enter the hub, before anything logs, stores or
 * shows them.
 */
function redactCause(t: Transition): Transition {
  const c = t.cause;
  switch (c.type) {
    case 'close':
      return c.reason ? { ...t, cause: { ...c, reason: redact(c.reason) } } : t;
    case 'error':
      return { ...t, cause: { ...c, message: redact(c.message) } };
    case 'dead':
    case 'reconnect':
      return { ...t, cause: { ...c, reason: redact(c.reason) } };
    default:
      return t;
  }
}

function describe(t: Transition): string {
  const c = t.cause;
  switch (c.type) {
    case 'error':
      return c.message;
    case 'timeout':
      return 'connect timeout';
    case 'heartbeat':
      return `no answer to ${c.missed} ping(s) for ${c.silentMs} ms`;
    case 'dead':
      return c.reason;
    default:
      return c.type;
  }
}
