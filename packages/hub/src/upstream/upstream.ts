import { EventEmitter } from 'node:events';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { credentialsInArgs } from '../log/mask.js';
import { isCredentialName, maskUrl, redact, registerSecrets, secretsOfUrl } from '../log/redact.js';
import { defaultRestartPolicy, isFailing, restartDelay } from './backoff.js';
import type { RestartPolicy } from './backoff.js';
import { Connection } from './connection.js';
import type { ConnectionHooks } from './connection.js';
import { isSessionGone, loggable, messageOf, toUpstreamError } from './errors.js';
import { DEFAULT_MAX_ARGUMENTS_BYTES, DEFAULT_MAX_RESULT_BYTES } from './limits.js';
import { SessionKeeper } from './session-keeper.js';
import { Tail } from './lines.js';
import { ToolList } from './tool-list.js';
import type { ToolListing } from './tool-list.js';
import { UpstreamError } from './types.js';
import type {
  CallOptions,
  ToolResult,
  UpstreamEvents,
  UpstreamStatus,
  UpstreamTool,
} from './types.js';

export interface UpstreamOptions {
  logger: Logger;
  restart?: Partial<RestartPolicy>;
  /**
   * A ping this often, counted from when the last one was sent; 0: never. One unanswered for the
   * interval (at least 1 s, at most listTimeoutMs) marks the server `unresponsive`; one that
   * fails outright means it is gone. The server's own `pingIntervalMs` wins over this. Default
   * 10,000 for stdio (a local pipe: cheap), 30,000 for HTTP and SSE.
   */
  pingIntervalMs?: number;
  /** stdio: how long SIGTERM has before SIGKILL. Default 2,000. */
  stopGraceMs?: number;
  /** Bounds the initialize handshake and the whole paginated tools/list. Default 10,000. */
  listTimeoutMs?: number;
  /** Jitter source for restart delays; tests pass a fixed one. */
  random?: () => number;
  /**
   * Every timer and timestamp of the upstream: restart delays, the stable period, pings, the
   * deadlines of the handshake, tools/list and calls, the steps of stopping a child, `since`.
   * The hub passes its own; tests a manual one. Default systemClock.
   */
  clock?: Clock;
  /**
   * The largest message read from the server (a tool result), in bytes: for stdio the longest
   * line, for HTTP/SSE the longest body or SSE event. A larger result is not read; its call
   * fails at once with UPSTREAM_RESULT_TOO_LARGE and the server stays up. The hub passes
   * `hub.limits.resultBytes`. Default 8 MiB.
   */
  maxResultBytes?: number;
  /**
   * The largest message sent to the server, in bytes of JSON: in practice a tools/call, measured
   * whole (so a few dozen bytes more than its arguments), as the transport serialised it. A larger
   * call fails with UPSTREAM_ARGUMENTS_TOO_LARGE and nothing is sent. The hub passes
   * `hub.limits.argumentsBytes`. Default 1 MiB.
   */
  maxArgumentsBytes?: number;
}

const STDERR_TAIL = 100;
const DEFAULT_PING_MS = { stdio: 10_000, http: 30_000, sse: 30_000 } as const;

/**
 * Values of env variables and headers whose names say credential (the redactor's one list).
 * Only those are registered: a value such as `production` or `application/json` masked in
 * every message would garble them.
 */
const credentials = (entries: Record<string, string>) =>
  Object.entries(entries)
    .filter(([name]) => isCredentialName(name))
    .map(([, value]) => value);

/** What this server's config holds that must never be shown: credential values, URL passwords. */
function secretsOf(config: ServerConfig): string[] {
  if (config.type === 'stdio')
    return [...credentials(config.env), ...credentialsInArgs(config.args)];
  const headers = credentials(config.headers).flatMap((value) => {
    // `Bearer abc…` is registered whole and as its credential, which messages quote alone.
    const credential = /^\s*[A-Za-z-]+\s+(\S+)\s*$/.exec(value)?.[1];
    return credential === undefined ? [value] : [value, credential];
  });
  return [...headers, ...secretsOfUrl(config.url)];
}

