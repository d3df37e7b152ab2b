import { MemorySessionStore } from '../server/index.js';
import type { ReplayEntry, SessionChange, StoredSession } from '../server/index.js';

/** How far a session's messages to the client have got, as the session's store saw it. */
export interface Delivery {
  /** Messages stored for the client (the session numbers them 1, 2, …). */
  stored: number;
  /** The highest seq stored. */
  lastSeq: number;
  /** Every seq up to this one has left the replay buffer: acknowledged, or pushed out by its bound. */
  through: number;
}

/**
 * The gateway's session store: the in-process memory store (the upstream sockets live in this
 * process, so a session cannot outlive it anyway), watched so the gateway knows when the client
 * has everything an upstream sent before it closed. The session server says so only through its
 * store: a message is stored with its seq (`append`), and leaves the replay buffer when the
 * client acknowledges it (`trimThrough`, also for the hello's lastSeq on a resume).
 */
export class DeliveryStore extends MemorySessionStore {
  private readonly deliveries = new Map<string, Delivery>();

  constructor(private readonly changed: (id: string, delivery: Delivery) => void) {
    super();
  }

  delivery(id: string): Delivery {
    return this.deliveries.get(id) ?? { stored: 0, lastSeq: 0, through: 0 };
  }

  forget(id: string): void {
    this.deliveries.delete(id);
  }

  override async create(session: StoredSession, replay: ReplayEntry[], now: number) {
    await super.create(session, replay, now);
    this.note(session.id, replay, undefined);
  }

  override async commit(id: string, epoch: number, change: SessionChange, now: number) {
    const ok = await super.commit(id, epoch, change, now);
    if (ok) this.note(id, change.append, change.trimThrough);
    return ok;
  }

  private note(id: string, append: ReplayEntry[] | undefined, trimThrough: number | undefined) {
    if (!append?.length && trimThrough === undefined) return;
    const d = this.delivery(id);
    const next: Delivery = {
      stored: d.stored + (append?.length ?? 0),
      // Entries come in seq order: the last is the highest.
      lastSeq: Math.max(d.lastSeq, append?.at(-1)?.seq ?? 0),
      through: Math.max(d.through, trimThrough ?? 0),
    };
    this.deliveries.set(id, next);
    this.changed(id, next);
  }
}
