import { Redis } from 'ioredis';
import { CLAIM, COMMIT, REAP, REMOVE, TOUCH, redisKeys } from './redis-scripts.js';
import type {
  ClaimResult,
  ExpiredRecord,
  ReplayEntry,
  SessionChange,
  SessionStore,
  StoredSession,
} from './store.js';

export interface RedisStoreOptions {
  /** A URL (the store opens and closes its connections) or a client (yours to close). */
  redis: string | Redis;
  /** Prefix of every key and of the channel. Default `tether:session:`. */
  prefix?: string;
  /** How long an expired session is remembered as expired rather than unknown. Default 1 h. */
  tombstoneMs?: number;
  /**
   * Keys outlive their deadline: the reaper normally removes them (and runs the expiry hook);
   * this TTL only cleans up after a deployment with no instance left to reap. Default 24 h.
   */
  keyTtlMs?: number;
}

type Reply = Array<string | string[]>;

interface Scripts {
  sessionClaim(...args: string[]): Promise<Reply>;
  sessionCommit(...args: string[]): Promise<number>;
  sessionTouch(...args: string[]): Promise<number>;
  sessionReap(...args: string[]): Promise<string[]>;
  sessionRemove(...args: string[]): Promise<string | null>;
}

/**
 * Sessions in Redis, so another instance (or this one after a restart) can resume them. Every
 * write that must not land after a newer claim is a script that checks the epoch first; claims
 * and expiries are published on a channel every instance subscribes to.
 */
export class RedisSessionStore implements SessionStore {
  private readonly redis: Redis & Scripts;
  private readonly sub: Redis;
  private readonly owned: boolean;
  private readonly keys: ReturnType<typeof redisKeys>;
  readonly prefix: string;
  private readonly tombstoneMs: number;
  private readonly ttl: string;
  private readonly listeners = new Set<(id: string, epoch: number, owner: string) => void>();
  private readonly subscribed: Promise<unknown>;

  private constructor(options: RedisStoreOptions) {
    this.owned = typeof options.redis === 'string';
    const redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    this.prefix = options.prefix ?? 'tether:session:';
    this.keys = redisKeys(this.prefix);
    this.tombstoneMs = options.tombstoneMs ?? 3_600_000;
    this.ttl = String(options.keyTtlMs ?? 24 * 3_600_000);
    redis.defineCommand('sessionClaim', { numberOfKeys: 4, lua: CLAIM });
    redis.defineCommand('sessionCommit', { numberOfKeys: 3, lua: COMMIT });
    redis.defineCommand('sessionTouch', { numberOfKeys: 3, lua: TOUCH });
    redis.defineCommand('sessionReap', { numberOfKeys: 1, lua: REAP });
    redis.defineCommand('sessionRemove', { numberOfKeys: 4, lua: REMOVE });
    this.redis = redis as Redis & Scripts;
    this.sub = redis.duplicate();
    this.sub.on('message', (_channel: string, message: string) => {
      const [id, epoch, owner] = message.split(' ');
      for (const listener of [...this.listeners]) listener(id!, Number(epoch), owner ?? '');
    });
    this.subscribed = this.sub.subscribe(this.keys.channel);
  }

  /** Connects and subscribes to the announcements before anything is claimed. */
  static async connect(options: RedisStoreOptions): Promise<RedisSessionStore> {
    const store = new RedisSessionStore(options);
    await store.subscribed;
    return store;
  }

  async create(session: StoredSession, replay: ReplayEntry[], now: number): Promise<void> {
    const k = this.keys;
    const ttl = this.ttl;
    const multi = this.redis
      .multi()
      .del(k.session(session.id), k.replay(session.id), k.tombstone(session.id))
      .hset(k.session(session.id), {
        tokenHash: session.tokenHash,
        prevTokenHash: session.prevTokenHash ?? '',
        state: session.state,
        inSeq: session.inSeq,
        outSeq: session.outSeq,
        createdAt: session.createdAt,
        detachedAt: session.detachedAt ?? 0,
        resumeWindowMs: session.resumeWindowMs,
        epoch: session.epoch,
        owner: session.owner,
      })
      .zadd(k.due, (session.detachedAt ?? now) + session.resumeWindowMs, session.id)
      .pexpire(k.session(session.id), ttl);
    if (replay.length > 0) {
      multi.zadd(k.replay(session.id), ...replay.flatMap((e) => [e.seq, e.frame]));
      multi.pexpire(k.replay(session.id), ttl);
    }
    await multi.exec();
  }

