import type { Transition } from '@tether/link';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../coord/ownership.js';
import type { EndpointStatus } from '../endpoint/session.js';
import type { EndpointStatusRow, Store, ToolCallEntry } from '../store/types.js';

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
 * in order; they never block the supervisor, and a failing store is logged, not thrown.
 */
export class StatusMirror {
  private readonly chains = new Map<string, Promise<void>>();

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
  ) {}

  transition(lease: Lease, t: Transition, status: EndpointStatus, health: number | null): void {
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
      updatedAt: Date.now(),
    };
    const live = this.live;
    if (live)
      this.enqueue(`live:${endpointId}`, async () => {
        if (!(await live(row))) this.fencedOut(endpointId, lease.fence);
      });
    this.enqueue(endpointId, async () => {
      const written = await this.store.status.write(row);
      if (!written) {
        this.fencedOut(endpointId, lease.fence);
        return;
      }
      await this.store.timeline.append({
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
    });
  }

  /**
   * Calls are logged in batches (one insert every 200 ms at most): a query per call would cost
   * more than relaying the call itself.
   */
  toolCall(entry: ToolCallEntry): void {
    this.calls.push(entry);
    if (this.callTimer) return;
    this.callTimer = setTimeout(() => this.flushCalls(), 200);
    this.callTimer.unref();
  }

  private calls: ToolCallEntry[] = [];
  private callTimer: NodeJS.Timeout | undefined;

  private flushCalls(): void {
    clearTimeout(this.callTimer);
    this.callTimer = undefined;
    const batch = this.calls.splice(0, this.calls.length);
    if (batch.length > 0) this.enqueue('calls', () => this.store.toolCalls.appendMany(batch));
  }

  private fencedOut(endpointId: string, fence: number): void {
    this.logger.warn(
      { endpoint: endpointId, fence },
      'status write fenced out: another instance owns this endpoint',
    );
    this.onFencedOut(endpointId);
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
  switch (c.type) {
    case 'close':
      return c.reason || null;
    case 'error':
      return c.message;
    case 'heartbeat':
      return `no sign of life for ${c.silentMs} ms (${c.missed} ping(s) unanswered)`;
    case 'dead':
    case 'reconnect':
      return c.reason;
    case 'person':
      return c.action;
    default:
      return null;
  }
}
