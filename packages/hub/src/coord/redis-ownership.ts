import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import type { Logger } from '../log/logger.js';
import { clusterKeys, leaseValue } from './keys.js';
import type { ClusterKeys } from './keys.js';
import type { Lease, Ownership } from './ownership.js';
import { defineLeaseScripts, leasePipeline } from './scripts.js';
import type { LeaseCommands } from './scripts.js';

export interface RedisOwnershipOptions {
  /** A client (yours to close, after close()); the lease scripts are defined on it. */
  redis: Redis;
  /** This instance's name, the owner of every lease it takes. */
  instance: string;
  /** Prefix of every key (default `tether:`), so tests and tenants never collide. */
  prefix?: string;
  /** Lease TTL in ms (default 10000); every held lease is renewed at a third of it. */
  ttlMs?: number;
  /**
   * A lease whose renewals Redis has not confirmed is given up this long before its key could
   * expire (default a fifth of the TTL), leaving the owner time to drop its socket before anyone
   * else can acquire. Below two thirds of the TTL, or a lease would be lost before its first
   * renewal could be confirmed.
   */
  safetyMarginMs?: number;
  /**
   * A lease whose fence counter was missing (Redis lost its keys, or a first acquisition) is
   * handed out only after this long: a previous owner's next renewal, which is refused and
   * makes it close its socket, and time for the close. Default TTL/3 + TTL/10.
   */
  settleMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A lease we hold and what we know of its key. */
interface Held {
  readonly lease: Lease;
  /** What the key holds; only we know the token in it. */
  readonly value: string;
  /**
   * When the last acquisition or renewal that Redis confirmed was *sent*. Redis ran it later,
   * so the key lives at least a TTL past this moment, however long the answer took to come back.
   */
  confirmedSentAt: number;
}

/** One renewal round in flight at most: one queued behind a stuck one is answered no sooner. */
type Round = 'idle' | 'sending' | 'sending, another owed';

/**
 * Ownership shared by a cluster through Redis leases, one per endpoint.
 *
 *   acquire   SET lease NX PX ttl = token+instance, INCR fence   → Lease{fence}  (or null: held)
 *   every ttl/3, one pipeline for all held leases:
 *             compare token, PEXPIRE                            → 1 confirmed, 0 refused → lost
 *   no confirmation for ttl − margin since the last confirmed one was sent               → lost
 *   release   compare token, DEL                                (never someone else's key)
 *
 * A lost lease is forgotten and reported once through onLost, and its listeners drop the
 * socket: refused means someone else may hold it already; unconfirmed means the key could
 * expire within the margin, so the socket goes before anyone else can acquire.
 */
export class RedisOwnership implements Ownership {
  readonly instance: string;
  readonly ttlMs: number;
  readonly safetyMarginMs: number;
  private readonly renewEveryMs: number;
  private readonly settleMs: number;
  private readonly redis: Redis & LeaseCommands;
  private readonly keys: ClusterKeys;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly leases = new Map<string, Held>();
  private readonly acquiring = new Map<string, Promise<Lease | null>>();
  private readonly listeners = new Set<(endpointId: string) => void>();
  /** The one timer: set exactly while leases are held, for the next round or loss deadline. */
  private timer: { handle: unknown; at: number } | undefined;
  private nextRoundAt = 0;
  private round: Round = 'idle';
  private closing: Promise<void> | undefined;

