import type { ChainableCommander, Redis } from 'ioredis';

/**
 * KEYS[1] lease, KEYS[2] fence counter
 * ARGV[1] lease value (token + instance), ARGV[2] ttl (ms), ARGV[3] fence floor (integer)
 * → the new fence (≥ 1), or 0 when the lease is held (by anyone, this very value included)
 * The fence is raised to the floor when the counter is below it, so it still outranks fences
 * written before the counter existed (a single node's, or those of a Redis that was flushed).
 */
export const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local fence = redis.call('INCR', KEYS[2])
if fence < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
  return tonumber(ARGV[3])
end
return fence
`;

/**
 * KEYS[1] lease
 * ARGV[1] our lease value, ARGV[2] ttl (ms)
 * → 1 if the expiry was pushed back, 0 if the lease is no longer ours (expired, maybe taken)
 */
export const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

/**
 * KEYS[1] lease
 * ARGV[1] our lease value
 * → 1 if deleted, 0 if it was not ours (someone else's key is never touched)
 */
export const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

export interface LeaseCommands {
  tetherLeaseAcquire(
    lease: string,
    fence: string,
    value: string,
    ttlMs: number,
    floor: number,
  ): Promise<number>;
  tetherLeaseRenew(lease: string, value: string, ttlMs: number): Promise<number>;
  tetherLeaseRelease(lease: string, value: string): Promise<number>;
}

/** The same commands queued on a pipeline: many leases, one round trip. */
export interface LeasePipeline extends ChainableCommander {
  tetherLeaseRenew(lease: string, value: string, ttlMs: number): LeasePipeline;
  tetherLeaseRelease(lease: string, value: string): LeasePipeline;
}

/**
 * Defines the lease scripts on a client. ioredis sends EVALSHA and falls back to EVAL on
 * NOSCRIPT (a restarted or flushed Redis), on plain calls and pipelines alike. Defining them
 * twice on one client is harmless.
 */
export function defineLeaseScripts(redis: Redis): Redis & LeaseCommands {
  redis.defineCommand('tetherLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('tetherLeaseRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('tetherLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
  return redis as Redis & LeaseCommands;
}

export function leasePipeline(redis: Redis & LeaseCommands): LeasePipeline {
  return redis.pipeline() as LeasePipeline;
}
