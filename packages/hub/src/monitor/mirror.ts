import { systemClock } from '@tether/link';
import type { Clock, Transition } from '@tether/link';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../coord/ownership.js';
import type {
  EndpointStatusRow,
  StatusBatchResult,
  Store,
  TimelineEntry,
  ToolCallEntry,
} from '../store/types.js';

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
  /** Status, and calls, are written in one batch per this long at most. Default 200. */
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
 * Mirrors each endpoint's supervisor into the store. Status goes in batches, at most one every
 * batchMs: the first change after a quiet spell at once, the rest collected meanwhile and
 * written together in one transaction — the newest row per endpoint (with the lease's fence)
 * and every transition for the timeline. A burst of handshakes thus costs a few batches a
 * second instead of a statement per transition (issue #13). Batches run one at a time, so an
 * endpoint's rows land in order; they never block the supervisor. A database that is away is
 * said once; what it failed to take is kept (bounded) and retried until it lands.
 *
 *   transition ──> pending (newest row per endpoint, every timeline entry)
 *                    │  quiet for batchMs: at once; else when batchMs has passed
 *                    v
 *                  store.status.writeBatch(rows, entries) ── fails ──> kept as pending;
 *                    │                                                 retried with a
 *                    v                                                 growing pause
 *                  fenced: hand the endpoint over · gone (removed): dropped
 */
export class StatusMirror {
  private readonly chains = new Map<string, Promise<void>>();
  /** The next status batch: the newest row per endpoint… */
  private readonly pendingRows = new Map<string, EndpointStatusRow>();
  /** …every timeline entry since the last batch (at most maxUnsent while the store is away)… */
  private pendingTimeline: TimelineEntry[] = [];
  /** …and the endpoints whose pending row is one the database failed: refused, it is old news. */
  private readonly retried = new Set<string>();
  /** A status batch is queued and has not yet taken what is pending. */
  private statusQueued = false;
  private statusTimer: unknown;
  private lastBatchAt = Number.NEGATIVE_INFINITY;
  /** Calls the database failed, at most maxUnsent (the oldest go first). */
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
    this.pendingRows.set(endpointId, row);
    this.retried.delete(endpointId);
    // Waiting for a turn in the connect budget is status, not history: in a storm every link
    // waits once, and the timeline would fill with as many rows as there are endpoints.
    if (t.cause.type !== 'budget') {
      this.pendingTimeline.push({
        endpointId,
        at: t.at,
        from: t.from,
        to: t.to,
        cause: t.cause.type,
        code: t.cause.type === 'close' ? t.cause.code : null,
        reason: reasonOf(t),
        detectedBy: detectedBy(t),
        instance: this.instance,
      });
      if (this.outage) this.bound(this.pendingTimeline);
    }
    this.scheduleStatus();
  }

  /** At once after a quiet spell, else when batchMs has passed since the last batch. */
  private scheduleStatus(): void {
    // While the store is away the retry timer writes what is pending.
    if (this.statusQueued || this.statusTimer !== undefined || this.outage) return;
    const wait = this.lastBatchAt + this.settings.batchMs - this.clock.now();
    if (wait > 0) {
      this.statusTimer = this.clock.setTimeout(() => {
        this.statusTimer = undefined;
        this.queueStatus();
      }, wait);
      return;
    }
    this.queueStatus();
  }

  private queueStatus(): void {
    if (this.statusQueued) return;
    this.statusQueued = true;
    this.enqueue('status', () => this.writeStatus().then(() => undefined));
  }

  /**
   * Writes what is pending as one batch; true when it landed (or there was nothing to write).
   * A database that cannot be reached keeps all of it, for the retry.
   */
  private async writeStatus(): Promise<boolean> {
    this.statusQueued = false;
    this.lastBatchAt = this.clock.now();
    if (this.pendingRows.size === 0 && this.pendingTimeline.length === 0) return true;
    const rows = [...this.pendingRows.values()];
    const timeline = this.pendingTimeline;
    const retried = this.retried.size > 0 ? new Set(this.retried) : undefined;
    this.pendingRows.clear();
    this.pendingTimeline = [];
    this.retried.clear();
    let result: StatusBatchResult;
    try {
      result = await this.store.status.writeBatch(rows, timeline);
    } catch (error) {
      // Back in front of what came meanwhile; a newer row of the same endpoint wins.
      for (const row of rows) {
        if (this.pendingRows.has(row.endpointId)) continue;
        this.pendingRows.set(row.endpointId, row);
        this.retried.add(row.endpointId);
      }
      this.pendingTimeline = timeline.concat(this.pendingTimeline);
      this.bound(this.pendingTimeline);
      this.failed(error as Error);
      return false;
    }
    for (const id of result.fenced) {
      // A retried row is old news: refused because we already gave the endpoint up.
      if (retried?.has(id)) continue;
      this.fencedOut(id, rows.find((row) => row.endpointId === id)!.fence);
    }
    // Removed while its writes waited: its rows went with it, and so do these.
    if (result.gone.length > 0)
      this.logger.debug({ endpoints: result.gone }, 'status of removed endpoints not mirrored');
    return true;
  }

  /** Keeps the newest maxUnsent entries of a list, counting what goes. */
  private bound<T>(list: T[]): void {
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
    // The retry writes what is pending; a batch of its own meanwhile would only fail too.
    this.clock.clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    if (this.retryTimer !== undefined) return;
    this.retryTimer = this.clock.setTimeout(() => this.retry(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.settings.retryMaxMs);
  }

  private retry(): void {
    this.retryTimer = undefined;
    const calls = this.unsentCalls.splice(0);
    this.statusQueued = true;
    this.enqueue('status', async () => {
      const status = await this.writeStatus();
      const logged = calls.length === 0 || (await this.writeCalls(calls));
      if (!status || !logged || !this.outage) return;
      this.outage = false;
      this.retryMs = this.settings.retryFirstMs;
      this.logger.info(
        { dropped: this.dropped },
        this.dropped > 0
          ? `store reachable again; ${this.dropped} of the oldest writes were dropped while it was away`
          : 'store reachable again; every kept write landed',
      );
      this.dropped = 0;
      // What came while this batch was on its way waits for the next.
      if (this.pendingRows.size > 0 || this.pendingTimeline.length > 0) this.scheduleStatus();
    });
  }

  private async writeCalls(batch: ToolCallEntry[]): Promise<boolean> {
    try {
      await this.store.toolCalls.appendMany(batch);
      return true;
    } catch (error) {
      this.unsentCalls.push(...batch);
      this.bound(this.unsentCalls);
      this.failed(error as Error);
      return false;
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
    if (batch.length > 0) this.enqueue('calls', () => this.writeCalls(batch).then(() => undefined));
  }

  private fencedOut(endpointId: string, fence: number): void {
    this.logger.warn(
      { endpoint: endpointId, fence },
      'status write fenced out: another instance owns this endpoint',
    );
    this.onFencedOut(endpointId);
  }

  /** Stops batching and retrying (the hub stops; what is still unsent is lost with the process). */
  close(): void {
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.clock.clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
  }

  /** Writes what waits for its batch now, and resolves when every write so far has landed. */
  async flush(): Promise<void> {
    this.flushCalls();
    this.clock.clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    if (this.pendingRows.size > 0 || this.pendingTimeline.length > 0) this.queueStatus();
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