  async claim(
    id: string,
    tokenHash: string,
    nextTokenHash: string,
    owner: string,
    now: number,
  ): Promise<ClaimResult> {
    const k = this.keys;
    const reply = await this.redis.sessionClaim(
      ...[k.session(id), k.replay(id), k.due, k.tombstone(id)],
      ...[id, tokenHash, nextTokenHash, owner, String(now), k.channel, this.ttl],
    );
    const [verdict, fields, replay] = reply as [string, string[], string[]];
    if (verdict === 'expired') {
      const state = reply[1] as string | undefined;
      return state ? { ok: false, reason: 'expired', state } : { ok: false, reason: 'expired' };
    }
    if (verdict !== 'ok') return { ok: false, reason: verdict as 'unknown' | 'bad-token' };
    const h = pairs(fields);
    const entries: ReplayEntry[] = [];
    for (let i = 0; i < replay.length; i += 2)
      entries.push({ frame: replay[i]!, seq: Number(replay[i + 1]) });
    const detachedAt = Number(h.detachedAt);
    return {
      ok: true,
      session: {
        id,
        tokenHash: h.tokenHash!,
        prevTokenHash: h.prevTokenHash || null,
        state: h.state!,
        inSeq: Number(h.inSeq),
        outSeq: Number(h.outSeq),
        createdAt: Number(h.createdAt),
        detachedAt: detachedAt || null,
        resumeWindowMs: Number(h.resumeWindowMs),
        epoch: Number(h.epoch),
        owner: h.owner!,
      },
      replay: entries,
    };
  }

  async commit(id: string, epoch: number, change: SessionChange, now: number): Promise<boolean> {
    const k = this.keys;
    const opt = (n: number | undefined) => (n === undefined ? '' : String(n));
    const ok = await this.redis.sessionCommit(
      ...[k.session(id), k.replay(id), k.due],
      ...[id, String(epoch), String(now), this.ttl],
      ...[change.state === undefined ? '0' : '1', change.state ?? ''],
      ...[opt(change.inSeq), opt(change.outSeq), opt(change.trimThrough), opt(change.detachedAt)],
      ...(change.append ?? []).flatMap((e) => [String(e.seq), e.frame]),
    );
    return ok === 1;
  }

  async touch(sessions: Array<{ id: string; epoch: number }>, now: number): Promise<void> {
    const k = this.keys;
    const pipeline = this.redis.pipeline();
    for (const { id, epoch } of sessions) {
      (pipeline as unknown as Scripts).sessionTouch(
        ...[k.session(id), k.replay(id), k.due],
        ...[id, String(epoch), String(now), this.ttl],
      );
    }
    await pipeline.exec();
  }

  async reap(
    now: number,
    owner: string,
    orphanGraceMs: number,
    limit: number,
  ): Promise<ExpiredRecord[]> {
    const k = this.keys;
    const flat = await this.redis.sessionReap(
      k.due,
      ...[String(now), owner, String(orphanGraceMs), String(limit), this.prefix],
      ...[String(this.tombstoneMs), k.channel],
    );
    const out: ExpiredRecord[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i]!, state: flat[i + 1]! });
    return out;
  }

  async remove(id: string, epoch: number, _now: number): Promise<ExpiredRecord | null> {
    const k = this.keys;
    const state = await this.redis.sessionRemove(
      ...[k.session(id), k.replay(id), k.due, k.tombstone(id)],
      ...[id, String(epoch), String(this.tombstoneMs), k.channel],
    );
    return state === null ? null : { id, state };
  }

  onTaken(listener: (id: string, epoch: number, owner: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.sub.quit().catch(() => this.sub.disconnect());
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
