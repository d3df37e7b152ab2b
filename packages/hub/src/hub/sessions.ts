import type { Clock } from '@tether/link';
import type { EndpointConfig } from '../config/types.js';
import type { Lease, Ownership } from '../coord/ownership.js';
import { JobStore } from '../endpoint/jobs.js';
import type { EndpointSession } from '../endpoint/session.js';
import type { Logger } from '../log/logger.js';
import { HealthTracker } from '../monitor/health.js';

export interface SessionTablePorts {
  logger: Logger;
  clock: Clock;
  ownership: Ownership;
  /** The definition in force; undefined once the endpoint is no longer wanted. */
  wanted(name: string): EndpointConfig | undefined;
  /** Between the hub's start() and stop(). */
  running(): boolean;
  /**
   * Builds the session for a definition (the hub's wiring). `view` is the definition whose
   * tools it serves, updated in place when only the tool set changes.
   */
  create(
    config: EndpointConfig,
    view: () => EndpointConfig,
    health: HealthTracker,
    jobs: () => JobStore,
  ): EndpointSession;
  /** A session was created and waits for a lease: claim it now, or let the claim rounds place it. */
  placed(name: string): void;
  /** Our socket for the endpoint is going: what we knew of its other owners is stale. */
  dropped(name: string): void;
}

/**
 * One session per wanted endpoint, and the leases that let some of them connect. A session is
 * created unclaimed; it connects only once this instance holds the endpoint's lease, and its
 * socket closes before the lease goes, so there is never a second socket for one endpoint.
 */
export class SessionTable {
  private readonly sessions = new Map<string, EndpointSession>();
  private readonly leases = new Map<string, Lease>();
  private readonly claiming = new Set<string>();
  /** Health history outlives a session (a restart after a config change keeps it). */
  private readonly health = new Map<string, HealthTracker>();
  /**
   * Calls answered early, by endpoint: a session restarted for a configuration change, or
   * switched off and on, still hands the model the results it asks for.
   */
  private readonly jobs = new Map<string, JobStore>();
  /** Which tools each session serves; updated in place when only that changes. */
  private readonly views = new Map<string, EndpointConfig>();

  constructor(private readonly ports: SessionTablePorts) {}

  get size(): number {
    return this.sessions.size;
  }

  names(): string[] {
    return [...this.sessions.keys()];
  }

  entries(): IterableIterator<[string, EndpointSession]> {
    return this.sessions.entries();
  }

  get(name: string): EndpointSession | undefined {
    return this.sessions.get(name);
  }

  has(name: string): boolean {
    return this.sessions.has(name);
  }

  /** This instance holds the endpoint's lease (its socket may be open). */
  holds(name: string): boolean {
    return this.leases.has(name);
  }

  /** Leases held plus claims being acquired: a slow acquisition still counts as taken. */
  get heldCount(): number {
    return this.leases.size + this.claiming.size;
  }

  /** Neither held nor being claimed here. */
  isFree(name: string): boolean {
    return !this.leases.has(name) && !this.claiming.has(name);
  }

  heldNames(): string[] {
    return [...this.leases.keys()];
  }

  /** The tools of an endpoint changed in its definition alone: the session keeps running. */
  retool(config: EndpointConfig): boolean {
    if (!this.sessions.has(config.name)) return false;
    this.views.set(config.name, config);
    return true;
  }

  /** Creates the endpoint's session, unclaimed. Nothing happens once the hub has stopped. */
  start(config: EndpointConfig): void {
    if (!this.ports.running()) return;
    this.views.set(config.name, config);
    const session = this.ports.create(
      config,
      () => this.views.get(config.name) ?? config,
      this.healthOf(config.name),
      () => this.jobsOf(config.name),
    );
    this.sessions.set(config.name, session);
    this.ports.placed(config.name);
  }

  /** Ownership first: on one node it is immediate; on several, only the lease holder connects. */
  claim(name: string): void {
    const session = this.sessions.get(name);
    if (!session || this.leases.has(name) || this.claiming.has(name)) return;
    this.claiming.add(name);
    void this.ports.ownership
      .acquire(name)
      .then(async (lease) => {
        if (!lease) return;
        if (this.sessions.get(name) !== session || !this.ports.running()) {
          await this.ports.ownership.release(lease);
          return;
        }
        this.leases.set(name, lease);
        session.start();
      })
      .catch((error: Error) =>
        this.ports.logger.warn({ err: error, endpoint: name }, 'could not claim the endpoint'),
      )
      .finally(() => this.claiming.delete(name));
  }