/**
 * Down, waiting for the next attempt at retryAt: retryTimer is set while waiting, unset while
 * that attempt runs. `unresponsive` is a server killed because it stopped answering pings.
 */
interface DownPhase {
  state: 'restarting' | 'unresponsive' | 'failed';
  retryAt: number;
  retryTimer?: unknown;
}

/**
 * What the supervisor holds in each state. Timers live inside the state that owns them, so
 * entering the next state clears them (enter()) and a field of `ready` cannot be read while
 * restarting.
 */
type Phase =
  | { state: 'idle' }
  | { state: 'starting' }
  | {
      state: 'ready';
      conn: Connection;
      stableTimer: unknown;
    }
  | DownPhase
  | { state: 'stopped' };

type ReadyPhase = Extract<Phase, { state: 'ready' }>;

/**
 * Supervises one upstream MCP server: connects, lists its tools, relays calls, and restarts it
 * with a crash-loop backoff whenever it goes away, until stop().
 *
 *   idle ─start()─▶ starting ──ok──▶ ready ──lost──▶ restarting ─(delay)─▶ attempt ─ok─▶ ready
 *                      └──fail──▶ restarting           6th failure in a row ─▶ failed (retry at maxMs)
 *                                  ready ──ping unanswered──▶ unresponsive: calls fail, SIGKILL,
 *                                                             ─(delay)─▶ attempt, as above
 *   any ─stop()─▶ stopped
 *
 * While down, calls are refused at once with what happens next: UPSTREAM_RESTARTING or
 * UPSTREAM_UNRESPONSIVE, naming the attempt and when it is due (notReadyError).
 *
 * An expired HTTP session (404) is not a loss: the SessionKeeper re-initialises it in place,
 * state stays ready, and the call that met the 404 is sent once more on the new session.
 */
export class Upstream extends EventEmitter<UpstreamEvents> {
  private phase: Phase = { state: 'idle' };
  private since: number;
  private restarts = 0;
  /** Failures since the last stable period. */
  private failures = 0;
  private lastError?: string;
  /** What the latest listing left out (and lastError said), if anything. */
  private toolsNote?: string;
  private readonly toolList = new ToolList();
  private readonly stderr = new Tail<string>(STDERR_TAIL);
  private readonly connections = new Set<Connection>();
  /** Pings (every transport), and re-initialises expired sessions (HTTP and SSE). */
  private readonly keeper: SessionKeeper;
  /** Tool listings in progress by connection; `again` when list_changed came meanwhile. */
  private readonly refreshing = new WeakMap<Connection, { again: boolean }>();
  private started?: Promise<void>;
  private stopping?: Promise<void>;

  private readonly log: Logger;
  private readonly policy: RestartPolicy;
  private readonly stopGraceMs: number;
  private readonly listTimeoutMs: number;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly maxResultBytes: number;
  private readonly maxArgumentsBytes: number;
  private readonly hooks: ConnectionHooks;
  /** Unregisters this server's secrets from the redactor; called once, by stop(). */
  private readonly forgetSecrets: () => void;

  constructor(
    readonly config: ServerConfig,
    options: UpstreamOptions,
  ) {
    super();
    this.forgetSecrets = registerSecrets(secretsOf(config));
    this.log = options.logger.child({
      upstream: config.name,
      ...(config.type !== 'stdio' && { url: maskUrl(config.url) }),
    });
    this.policy = { ...defaultRestartPolicy, ...options.restart };
    this.stopGraceMs = options.stopGraceMs ?? 2000;
    this.listTimeoutMs = options.listTimeoutMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
    this.since = this.clock.now();
    this.maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    this.maxArgumentsBytes = options.maxArgumentsBytes ?? DEFAULT_MAX_ARGUMENTS_BYTES;
    this.hooks = {
      onLost: (conn, reason) => this.lost(conn, reason),
      onToolsChanged: (conn) => void this.refreshTools(conn),
      onTransportError: (conn, error) => {
        this.log.debug({ err: loggable(error) }, 'transport error');
        this.keeper.transportError(conn, error);
      },
      onStderrLine: (line) => this.stderrLine(line),
      lastStderrLine: () => this.stderr.last(),
    };
    const host = {
      isCurrent: (conn: Connection) => this.readyWith(conn) !== undefined,
      connect: () => this.connect(),
      replace: (old: Connection, next: Connection, tools: ToolListing) => {
        const phase = this.readyWith(old);
        if (phase !== undefined) phase.conn = next;
        this.setTools(tools);
      },
      lost: (conn: Connection, reason: string) => this.lost(conn, reason),
      unresponsive: (conn: Connection, reason: string) => this.unresponsive(conn, reason),
    };
    this.keeper = new SessionKeeper(host, {
      pingIntervalMs:
        config.pingIntervalMs ?? options.pingIntervalMs ?? DEFAULT_PING_MS[config.type],
      listTimeoutMs: this.listTimeoutMs,
      renewSessions: config.type !== 'stdio',
      logger: this.log,
      clock: this.clock,
    });
  }

