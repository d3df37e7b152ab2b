/**
 * Who owns an endpoint. Exactly one supervisor holds an endpoint's socket, and only it writes
 * the endpoint's status; every write carries the lease's fencing token so that a deposed
 * owner's late write is refused by the store. One node uses `LocalOwnership`; several share a
 * Redis lease (SET NX PX with a token, renewed at a third of its TTL) behind the same port.
 */
export interface Lease {
  endpointId: string;
  owner: string;
  /** Grows with every acquisition of this endpoint, across owners. */
  fence: number;
}

export interface Ownership {
  readonly instance: string;
  /** The lease, or null when another instance owns the endpoint. */
  acquire(endpointId: string): Promise<Lease | null>;
  /** False when the lease was lost: the owner must close its socket at once. */
  renew(lease: Lease): Promise<boolean>;
  release(lease: Lease): Promise<void>;
  /** Called when a held lease is lost (expired, taken over). */
  onLost(listener: (endpointId: string) => void): () => void;
}

/** Ownership on one node: every endpoint is ours; fences still grow so mirrors stay ordered. */
export class LocalOwnership implements Ownership {
  private readonly fences = new Map<string, number>();
  private readonly held = new Map<string, Lease>();

  constructor(
    readonly instance: string,
    /** Where fences start (e.g. the time), so a restarted node outranks its dead predecessor. */
    private readonly base = Date.now(),
  ) {}

  async acquire(endpointId: string): Promise<Lease | null> {
    const existing = this.held.get(endpointId);
    if (existing) return existing;
    const fence = Math.max(this.base, (this.fences.get(endpointId) ?? 0) + 1);
    this.fences.set(endpointId, fence);
    const lease = { endpointId, owner: this.instance, fence };
    this.held.set(endpointId, lease);
    return lease;
  }

  async renew(lease: Lease): Promise<boolean> {
    return this.held.get(lease.endpointId)?.fence === lease.fence;
  }

  async release(lease: Lease): Promise<void> {
    if (this.held.get(lease.endpointId)?.fence === lease.fence) this.held.delete(lease.endpointId);
  }

  onLost(): () => void {
    return () => {};
  }
}
