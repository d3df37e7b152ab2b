import type { Clock } from '@tether/link';
import type { Logger } from '../log/logger.js';
import type { EndpointStatusRow, Store } from '../store/types.js';
import { Balancer } from './balance.js';
import type { ClusterPort } from './cluster.js';

/** What the claim rounds need of the hub's sessions and leases. */
export interface ClaimTable {
  /** Every wanted endpoint (a session exists for each, held here or not). */
  names(): string[];
  has(name: string): boolean;
  holds(name: string): boolean;
  /** Neither held nor being claimed here. */
  isFree(name: string): boolean;
  /** Leases held plus claims being acquired. */
  readonly heldCount: number;
  heldNames(): string[];
  /** Calls running on the endpoint's socket here (idle ones are given up first). */
  busy(name: string): number;
  claim(name: string): void;
  /** Closes our socket, then releases the lease. */
  handOver(name: string, why: string): Promise<void>;
}

export interface ClaimRoundsOptions {
  instance: string;
  /** The other instances; absent when only the leases are shared (every round claims all). */
  cluster?: ClusterPort;
  table: ClaimTable;
  logger: Logger;
  clock: Clock;
  /** Where the owners' rows are read when Redis cannot be reached. */
  store?: Store;
  /** How often a round runs. Default 1,000. */
  intervalMs?: number;
  /** An endpoint given up for balance is not taken back by this instance for this long. Default 5,000. */
  handBackMs?: number;
  /** A remote endpoint's row changed (the event streams). */
  onRemote(name: string): void;
  random?: () => number;
}

/**
 * Several instances share the endpoints (docs/architecture.md, "Cluster"): every round, this
 * instance takes what is missing from its share among the endpoints nobody holds, or gives up
 * some when over it (coord/balance.ts); every few rounds it rereads the owners' live status of
 * the endpoints held elsewhere, in case an event was missed.
 */
export class ClaimRounds {
  private readonly balancer = new Balancer();
  private timer: unknown;
  private soon: NodeJS.Immediate | undefined;
  private rounds = 0;
  private running = false;
  private again = false;
  private stopped = true;
  /** Endpoints nobody held at the last round. */
  private seenFree = new Set<string>();
  /** Endpoints this instance gave up for balance, and when. */
  private readonly handedOver = new Map<string, number>();
  /** The owners' status rows of the endpoints held elsewhere. */
  private remote = new Map<string, EndpointStatusRow>();