  lease(name: string): Lease | undefined {
    return this.leases.get(name);
  }

  /**
   * Stops the session (the endpoint was removed, or redefined), then releases its lease.
   * `forget`: removed for good, so its jobs and health history go too.
   */
  async remove(name: string, code: number, reason: string, forget = false): Promise<void> {
    if (forget) {
      this.jobs.get(name)?.clear();
      this.jobs.delete(name);
      this.health.delete(name);
      this.views.delete(name);
    }
    const session = this.sessions.get(name);
    this.sessions.delete(name);
    // The lease stays until the socket is closed, so the closing transitions are mirrored.
    await session?.stop(code, reason);
    const lease = this.leases.get(name);
    this.leases.delete(name);
    if (lease) await this.ports.ownership.release(lease);
  }

  /**
   * Another instance owns the endpoint now: our socket is cut at once, not closed politely,
   * since the next owner may connect before a polite close would have finished.
   */
  surrender(name: string, why: string): void {
    if (this.sessions.has(name))
      this.ports.logger.warn({ endpoint: name, why }, `endpoint ${name}: handed over (${why})`);
    void this.drop(name, why, undefined, 0);
  }

  /** Closes our socket, then releases the lease: nobody can take it while the socket is open. */
  handOver(name: string, why: string): Promise<void> {
    const lease = this.leases.get(name);
    if (!lease || !this.sessions.has(name)) return Promise.resolve();
    this.ports.logger.info({ endpoint: name }, `endpoint ${name}: ${why}`);
    return this.drop(name, why, () => this.ports.ownership.release(lease));
  }

  /**
   * Closes our socket for the endpoint, then runs `afterClose` (releasing the lease), and leaves
   * a fresh, unclaimed session in its place if the endpoint is still wanted.
   */
  private drop(
    name: string,
    why: string,
    afterClose?: () => Promise<void>,
    graceMs?: number,
  ): Promise<void> {
    const session = this.sessions.get(name);
    this.leases.delete(name);
    this.ports.dropped(name);
    if (!session) return Promise.resolve();
    this.sessions.delete(name);
    return session
      .stop(1001, why, graceMs)
      .then(afterClose)
      .catch(() => {})
      .finally(() => {
        const wanted = this.ports.wanted(name);
        if (this.ports.running() && wanted && !this.sessions.has(name)) this.start(wanted);
      });
  }

  /**
   * Brings the sessions in line with the definitions: a session for every wanted endpoint, none
   * for the others (a safety net under reconcile, run by the sweep).
   */
  align(wanted: readonly EndpointConfig[]): void {
    const names = new Set(wanted.map((e) => e.name));
    for (const config of wanted) if (!this.sessions.has(config.name)) this.start(config);
    for (const name of this.sessions.keys())
      if (!names.has(name)) void this.remove(name, 1000, 'removed', true).catch(() => {});
  }

  /** Closes every socket, then forgets the leases (the ownership releases them on close). */
  async stopAll(code: number, reason: string): Promise<void> {
    const all = [...this.sessions.values()];
    await Promise.all(all.map((s) => s.stop(code, reason)));
    this.sessions.clear();
    this.leases.clear();
    for (const jobs of this.jobs.values()) jobs.clear();
    this.jobs.clear();
  }

  /** A person's "retry now" for an endpoint held here; false when there is no session. */
  retry(name: string): boolean {
    const session = this.sessions.get(name);
    session?.link.retryNow();
    return session !== undefined;
  }

  /** The catalog changed: each session checks whether its own tool set did. */
  toolsChanged(): void {
    for (const session of this.sessions.values()) session.toolsChanged();
  }

  private jobsOf(name: string): JobStore {
    let jobs = this.jobs.get(name);
    if (!jobs) this.jobs.set(name, (jobs = new JobStore({ clock: this.ports.clock })));
    return jobs;
  }

  private healthOf(name: string): HealthTracker {
    let tracker = this.health.get(name);
    if (!tracker) this.health.set(name, (tracker = new HealthTracker()));
    return tracker;
  }
}
