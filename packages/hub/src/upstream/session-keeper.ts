import { ProtocolError, SdkError, SdkErrorCode, SseError } from '@modelcontextprotocol/client';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import type { Logger } from '../log/logger.js';
import type { Connection } from './connection.js';
import { isSessionGone, messageOf } from './errors.js';
import type { ToolListing } from './tool-list.js';

/** What the keeper needs from the supervisor that owns the live connection. */
export interface SessionHost {
  /** Whether `conn` is still the live connection of a ready upstream. */
  isCurrent(conn: Connection): boolean;
  connect(): Connection;
  /** Puts `next` in the place of `old`, with the tools it listed. */
  replace(old: Connection, next: Connection, tools: ToolListing): void;
  lost(conn: Connection, reason: string): void;
  /** A ping went unanswered: the server is there (or seems to be) but no longer speaks. */
  unresponsive(conn: Connection, reason: string): void;
}

export interface SessionKeeperOptions {
  /** A ping this often, counted from when the last one was sent; 0: never. */
  pingIntervalMs: number;
  listTimeoutMs: number;
  /** HTTP and SSE: re-initialise a session the server forgot (404). Never for stdio. */
  renewSessions: boolean;
  logger: Logger;
  /** Paces the pings. Default systemClock. */
  clock?: Clock;
}

/** How long a ping may take: the interval (at least 1 s, at most listTimeoutMs). */
export function pingTimeout(pingIntervalMs: number, listTimeoutMs: number): number {
  return Math.min(Math.max(pingIntervalMs, 1000), listTimeoutMs);
}

/**
 * Keeps a session honest. No transport reports a hung server by itself (a SIGSTOPped or wedged
 * stdio child keeps its pipes open; Streamable HTTP never closes on its own; an SSE client may
 * sit on a stream that will never speak again), so a ping goes out every pingIntervalMs:
 *
 *   ping ─▶ any answer, even a JSON-RPC error ─▶ next ping at sent + interval
 *     ├──▶ no answer within the interval ─▶ unresponsive (the supervisor kills and restarts)
 *     └──▶ the request failed (connection refused, …) ─▶ lost (the supervisor restarts)
 *
 * Pings are paced from when each was sent, so a server that stops just after answering one is
 * marked within two intervals: the next ping leaves within one, and has one to be answered.
 *
 * A 404 (HTTP and SSE) is different: the server is there but has forgotten our session. The
 * session is re-initialised in place (new client and transport), once for everyone who met it:
 *
 *   404 (call, ping or GET stream) ─▶ initialize ─▶ tools/list ─▶ replace ─▶ old one retires
 *                                          └──── fails ─▶ lost (the supervisor restarts)
 */
export class SessionKeeper {
  private renewal?: Promise<Connection | undefined>;
  private timer?: unknown;
  /** The connection a ping is out on, so two pings never overlap on one connection. */
  private pinging?: Connection;

  private readonly clock: Clock;

  constructor(
    private readonly host: SessionHost,
    private readonly options: SessionKeeperOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** A re-initialisation in progress; calls wait for it rather than meet the 404 too. */
  get renewing(): Promise<Connection | undefined> | undefined {
    return this.renewal;
  }

  /** Pings `conn` from now on (replacing whatever was watched before). */
  watch(conn: Connection): void {
    this.schedule(conn, this.options.pingIntervalMs);
  }

  private schedule(conn: Connection, delayMs: number): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.options.pingIntervalMs <= 0) return;
    this.timer = this.clock.setTimeout(() => void this.ping(conn), delayMs);
  }

  /** Something failed on `conn`: ping now rather than at the next tick. */
  checkNow(conn: Connection): void {
    if (!this.host.isCurrent(conn)) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    void this.ping(conn);
  }

  /** The only teardown: no ping is scheduled afterwards. */
  unwatch(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Single-flight: the new connection, or undefined if `old` is no longer worth renewing (or is
   * stdio, whose "session" is the child itself: a second one would be a second server).
   */
  renew(old: Connection): Promise<Connection | undefined> {
    if (!this.options.renewSessions || !this.host.isCurrent(old)) return Promise.resolve(undefined);
    this.renewal ??= this.reinitialise(old).finally(() => {
      this.renewal = undefined;
    });
    return this.renewal;
  }

  transportError(conn: Connection, error: Error): void {
    if (!this.host.isCurrent(conn)) return;
    // Legacy SSE: the event stream is the session; once it breaks, nothing more will arrive.
    if (conn.config.type === 'sse' && error instanceof SseError) {
      const status = error.code === undefined ? '' : ` (HTTP ${error.code})`;
      this.host.lost(conn, `the SSE stream ended${status}`);
    } else if (isSessionGone(error)) {
      void this.renew(conn);
    }
  }

  private async reinitialise(old: Connection): Promise<Connection | undefined> {
    this.options.logger.info('session expired; re-initialising');
    const conn = this.host.connect();
    try {
      await conn.open(this.options.listTimeoutMs);
      const tools = await conn.listTools(this.options.listTimeoutMs);
      if (!this.host.isCurrent(old)) {
        await conn.close();
        return undefined;
      }
      this.host.replace(old, conn, tools);
      this.watch(conn);
      old.retire();
      return conn;
    } catch (error) {
      await conn.close();
      this.host.lost(old, `session expired and re-initialising failed: ${messageOf(error)}`);
      return undefined;
    }
  }

  private async ping(conn: Connection): Promise<void> {
    if (!this.host.isCurrent(conn) || this.pinging === conn) return;
    this.pinging = conn;
    const { pingIntervalMs, listTimeoutMs, renewSessions } = this.options;
    const timeoutMs = pingTimeout(pingIntervalMs, listTimeoutMs);
    const sentAt = this.clock.now();
    let failure: unknown;
    try {
      await conn.ping(timeoutMs);
    } catch (error) {
      failure = error ?? new Error('ping failed');
    }
    if (this.pinging === conn) this.pinging = undefined;
    if (!this.host.isCurrent(conn)) return;
    // A server that answers with an error (one that never learnt `ping`) is alive all the same.
    if (failure === undefined || failure instanceof ProtocolError) {
      this.schedule(conn, Math.max(0, sentAt + pingIntervalMs - this.clock.now()));
    } else if (renewSessions && isSessionGone(failure)) {
      await this.renew(conn);
    } else if (failure instanceof SdkError && failure.code === SdkErrorCode.RequestTimeout) {
      this.host.unresponsive(conn, `no answer to a ping within ${timeoutMs} ms`);
    } else {
      this.host.lost(conn, `ping failed: ${messageOf(failure)}`);
    }
  }
}
