import { systemClock } from '@tether/link';
import type { Clock, Transition } from '@tether/link';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../coord/ownership.js';
import type { EndpointStatusRow, Store, TimelineEntry, ToolCallEntry } from '../store/types.js';

/**
 * What the mirror reads of an endpoint's status: the part of the session's EndpointStatus that
 * goes into the row. Declared here so that monitor/ does not depend on endpoint/.
 */
export interface MirroredStatus {
  state: EndpointStatusRow['state'];
  since: number;
  lastClose: { code: number; reason: string; at: number } | null;
  lastError: string | null;
  attempts: number;
  nextRetryAt: number | null;
}

export interface StatusMirrorOptions {
  /** Times the batches, the retries and each row's updatedAt. Default systemClock. */
  clock?: Clock;
  /** Calls are logged in one insert per this long at most. Default 200. */
  batchMs?: number;
  /** The first pause before retrying what the database failed; it doubles. Default 1,000. */
  retryFirstMs?: number;
  /** The longest pause between retries. Default 30,000. */
  retryMaxMs?: number;
  /** Writes kept per kind while the database is away; the oldest go first. Default 10,000. */
  maxUnsent?: number;
}

const DEFAULTS = {
  batchMs: 200,
  retryFirstMs: 1_000,
  retryMaxMs: 30_000,
  maxUnsent: 10_000,
} as const;

/** How a loss was noticed, in words for the timeline. */
export function detectedBy(t: Transition): string | null {
  switch (t.cause.type) {
    case 'close':
      return t.from === 'connecting' ? 'refused during the upgrade' : 'close frame';
    case 'error':
      return 'socket error';
    case 'heartbeat':
      return 'heartbeat';
    case 'timeout':
      return 'connect timeout';
    case 'dead':
      return t.cause.reason.startsWith('zombie') ? 'monitor' : 'handshake watchdog';
    default:
      return null;
  }
}

/**
 * Mirrors each endpoint's supervisor into the store: one atomic status write per change (with
 * the lease's fence) and one timeline entry. Writes for one endpoint are chained so they land
 * in order; they never block the supervisor. A database that is away is said once; what it
 * failed to take is kept (bounded) and retried until it lands.
 */
export class StatusMirror {
  private readonly chains = new Map<string, Promise<void>>();
  /** Writes the database failed, waiting for the retry: the newest status row per endpoint… */
  private readonly unsentStatus = new Map<string, EndpointStatusRow>();
  /** …and timeline entries and calls, at most maxUnsent of each (the oldest go first). */
  private readonly unsentTimeline: TimelineEntry[] = [];
  private readonly unsentCalls: ToolCallEntry[] = [];
  private dropped = 0;
  private outage = false;
  private retryTimer: unknown;
  private retryMs: number;
  private readonly clock: Clock;
  private readonly settings: Required<Omit<StatusMirrorOptions, 'clock'>>;

  constructor(
    private readonly store: Store,
    private readonly instance: string,
    private readonly logger: Logger,
    /** Told when a write was fenced out: another instance owns the endpoint now. */
    private readonly onFencedOut: (endpointId: string) => void = () => {},
    /**
     * A cluster's live status (a Redis hash the other instances read), written before the
     * store and on its own chain so a slow or absent database does not hold it back; false
     * when fenced out.
     */
    private readonly live?: (row: EndpointStatusRow) => Promise<boolean>,
    options: StatusMirrorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.settings = {
      batchMs: options.batchMs ?? DEFAULTS.batchMs,
      retryFirstMs: options.retryFirstMs ?? DEFAULTS.retryFirstMs,
      retryMaxMs: options.retryMaxMs ?? DEFAULTS.retryMaxMs,
      maxUnsent: options.maxUnsent ?? DEFAULTS.maxUnsent,
    };
    this.retryMs = this.settings.retryFirstMs;
  }

  transition(lease: Lease, t: Transition, status: MirroredStatus, health: number | null): void {
    const endpointId = lease.endpointId;
    const row: EndpointStatusRow = {
      endpointId,
      state: status.state,
      since: status.since,
      lastCloseCode: status.lastClose?.code ?? null,
      lastCloseReason: status.lastClose?.reason ?? null,
      lastCloseAt: status.lastClose?.at ?? null,
      lastError: status.lastError,
      attempts: status.attempts,
      nextRetryAt: status.nextRetryAt,
      health,
      owner: this.instance,
      fence: lease.fence,
      updatedAt: this.clock.now(),
    };
    const live = this.live;
    if (live)
      this.enqueue(`live:${endpointId}`, async () => {
        if (!(await live(row))) this.fencedOut(endpointId, lease.fence);
      });
    const entry: TimelineEntry = {
      endpointId,
      at: t.at,
      from: t.from,
      to: t.to,
      cause: t.cause.type,
      code: t.cause.type === 'close' ? t.cause.code : null,
      reason: reasonOf(t),
      detectedBy: detectedBy(t),
      instance: this.instance,
    };
    // Waiting for a turn in the connect budget is status, not history: in a storm every link
    // waits once, and the timeline would fill with as many rows as there are endpoints.
    const historic = t.cause.type !== 'budget';
    this.enqueue(endpointId, () => this.writeStatus(row, historic ? entry : undefined));
  }