  get status(): UpstreamStatus {
    const phase = this.phase;
    const pid =
      phase.state === 'ready' ? phase.conn.pid : [...this.connections].find((c) => c.pid)?.pid;
    return {
      name: this.config.name,
      type: this.config.type,
      state: phase.state === 'idle' ? 'starting' : phase.state,
      since: this.since,
      tools: this.toolList.tools.length,
      restarts: this.restarts,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      ...(pid !== undefined && { pid }),
      stderrTail: this.stderr.toArray(),
    };
  }

  get tools(): readonly UpstreamTool[] {
    return this.toolList.tools;
  }

  /** Resolves once the first attempt has succeeded or failed; the status tells which. */
  start(): Promise<void> {
    this.started ??= this.attempt();
    return this.started;
  }

  /** Bounded: calls are rejected at once, children get stdin EOF, SIGTERM, then SIGKILL. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.enter({ state: 'stopped' });
      try {
        await Promise.all([...this.connections].map((c) => c.close()));
      } finally {
        // Last: the closing connections' final errors are still masked.
        this.forgetSecrets();
      }
      this.log.info('stopped');
    })();
    return this.stopping;
  }

  async callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult> {
    const cancelled = (): boolean => options.signal?.aborted === true;
    if (cancelled()) {
      throw new UpstreamError('UPSTREAM_CANCELLED', 'the call was cancelled before it started');
    }
    await this.keeper.renewing;
    const conn = this.readyConnection();
    if (!this.toolList.has(name)) {
      throw new UpstreamError('UPSTREAM_UNKNOWN_TOOL', `${this.config.name} has no tool ${name}`);
    }
    try {
      return await conn.call(name, args, options);
    } catch (error) {
      if (!isSessionGone(error) || cancelled()) {
        throw this.callFailed(conn, error, options);
      }
      // The server forgot our session before it saw the request: safe to send it once more
      // (never for stdio: renew() gives nothing there).
      const renewed = await this.keeper.renew(conn);
      if (renewed === undefined) throw this.callFailed(conn, error, options);
      try {
        return await renewed.call(name, args, options);
      } catch (retryError) {
        throw this.callFailed(renewed, retryError, options);
      }
    }
  }

  private readyConnection(): Connection {
    if (this.phase.state === 'ready') return this.phase.conn;
    throw this.notReadyError();
  }

  /**
   * Why a call cannot be served now, and what happens next, for whoever is refused: the hub
   * passes it on for a tool of a server that is down (whose tools left the catalog).
   */
  notReadyError(): UpstreamError {
    const phase = this.phase;
    const name = this.config.name;
    const last = this.lastError === undefined ? '' : `. Last error: ${this.lastError}`;
    switch (phase.state) {
      case 'restarting':
        return new UpstreamError(
          'UPSTREAM_RESTARTING',
          `server ${name} is restarting ${this.next(phase)}${last}`,
        );
      case 'failed':
        return new UpstreamError(
          'UPSTREAM_RESTARTING',
          `server ${name} keeps failing and is restarting ${this.next(phase)}${last}`,
        );
      case 'unresponsive':
        return this.stoppedAnswering(phase);
      default: {
        const why = this.lastError === undefined ? '' : `: ${this.lastError}`;
        return new UpstreamError(
          'UPSTREAM_UNAVAILABLE',
          `server ${name} is ${this.status.state}${why}`,
        );
      }
    }
  }