  constructor(private readonly options: ClaimRoundsOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
    this.claimSoon();
  }

  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    if (this.soon) clearImmediate(this.soon);
    this.soon = undefined;
  }

  /** The owner's row for an endpoint held elsewhere, as last heard. */
  remoteRow(name: string): EndpointStatusRow | undefined {
    return this.remote.get(name);
  }

  /** Our socket for the endpoint went: the row we had is stale. */
  forget(name: string): void {
    this.remote.delete(name);
  }

  /** An owner said its endpoint's status changed. */
  heard(row: EndpointStatusRow): void {
    const name = row.endpointId;
    if (this.options.table.holds(name) || !this.options.table.has(name)) return;
    this.remote.set(name, row);
    this.options.onRemote(name);
  }

  /** A round as soon as the event loop is free (a neighbour left, endpoints were freed). */
  claimSoon(): void {
    if (this.soon || this.stopped) return;
    this.soon = setImmediate(() => {
      this.soon = undefined;
      void this.round();
    });
  }

  private schedule(): void {
    const { clock } = this.options;
    clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => {
      if (this.stopped) return;
      // A round still running at stop() must not set the timer again.
      void this.round(true).finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.options.intervalMs ?? 1_000);
  }

  /** One round; `scheduled` rounds also shed, so shedding keeps their pace (gradual). */
  async round(scheduled = false): Promise<void> {
    if (this.stopped) return;
    // One round at a time; a round asked for meanwhile runs right after.
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const { cluster, table, instance, clock } = this.options;
    try {
      const names = table.names();
      if (cluster && this.rounds++ % 5 === 0) await this.refreshRemote(names);
      // Not before the others are known; and claims still being acquired count as held, or a
      // slow acquisition would make every round claim another share.
      if (cluster && !cluster.joined) return;
      const members = cluster?.members() ?? [instance];
      const { claim, shed } = this.balancer.next(
        names.length,
        members.length,
        table.heldCount,
        this.lowestElsewhere(),
      );
      if (shed > 0 && scheduled) this.shed(shed);
      const free = names.filter((n) => table.isFree(n));
      let candidates = free;
      if (cluster && free.length > 0) {
        const holders = await cluster.holders(free);
        // Ours already (a lease kept after its socket went, e.g. a fenced-out write): acquire
        // hands it back, so it is claimed like a free one, never left unserved.
        candidates = free.filter((_, i) => holders[i] === '' || holders[i] === instance);
      }
      // Free for a whole round already: whoever is meant to take it has not (an instance that
      // died has not left the count yet, or the count is stale). Anyone takes it now, over its
      // share if need be — balancing evens it out later. Not what we just gave away ourselves.
      const now = clock.now();
      const handBackMs = this.options.handBackMs ?? 5_000;
      const overdue = candidates.filter(
        (n) => this.seenFree.has(n) && now - (this.handedOver.get(n) ?? -Infinity) > handBackMs,
      );
      this.seenFree = new Set(candidates);
      for (const [name, at] of this.handedOver)
        if (now - at > handBackMs) this.handedOver.delete(name);
      const isOverdue = new Set(overdue);
      // The rest up to the share: first those that rendezvous hashing gives to this instance,
      // so that instances claiming at once split the free endpoints without colliding; then
      // any, in an order of our own.
      const mine: string[] = [];
      const others: string[] = [];
      for (const n of candidates)
        if (!isOverdue.has(n)) (preferredOwner(n, members) === instance ? mine : others).push(n);
      const wanted = Math.max(0, claim - overdue.length);
      for (const name of [...overdue, ...[...mine, ...this.shuffled(others)].slice(0, wanted)])
        table.claim(name);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'claim round failed');
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.claimSoon();
      }
    }
  }

  /**
   * Rereads the owners' status of the endpoints held elsewhere: from Redis, or from PostgreSQL
   * when Redis cannot be reached (cut off, this instance's view would otherwise freeze).
   */
  private async refreshRemote(names: readonly string[]): Promise<void> {
    const elsewhere = names.filter((n) => !this.options.table.holds(n));
    let rows: EndpointStatusRow[];
    try {
      rows = (await this.options.cluster?.readStatus(elsewhere)) ?? [];
    } catch {
      const wanted = new Set(elsewhere);
      rows = ((await this.options.store?.status.list().catch(() => [])) ?? []).filter((r) =>
        wanted.has(r.endpointId),
      );
    }
    this.remote = new Map(rows.map((r) => [r.endpointId, r]));
  }

  /** The fewest endpoints another live instance holds, by the owners' status rows we have. */
  private lowestElsewhere(): number | undefined {
    const others = (this.options.cluster?.members() ?? []).filter(
      (m) => m !== this.options.instance,
    );
    if (others.length === 0) return undefined;
    const counts = new Map(others.map((m) => [m, 0]));
    for (const row of this.remote.values())
      if (counts.has(row.owner)) counts.set(row.owner, counts.get(row.owner)! + 1);
    return Math.min(...counts.values());
  }

  /** Gives up `count` endpoints (idle ones first) so that instances below their share take them. */
  private shed(count: number): void {
    const { table, cluster, clock, instance } = this.options;
    const released = table
      .heldNames()
      .map((name) => ({ name, busy: table.busy(name) }))
      .sort((a, b) => a.busy - b.busy)
      .slice(0, count)
      .map(({ name }) => {
        this.handedOver.set(name, clock.now());
        return table.handOver(name, 'handed to another instance (balancing)');
      });
    // Told once they are free, instances below their share claim them now, not a round later.
    void Promise.all(released).then(() => cluster?.publish({ type: 'freed', from: instance }));
  }

  private shuffled<T>(list: readonly T[]): T[] {
    const random = this.options.random ?? Math.random;
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** Rendezvous (highest random weight) hashing: the member an endpoint goes to by default. */
export function preferredOwner(name: string, members: readonly string[]): string {
  let best = '';
  let bestWeight = -1;
  for (const member of members) {
    const weight = fnv1a(`${name}\u0000${member}`);
    if (weight > bestWeight || (weight === bestWeight && member < best)) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // MurmurHash3's finalizer: the last characters (the member's name) move every bit.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