  constructor(options: RedisOwnershipOptions) {
    const ttlMs = options.ttlMs ?? 10_000;
    if (!Number.isInteger(ttlMs) || ttlMs < 3)
      throw new RangeError(`ttlMs must be an integer of at least 3, got ${ttlMs}`);
    this.renewEveryMs = Math.floor(ttlMs / 3);
    this.settleMs = options.settleMs ?? this.renewEveryMs + Math.floor(ttlMs / 10);
    const margin = options.safetyMarginMs ?? Math.floor(ttlMs / 5);
    if (!(margin >= 0 && margin < ttlMs - this.renewEveryMs))
      throw new RangeError(
        `safetyMarginMs must be in [0, ${ttlMs - this.renewEveryMs}) for ttlMs ${ttlMs}: ${margin}`,
      );
    this.instance = options.instance;
    this.ttlMs = ttlMs;
    this.safetyMarginMs = margin;
    this.redis = defineLeaseScripts(options.redis);
    this.keys = clusterKeys(options.prefix);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  acquire(endpointId: string): Promise<Lease | null> {
    if (this.closing) return Promise.resolve(null);
    const held = this.leases.get(endpointId);
    if (held) return Promise.resolve(held.lease);
    // Two callers asking at once share one attempt; a second SET NX would only fail on our key.
    let attempt = this.acquiring.get(endpointId);
    if (!attempt) {
      attempt = this.tryAcquire(endpointId).finally(() => this.acquiring.delete(endpointId));
      this.acquiring.set(endpointId, attempt);
    }
    return attempt;
  }

  async renew(lease: Lease): Promise<boolean> {
    const held = this.heldFor(lease);
    if (!held) return false;
    const sentAt = this.clock.now();
    let result: unknown;
    try {
      result = await this.redis.tetherLeaseRenew(this.key(held), held.value, this.ttlMs);
    } catch (error) {
      this.logger?.warn({ err: error, endpoint: lease.endpointId }, 'lease renewal failed');
      // Not refused, merely unanswered: the lease holds until its deadline says otherwise.
      return this.leases.get(lease.endpointId) === held;
    }
    return this.settle(held, sentAt, result);
  }

  async release(lease: Lease): Promise<void> {
    const held = this.heldFor(lease);
    if (!held) return;
    this.leases.delete(lease.endpointId);
    this.stopIfIdle();
    await this.bounded(
      this.sendRelease(lease.endpointId, held.value),
      this.deadlineOf(held) - this.clock.now(),
    );
  }

  onLost(listener: (endpointId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  held(): Lease[] {
    return [...this.leases.values()].map((held) => held.lease);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const all = [...this.leases.values()];
    this.leases.clear();
    this.stopIfIdle();
    this.listeners.clear();
    if (all.length === 0) return;
    const pipeline = leasePipeline(this.redis);
    for (const held of all) pipeline.tetherLeaseRelease(this.key(held), held.value);
    const sent = pipeline.exec().then(
      (replies) => {
        const failed = replies?.find(([error]) => error)?.[0];
        if (failed) this.warnReleaseFailed(failed, all.length);
      },
      (error: unknown) => this.warnReleaseFailed(error, all.length),
    );
    const latest = all.reduce((at, held) => Math.max(at, this.deadlineOf(held)), 0);
    await this.bounded(sent, latest - this.clock.now());
  }

  private async tryAcquire(endpointId: string): Promise<Lease | null> {
    const value = leaseValue(this.instance, randomBytes(16).toString('hex'));
    const sentAt = this.clock.now();
    let fence: number;
    let counterExisted: boolean;
    try {
      const [answer, existed] = await this.redis.tetherLeaseAcquire(
        this.keys.lease(endpointId),
        this.keys.fence(endpointId),
        value,
        this.ttlMs,
        Math.floor(sentAt),
      );
      fence = Number(answer);
      counterExisted = Number(existed) === 1;
    } catch (error) {
      this.logger?.warn({ err: error, endpoint: endpointId }, 'lease acquisition failed');
      // The script may have run before the reply was lost: free the key rather than orphan it.
      void this.sendRelease(endpointId, value);
      return null;
    }
    if (!(fence > 0)) return null;
    const held: Held = {
      lease: { endpointId, owner: this.instance, fence },
      value,
      confirmedSentAt: sentAt,
    };
    if (this.closing || this.clock.now() >= this.deadlineOf(held)) {
      // Answered too late to be used safely, or we are shutting down: hand it straight back.
      void this.sendRelease(endpointId, value);
      return null;
    }
    this.leases.set(endpointId, held);
    if (!this.timer) this.nextRoundAt = this.clock.now() + this.renewEveryMs;
    this.wakeBy(Math.min(this.nextRoundAt, this.deadlineOf(held)));
    if (!counterExisted && this.settleMs > 0) {
      // Redis lost its keys (or this endpoint was never leased): whoever held it before finds
      // out only at its next renewal, and closes its socket then. Until that can have
      // happened, the lease is held (and renewed) but not yet handed out.
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.settleMs));
      if (this.leases.get(endpointId) !== held) return null;
    }
    return held.lease;
  }

  /** Losses first (their deadlines are hard), then the round if due, then the next wake-up. */
  private onTimer(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (const held of [...this.leases.values()]) {
      if (now >= this.deadlineOf(held))
        this.lose(held, 'unconfirmed', `no renewal confirmed for ${now - held.confirmedSentAt} ms`);
    }
    if (this.leases.size === 0) return;
    if (now >= this.nextRoundAt) {
      this.nextRoundAt = now + this.renewEveryMs;
      this.startRound();
    }
    let at = this.nextRoundAt;
    for (const held of this.leases.values()) at = Math.min(at, this.deadlineOf(held));
    this.wakeBy(at);
  }

  private startRound(): void {
    if (this.round !== 'idle') {
      this.round = 'sending, another owed';
      return;
    }
    this.round = 'sending';
    void this.renewAll()
      .catch((error: unknown) => this.logger?.warn({ err: error }, 'lease renewal failed'))
      .finally(() => {
        const owed = this.round === 'sending, another owed';
        this.round = 'idle';
        // A tick skipped while the last round hung is made up as soon as it returns.
        if (owed && !this.closing && this.leases.size > 0) this.startRound();
      });
  }

  private async renewAll(): Promise<void> {
    const batch = [...this.leases.values()];
    if (batch.length === 0) return;
    const sentAt = this.clock.now();
    const pipeline = leasePipeline(this.redis);
    for (const held of batch) pipeline.tetherLeaseRenew(this.key(held), held.value, this.ttlMs);
    const replies = await pipeline.exec();
    let failed: unknown;
    let failures = 0;
    batch.forEach((held, i) => {
      const [error, result] = replies?.[i] ?? [new Error('no reply'), null];
      if (!error) {
        this.settle(held, sentAt, result);
      } else if (this.leases.get(held.lease.endpointId) === held) {
        failed = error;
        failures++;
      }
    });
    // One line per round, not one per lease: a Redis in trouble fails them all.
    if (failures > 0) this.logger?.warn({ err: failed, failures }, 'lease renewals failed');
  }

  /** Applies a renewal's answer; true while the lease is still ours. */
  private settle(held: Held, sentAt: number, result: unknown): boolean {
    // Released or lost while the answer travelled: nothing left to extend or to lose.
    if (this.leases.get(held.lease.endpointId) !== held) return false;
    if (Number(result) === 1) {
      held.confirmedSentAt = Math.max(held.confirmedSentAt, sentAt);
      return true;
    }
    this.lose(held, 'refused', 'renewal refused: the lease expired or was taken');
    return false;
  }

  private lose(held: Held, how: 'refused' | 'unconfirmed', reason: string): void {
    const { endpointId, fence } = held.lease;
    if (this.leases.get(endpointId) !== held) return;
    this.leases.delete(endpointId);
    this.stopIfIdle();
    this.logger?.warn({ endpoint: endpointId, fence, reason }, 'lease lost');
    for (const listener of [...this.listeners]) {
      try {
        listener(endpointId);
      } catch (error) {
        this.logger?.error({ err: error, endpoint: endpointId }, 'onLost listener threw');
      }
    }
    // Unconfirmed is not refused: the key may still be ours. Sent after the listeners dropped
    // the socket, it frees the endpoint as soon as Redis hears us again instead of at expiry.
    if (how === 'unconfirmed') void this.sendRelease(endpointId, held.value);
  }

  private async sendRelease(endpointId: string, value: string): Promise<void> {
    try {
      await this.redis.tetherLeaseRelease(this.keys.lease(endpointId), value);
    } catch (error) {
      this.warnReleaseFailed(error, 1);
    }
  }

  private warnReleaseFailed(error: unknown, leases: number): void {
    this.logger?.warn({ err: error, leases }, 'lease release failed; the key expires by itself');
  }

  /**
   * Waits for a release at most until the lease's own deadline: past it the key is about to
   * expire anyway, and a Redis that does not answer must not hold up a shutdown or a reload.
   */
  private async bounded(work: Promise<void>, ms: number): Promise<void> {
    let handle: unknown;
    const timeout = new Promise<void>((resolve) => {
      handle = this.clock.setTimeout(resolve, Math.max(0, ms));
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      this.clock.clearTimeout(handle);
    }
  }

  private wakeBy(at: number): void {
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    const handle = this.clock.setTimeout(() => this.onTimer(), Math.max(0, at - this.clock.now()));
    this.timer = { handle, at };
  }

  private stopIfIdle(): void {
    if (this.leases.size > 0 || !this.timer) return;
    this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
  }

  private deadlineOf(held: Held): number {
    return held.confirmedSentAt + this.ttlMs - this.safetyMarginMs;
  }

  private heldFor(lease: Lease): Held | undefined {
    const held = this.leases.get(lease.endpointId);
    return held?.lease.fence === lease.fence ? held : undefined;
  }

  private key(held: Held): string {
    return this.keys.lease(held.lease.endpointId);
  }
}
