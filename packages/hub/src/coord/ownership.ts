/**
 * Who owns an endpoint. Exactly one supervisor holds an endpoint's socket, and only it writes
 * the endpoint's status; every write carries the lease's fencing token so that a deposed
 * owner's late write is refused by the store. One node uses `LocalOwnership`; several share a
 * Redis lease (SET NX PX with a token, renewed at a third of its TTL) behind the same port:
 * `RedisOwnership` in redis-ownership.ts.
 */
export interface Lease {
  endpointId: string;
  owner: string;
  /** Grows with every acquisition of this endpoint, across owners. */
  fence: number;
}

export interface Ownership {
  readonly instance: string;
  /**
   * The lease, or null when another instance owns the endpoint (or the lease could not be
   * confirmed in time; either way, ask again later). Asking for a lease already held returns it.
   */
  acquire(endpointId: string): Promise<Lease | null>;
  /** False when the lease was lost: the owner must close its socket at once. */
  renew(lease: Lease): Promise<boolean>;
  release(lease: Lease): Promise<void>;
  /**
   * Called once when a held lease is lost (renewal refused, or not confirmed in time); the
   * lease is forgotten and the owner must close its socket at once. Returns the unsubscribe.
   */
  onLost(listener: (endpointId: string) => void): () => void;
  /** The leases held now. */
  held(): Lease[];
  /**
   * Stops renewing and releases every held lease, so others can take the endpoints at once.
   * Close the sockets first: a released lease may be taken before this resolves.
   */
  close(): Promise<void>;
}

/** Ownership on one node: every endpoint is ours; fences still grow so mirrors stay ordered. */
export class LocalOwnership implements Ownership {
  private readonly fences = new Map<string, number>();
  private readonly leases = new Map<string, Lease>();

  constructor(
    readonly instance: string,
    /** Where fences start (e.g. the time), so a restarted node outranks its dead predecessor. */
    private readonly base = Date.now(),
  ) {}

  async acquire(endpointId: string): Promise<Lease | null> {
    const existing = this.leases.get(endpointId);
    if (existing) return existing;
    const fence = Math.max(this.base, (this.fences.get(endpointId) ?? 0) + 1);
    this.fences.set(endpointId, fence);
    const lease = { endpointId, owner: this.instance, fence };
    this.leases.set(endpointId, lease);
    return lease;
  }

  async renew(lease: Lease): Promise<boolean> {
    return this.leases.get(lease.endpointId)?.fence === lease.fence;
  }

  async release(lease: Lease): Promise<void> {
    if (this.leases.get(lease.endpointId)?.fence === lease.fence)
      this.leases.delete(lease.endpointId);
  }

  onLost(): () => void {
    return () => {};
  }

  held(): Lease[] {
    return [...this.leases.values()];
  }

  async close(): Promise<void> {
    this.leases.clear();
  }
}
