/**
 * The session registry's store port. Every implementation (memory, Redis) passes the same
 * contract suite (test/store-contract.ts). The in-process registry is the working copy; the
 * store is what survives a restart and what another instance resumes from.
 *
 * Ownership: every claim bumps the session's epoch, and a commit carrying an older epoch is
 * refused, so a server that lost a session to a newer connection (here or on another instance)
 * cannot write over it. Claims and expiries are announced through `onTaken`.
 */
export interface StoredSession {
  id: string;
  /** sha-256 of the current resume token, and of the one before it (a welcome can be lost). */
  tokenHash: string;
  prevTokenHash: string | null;
  /** The application's state, as JSON. */
  state: string;
  /** Highest client seq stored. */
  inSeq: number;
  /** Highest server seq given out. */
  outSeq: number;
  createdAt: number;
  /** When the last transport went away; null while one is attached (somewhere). */
  detachedAt: number | null;
  resumeWindowMs: number;
  epoch: number;
  /** The instance that holds it. */
  owner: string;
}

/** One data frame kept for replay, exactly as it was (or will be) sent. */
export interface ReplayEntry {
  seq: number;
  frame: string;
}

export type ClaimResult =
  | { ok: true; session: StoredSession; replay: ReplayEntry[] }
  /**
   * `state`: the expired session's last state, only when the presented token was its own (a
   * session id alone is not a secret), so the new session can be seeded from it.
   */
  | { ok: false; reason: 'expired'; state?: string }
  | { ok: false; reason: 'unknown' | 'bad-token' };

/** What one commit changes; absent fields stay as they are. */
export interface SessionChange {
  state?: string;
  inSeq?: number;
  outSeq?: number;
  /** New replay entries, in seq order. */
  append?: ReplayEntry[];
  /** Replay entries up to this seq are gone (acknowledged, or pushed out by the bound). */
  trimThrough?: number;
  /** Detached at this time (the resume window starts), or 0: attached again. */
  detachedAt?: number;
}

export interface ExpiredRecord {
  id: string;
  /** The application's state, as JSON. */
  state: string;
}

export interface SessionStore {
  /** Stores a brand-new session with the replay entries it already has. */
  create(session: StoredSession, replay: ReplayEntry[], now: number): Promise<void>;
  /**
   * Takes a session for a new connection: checks the token against the current and previous
   * hashes, refuses one past its window, rotates the token, bumps the epoch, names the owner,
   * marks it attached, announces the claim, and returns the session with its replay buffer.
   */
  claim(
    id: string,
    tokenHash: string,
    nextTokenHash: string,
    owner: string,
    now: number,
  ): Promise<ClaimResult>;
  /** Applies a change unless the epoch moved on; false means another holder has it now. */
  commit(id: string, epoch: number, change: SessionChange, now: number): Promise<boolean>;
  /** Keeps attached sessions from expiring: their owner is alive. Stale epochs are skipped. */
  touch(sessions: Array<{ id: string; epoch: number }>, now: number): Promise<void>;
  /**
   * Removes sessions past their window and returns each to exactly one caller, so the expiry
   * hook runs once. The owner's own come first; another instance takes them only after
   * `orphanGraceMs` (their owner is presumably dead).
   */
  reap(now: number, owner: string, orphanGraceMs: number, limit: number): Promise<ExpiredRecord[]>;
  /** Ends a session now (the app or the client ended it). Null when the epoch moved on. */
  remove(id: string, epoch: number, now: number): Promise<ExpiredRecord | null>;
  /** Claims (epoch > 0, by `owner`) and expiries (epoch -1) of sessions, wherever they happen. */
  onTaken(listener: (id: string, epoch: number, owner: string) => void): () => void;
  /** Releases connections the store opened itself. */
  close(): Promise<void>;
}