  /** What the calls of an unresponsive server fail with: in flight when it was marked, or new. */
  private stoppedAnswering(phase: DownPhase): UpstreamError {
    const why = this.lastError ?? 'no answer to a ping';
    return new UpstreamError(
      'UPSTREAM_UNRESPONSIVE',
      `server ${this.config.name} stopped answering (${why}); it was killed and is restarting ${this.next(phase)}`,
    );
  }

  /** `(attempt 2); expected back in about 4 s`, from the backoff's own schedule. */
  private next(phase: DownPhase): string {
    const attempt = `attempt ${this.failures}`;
    if (phase.retryTimer === undefined) return `(${attempt} is under way)`;
    const seconds = Math.max(1, Math.ceil((phase.retryAt - this.clock.now()) / 1000));
    return `(${attempt}); expected back in about ${seconds} s`;
  }

  private callFailed(conn: Connection, error: unknown, options: CallOptions): UpstreamError {
    const mapped = toUpstreamError(error, options.signal);
    // A transport failure on an HTTP session may be the server dying: check now, not at the next ping.
    if (mapped.code === 'UPSTREAM_UNAVAILABLE') this.keeper.checkNow(conn);
    return mapped;
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────

  /** One attempt to bring the server up; on failure it schedules the next one. */
  private async attempt(): Promise<void> {
    if (this.phase.state === 'stopped') return;
    if (this.phase.state === 'idle') this.enter({ state: 'starting' });
    else {
      this.restarts++;
      this.emitState();
    }
    let conn: Connection | undefined;
    try {
      conn = this.connect();
      await conn.open(this.listTimeoutMs);
      const tools = await conn.listTools(this.listTimeoutMs);
      if (this.stopped) return;
      this.becomeReady(conn, tools);
    } catch (error) {
      // A child that died during the handshake says more by its exit than "Connection closed".
      const reason = conn?.describeEnd() ?? messageOf(error);
      await conn?.close();
      if (this.stopped) return;
      this.scheduleRestart(reason);
    }
  }

  private connect(): Connection {
    const conn = new Connection(this.config, this.hooks, {
      logger: this.log,
      stopGraceMs: this.stopGraceMs,
      maxResultBytes: this.maxResultBytes,
      maxArgumentsBytes: this.maxArgumentsBytes,
      clock: this.clock,
    });
    this.connections.add(conn);
    void conn.closed().then(() => this.connections.delete(conn));
    return conn;
  }

  private becomeReady(conn: Connection, tools: ToolListing): void {
    const stableTimer = this.clock.setTimeout(() => {
      this.failures = 0;
    }, this.policy.stableMs);
    this.setTools(tools);
    this.enter({ state: 'ready', conn, stableTimer });
    this.keeper.watch(conn);
    this.log.info({ tools: tools.tools.length, serverPid: conn.pid }, 'ready');
  }

  /** The live connection ended by itself: reject its calls (close) and restart later. */
  private lost(conn: Connection, reason: string): void {
    void conn.close();
    if (this.readyWith(conn) === undefined) return;
    this.log.warn({ reason: redact(reason) }, 'upstream lost');
    this.scheduleRestart(reason);
  }

  /**
   * The live connection stopped answering pings: it is marked, its calls fail at once with what
   * happens next, and it is killed (SIGKILL to a child's group) and restarted after the backoff.
   */
  private unresponsive(conn: Connection, reason: string): void {
    if (this.readyWith(conn) === undefined) {
      void conn.close();
      return;
    }
    this.log.warn({ reason, serverPid: conn.pid }, 'upstream unresponsive; killing it');
    const phase = this.scheduleRestart(reason, 'unresponsive');
    // Even when this makes a crash loop (`failed`), its calls hear what happened to them.
    void conn.abandon(this.stoppedAnswering(phase));
  }

  private scheduleRestart(
    why: string,
    down: 'restarting' | 'unresponsive' = 'restarting',
  ): DownPhase {
    const reason = redact(why);
    this.failures++;
    this.lastError = reason;
    const delay = restartDelay(this.failures, this.policy, this.random);
    // A crash loop reads `failed` whatever the last failure was.
    const state: DownPhase['state'] = isFailing(this.failures) ? 'failed' : down;
    const phase: DownPhase = { state, retryAt: this.clock.now() + delay };
    phase.retryTimer = this.clock.setTimeout(() => {
      phase.retryTimer = undefined;
      void this.attempt();
    }, delay);
    this.enter(phase);
    this.log.warn({ reason, delayMs: delay, failures: this.failures }, `${state}; retrying`);
    return phase;
  }

  /** The single teardown path of a state's timers. */
  private enter(next: Phase): void {
    const prev = this.phase;
    if (prev.state === 'ready') {
      this.clock.clearTimeout(prev.stableTimer);
      this.keeper.unwatch();
    } else if (
      prev.state === 'restarting' ||
      prev.state === 'unresponsive' ||
      prev.state === 'failed'
    ) {
      this.clock.clearTimeout(prev.retryTimer);
    }
    this.phase = next;
    if (prev.state !== next.state) this.since = this.clock.now();
    this.emitState();
  }

  /** The ready phase if `conn` is still its connection (async steps re-check with this). */
  private readyWith(conn: Connection): ReadyPhase | undefined {
    return this.phase.state === 'ready' && this.phase.conn === conn ? this.phase : undefined;
  }

  /** A method, not an inline test: TypeScript keeps a narrowed `phase` across awaits. */
  private get stopped(): boolean {
    return this.phase.state === 'stopped';
  }

  // ── tools and stderr ────────────────────────────────────────────────────────────────────

  /** list_changed: list again; notifications during a listing cause one more listing. */
  private async refreshTools(conn: Connection): Promise<void> {
    const running = this.refreshing.get(conn);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const refresh = { again: false };
    this.refreshing.set(conn, refresh);
    try {
      do {
        refresh.again = false;
        const tools = await conn.listTools(this.listTimeoutMs);
        if (this.readyWith(conn) === undefined) return;
        this.setTools(tools);
      } while (refresh.again);
    } catch (error) {
      this.log.warn({ err: loggable(error) }, 'refreshing tools failed');
      if (isSessionGone(error)) void this.keeper.renew(conn);
    } finally {
      this.refreshing.delete(conn);
    }
  }

  private setTools(listing: ToolListing): void {
    this.noteDropped(listing);
    if (this.toolList.update(listing.tools)) this.safeEmit('tools', this.toolList.tools);
  }

  /**
   * Tools left out of a listing (limits.ts) are said in lastError, which stays while they are,
   * and in a warning when that changes; a later listing that keeps everything clears it.
   */
  private noteDropped(listing: ToolListing): void {
    const previous = this.toolsNote;
    const note =
      listing.dropped.length === 0
        ? undefined
        : redact(`not every tool was kept: ${listing.dropped.join('; ')}`);
    this.toolsNote = note;
    if (note !== undefined && note !== previous) {
      this.log.warn({ tools: listing.tools.length }, note);
    }
    const lastError = note ?? (this.lastError === previous ? undefined : this.lastError);
    if (lastError === this.lastError) return;
    this.lastError = lastError;
    // Entering ready reports the state anyway; a refresh while ready has to.
    if (this.phase.state === 'ready') this.emitState();
  }

  /** Stored, shown and logged, so redacted first: servers print their config when they fail. */
  private stderrLine(raw: string): void {
    const line = redact(raw);
    this.stderr.push(line);
    this.log.debug({ line }, 'stderr');
    this.safeEmit('stderr', line);
  }

  private emitState(): void {
    this.safeEmit('state', this.status);
  }

  /** A throwing listener must not break the supervisor that emitted the event. */
  private safeEmit<K extends keyof UpstreamEvents>(event: K, ...args: UpstreamEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: UpstreamEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log.error({ err: loggable(error), event }, 'an upstream event listener threw');
    }
  }
}