  /**
   * One status row, then its timeline entry. A database that cannot be reached keeps neither
   * from being said: the row (the newest per endpoint) and the entry wait to be retried.
   */
  private async writeStatus(
    row: EndpointStatusRow,
    entry: TimelineEntry | undefined,
    retried = false,
  ): Promise<void> {
    const id = row.endpointId;
    let written: boolean;
    try {
      written = await this.store.status.write(row);
    } catch (error) {
      const kept = this.unsentStatus.get(id);
      if (!kept || kept.updatedAt <= row.updatedAt) this.unsentStatus.set(id, row);
      if (entry) this.keep(this.unsentTimeline, [entry]);
      this.failed(error as Error);
      return;
    }
    const kept = this.unsentStatus.get(id);
    if (kept && kept.updatedAt <= row.updatedAt) this.unsentStatus.delete(id);
    if (!written) {
      // A retried row is old news: refused because we already gave the endpoint up.
      if (!retried) this.fencedOut(id, row.fence);
      return;
    }
    if (!entry) return;
    try {
      await this.store.timeline.append(entry);
    } catch (error) {
      this.keep(this.unsentTimeline, [entry]);
      this.failed(error as Error);
    }
  }

  /** Keeps writes for the retry, the newest ones when there are too many. */
  private keep<T>(list: T[], entries: readonly T[]): void {
    list.push(...entries);
    const over = list.length - this.settings.maxUnsent;
    if (over > 0) {
      list.splice(0, over);
      this.dropped += over;
    }
  }

  /** The database failed a write: said once per outage, retried with a growing pause. */
  private failed(error: Error): void {
    if (!this.outage) {
      this.outage = true;
      this.logger.error(
        { err: error },
        'store unreachable: status, timeline and call-log writes are kept and retried',
      );
    }
    if (this.retryTimer !== undefined) return;
    this.retryTimer = this.clock.setTimeout(() => this.retry(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.settings.retryMaxMs);
  }

  private retry(): void {
    this.retryTimer = undefined;
    for (const row of this.unsentStatus.values())
      this.enqueue(row.endpointId, () => this.writeStatus(row, undefined, true));
    const timeline = this.unsentTimeline.splice(0);
    const calls = this.unsentCalls.splice(0);
    this.enqueue('retry', async () => {
      for (let i = 0; i < timeline.length; i++) {
        try {
          await this.store.timeline.append(timeline[i]!);
        } catch (error) {
          this.keep(this.unsentTimeline, timeline.slice(i));
          this.failed(error as Error);
          break;
        }
      }
      if (calls.length > 0) await this.writeCalls(calls);
    });
    this.enqueue('retry', async () => {
      const waiting = this.unsentStatus.size + this.unsentTimeline.length + this.unsentCalls.length;
      if (waiting > 0 || !this.outage) return;
      this.outage = false;
      this.retryMs = this.settings.retryFirstMs;
      this.logger.info(
        { dropped: this.dropped },
        this.dropped > 0
          ? `store reachable again; ${this.dropped} of the oldest writes were dropped while it was away`
          : 'store reachable again; every kept write landed',
      );
      this.dropped = 0;
    });
  }

  private async writeCalls(batch: ToolCallEntry[]): Promise<void> {
    try {
      await this.store.toolCalls.appendMany(batch);
    } catch (error) {
      this.keep(this.unsentCalls, batch);
      this.failed(error as Error);
    }
  }

  /**
   * Calls are logged in batches (one insert every batchMs at most): a query per call would cost
   * more than relaying the call itself.
   */
  toolCall(entry: ToolCallEntry): void {
    this.calls.push(entry);
    if (this.callTimer !== undefined) return;
    this.callTimer = this.clock.setTimeout(() => this.flushCalls(), this.settings.batchMs);
  }

  private calls: ToolCallEntry[] = [];
  private callTimer: unknown;

  private flushCalls(): void {
    this.clock.clearTimeout(this.callTimer);
    this.callTimer = undefined;
    const batch = this.calls.splice(0, this.calls.length);
    if (batch.length > 0) this.enqueue('calls', () => this.writeCalls(batch));
  }

  private fencedOut(endpointId: string, fence: number): void {
    this.logger.warn(
      { endpoint: endpointId, fence },
      'status write fenced out: another instance owns this endpoint',
    );
    this.onFencedOut(endpointId);
  }

  /** Stops retrying (the hub stops; what is still unsent is lost with the process). */
  close(): void {
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Resolves when every write queued so far has landed (tests, shutdown). */
  async flush(): Promise<void> {
    this.flushCalls();
    await Promise.all([...this.chains.values()]);
  }

  private enqueue(key: string, write: () => Promise<void>): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(write)
      .catch((error: Error) => this.logger.error({ err: error, key }, 'store write failed'))
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }
}

function reasonOf(t: Transition): string | null {
  const c = t.cause;
  const damped =
    'damped' in c && c.damped
      ? ` — damped: ${c.damped.losses} losses within ${Math.round(c.damped.windowMs / 1000)} s, next try no sooner than ${c.damped.floorMs} ms`
      : '';
  switch (c.type) {
    case 'close':
      return (c.reason || `close ${c.code}`) + damped;
    case 'error':
      return c.message + damped;
    case 'heartbeat': {
      const why =
        c.check === 'send-failed'
          ? 'a send failed; '
          : c.check === 'backpressure'
            ? 'the send buffer kept growing; '
            : c.check === 'page'
              ? 'checked on the page returning; '
              : '';
      return `${why}no sign of life for ${c.silentMs} ms (${c.missed} ping(s) unanswered)${damped}`;
    }
    case 'dead':
      return c.reason + damped;
    case 'reconnect':
      return c.reason;
    case 'person':
      return c.action;
    case 'budget':
      return `waiting ${c.waitMs} ms for a turn in the hub-wide connect budget`;
    default:
      return null;
  }
}
