import type {
  ClaimResult,
  ExpiredRecord,
  ReplayEntry,
  SessionChange,
  SessionStore,
  StoredSession,
} from './store.js';

/** What is left of an expired session: enough to tell its own client what it was. */
interface Tombstone {
  until: number;
  tokenHashes: Array<string | null>;
  state: string;
}

interface Held {
  session: StoredSession;
  replay: ReplayEntry[];
  /** Expiry: detachedAt + window, or last touch + window while attached. */
  deadline: number;
}

export interface MemoryStoreOptions {
  /**
   * How long an expired session is remembered as expired rather than unknown, with its last
   * state for the client that held it. Default 1 h.
   */
  tombstoneMs?: number;
}

/**
 * The store for one process. It behaves like the Redis store (copies in and out, epochs,
 * tombstones, announcements), so two servers sharing one can stand in for two instances.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Held>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly listeners = new Set<(id: string, epoch: number, owner: string) => void>();
  private readonly tombstoneMs: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.tombstoneMs = options.tombstoneMs ?? 3_600_000;
  }

  /** Sessions stored (for tests and benchmarks). */
  get size(): number {
    return this.sessions.size;
  }

  async create(session: StoredSession, replay: ReplayEntry[], now: number): Promise<void> {
    await tick();
    const deadline = (session.detachedAt ?? now) + session.resumeWindowMs;
    this.sessions.set(session.id, { session: { ...session }, replay: [...replay], deadline });
  }

  async claim(
    id: string,
    tokenHash: string,
    nextTokenHash: string,
    owner: string,
    now: number,
  ): Promise<ClaimResult> {
    await tick();
    const held = this.sessions.get(id);
    if (!held) {
      const grave = this.tombstones.get(id);
      if (!grave || grave.until <= now) return { ok: false, reason: 'unknown' };
      return grave.tokenHashes.includes(tokenHash)
        ? { ok: false, reason: 'expired', state: grave.state }
        : { ok: false, reason: 'expired' };
    }
    const s = held.session;
    if (tokenHash !== s.tokenHash && tokenHash !== s.prevTokenHash)
      return { ok: false, reason: 'bad-token' };
    // Past its window but not reaped yet: expired all the same; the reaper fires the hook.
    if (held.deadline <= now) return { ok: false, reason: 'expired', state: s.state };
    s.prevTokenHash = tokenHash;
    s.tokenHash = nextTokenHash;
    s.epoch += 1;
    s.owner = owner;
    s.detachedAt = null;
    held.deadline = now + s.resumeWindowMs;
    this.announce(id, s.epoch, owner);
    return { ok: true, session: { ...s }, replay: [...held.replay] };
  }

  async commit(id: string, epoch: number, change: SessionChange, now: number): Promise<boolean> {
    await tick();
    const held = this.sessions.get(id);
    if (!held || held.session.epoch !== epoch) return false;
    const s = held.session;
    if (change.state !== undefined) s.state = change.state;
    if (change.inSeq !== undefined) s.inSeq = change.inSeq;
    if (change.outSeq !== undefined) s.outSeq = change.outSeq;
    if (change.append) held.replay.push(...change.append);
    if (change.trimThrough !== undefined) {
      const through = change.trimThrough;
      held.replay = held.replay.filter((e) => e.seq > through);
    }
    if (change.detachedAt !== undefined) {
      s.detachedAt = change.detachedAt || null;
      held.deadline = (s.detachedAt ?? now) + s.resumeWindowMs;
    }
    return true;
  }

  async touch(sessions: Array<{ id: string; epoch: number }>, now: number): Promise<void> {
    await tick();
    for (const { id, epoch } of sessions) {
      const held = this.sessions.get(id);
      if (held && held.session.epoch === epoch && held.session.detachedAt === null)
        held.deadline = now + held.session.resumeWindowMs;
    }
  }

  async reap(
    now: number,
    owner: string,
    orphanGraceMs: number,
    limit: number,
  ): Promise<ExpiredRecord[]> {
    await tick();
    for (const [id, grave] of this.tombstones) if (grave.until <= now) this.tombstones.delete(id);
    const reaped: ExpiredRecord[] = [];
    for (const [id, held] of this.sessions) {
      if (reaped.length >= limit) break;
      const mine = held.session.owner === owner;
      if (held.deadline > now || (!mine && held.deadline + orphanGraceMs > now)) continue;
      reaped.push(this.bury(id, held, now));
    }
    return reaped;
  }

  async remove(id: string, epoch: number, now: number): Promise<ExpiredRecord | null> {
    await tick();
    const held = this.sessions.get(id);
    if (!held || held.session.epoch !== epoch) return null;
    return this.bury(id, held, now);
  }

  onTaken(listener: (id: string, epoch: number, owner: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private bury(id: string, held: Held, now: number): ExpiredRecord {
    this.sessions.delete(id);
    const { tokenHash, prevTokenHash, state } = held.session;
    this.tombstones.set(id, {
      until: now + this.tombstoneMs,
      tokenHashes: [tokenHash, prevTokenHash],
      state,
    });
    this.announce(id, -1, '');
    return { id, state: held.session.state };
  }

  private announce(id: string, epoch: number, owner: string): void {
    // Asynchronously, as a Redis subscriber would hear it: after the claimer has its answer.
    for (const listener of [...this.listeners]) queueMicrotask(() => listener(id, epoch, owner));
  }
}

/** Every call answers on a later microtask, as a networked store would. */
const tick = () => Promise.resolve();
