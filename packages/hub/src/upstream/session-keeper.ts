import { SseError } from '@modelcontextprotocol/client';
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
}

export interface SessionKeeperOptions {
  pingIntervalMs: number;
  listTimeoutMs: number;
  logger: Logger;
}

/**
 * Keeps an HTTP or SSE session honest. Neither transport reports a dead server by itself
 * (Streamable HTTP never closes on its own; an SSE client may sit on a stream that will never
 * speak again), so a ping goes out every pingIntervalMs and a failure means the server is lost.
 *
 * A 404 is different: the server is there but has forgotten our session. The session is
 * re-initialised in place (new client and transport), once for everyone who met the 404:
 *
 *   404 (call, ping or GET stream) ─▶ initialize ─▶ tools/list ─▶ replace ─▶ old one retires
 *                                          └──── fails ─▶ lost (the supervisor restarts)
 */
export class SessionKeeper {
  private renewal?: Promise<Connection | undefined>;
  private timer?: NodeJS.Timeout;
  /** The connection a ping is out on, so two pings never overlap on one connection. */
  private pinging?: Connection;

  constructor(
    private readonly host: SessionHost,
    private readonly options: SessionKeeperOptions,
  ) {}

  /** A re-initialisation in progress; calls wait for it rather than meet the 404 too. */
  get renewing(): Promise<Connection | undefined> | undefined {
    return this.renewal;
  }

  /** Pings `conn` from now on (replacing whatever was watched before). */
  watch(conn: Connection): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.ping(conn), this.options.pingIntervalMs).unref();
  }

  /** Something failed on `conn`: ping now rather than at the next tick. */
  checkNow(conn: Connection): void {
    if (!this.host.isCurrent(conn)) return;
    clearTimeout(this.timer);
    void this.ping(conn);
  }

  /** The only teardown: no ping is scheduled afterwards. */
  unwatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Single-flight: the new connection, or undefined if `old` is no longer worth renewing. */
  renew(old: Connection): Promise<Connection | undefined> {
    if (!this.host.isCurrent(old)) return Promise.resolve(undefined);
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
    const { pingIntervalMs, listTimeoutMs } = this.options;
    let failure: unknown;
    try {
      await conn.ping(Math.min(Math.max(pingIntervalMs, 1000), listTimeoutMs));
    } catch (error) {
      failure = error ?? new Error('ping failed');
    }
    if (this.pinging === conn) this.pinging = undefined;
    if (!this.host.isCurrent(conn)) return;
    if (failure === undefined) this.watch(conn);
    else if (isSessionGone(failure)) await this.renew(conn);
    else this.host.lost(conn, `ping failed: ${messageOf(failure)}`);
  }
}
