import type { ChainableCommander, Redis } from 'ioredis';

/**
 * KEYS[1] lease, KEYS[2] fence counter
 * ARGV[1] lease value (token + instance), ARGV[2] ttl (ms), ARGV[3] fence floor (integer)
 * → {fence, counter existed (1/0)}, or {0, 0} when the lease is held (by anyone, this very
 * value included)
 * The fence is raised to the floor when the counter is below it, so it still outranks fences
 * written before the counter existed (a single node's, or those of a Redis that was flushed).
 * A missing counter means Redis lost its keys (a restart without persistence): a previous
 * owner may still hold a socket it has not yet learnt is no longer leased.
 */
export const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, 0} end
local existed = redis.call('EXISTS', KEYS[2])
local fence = redis.call('INCR', KEYS[2])
if fence < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
  fence = tonumber(ARGV[3])
end
return {fence, existed}
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

/**
 * KEYS[1] instances (sorted set: name → when its heartbeat runs out, Redis time in ms)
 * ARGV[1] this instance, ARGV[2] how long this heartbeat counts (ms)
 * → the live instances, this one included
 * Redis's own clock scores every heartbeat, so instances on machines whose clocks disagree
 * still agree on who is alive.
 */
export const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
`;

/**
 * KEYS[1] the endpoint's status hash
 * ARGV[1] the writer's fence, ARGV[2] the status row (JSON), ARGV[3] the events channel,
 * ARGV[4] the event to publish (JSON)
 * → 1 when written and published, 0 when a higher fence wrote it before: the writer is fenced
 * out (another instance owns the endpoint now) and nothing is written or said.
 */
export const WRITE_STATUS = `
local current = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if tonumber(ARGV[1]) < current then return 0 end
redis.call('HSET', KEYS[1], 'fence', ARGV[1], 'row', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

export interface ClusterCommands {
  tetherHeartbeat(instances: string, instance: string, ttlMs: number): Promise<string[]>;
  tetherWriteStatus(
    status: string,
    fence: number,
    row: string,
    channel: string,
    event: string,
  ): Promise<number>;
}

/** Defines the membership and status scripts on a client (see defineLeaseScripts). */
export function defineClusterScripts(redis: Redis): Redis & ClusterCommands {
  redis.defineCommand('tetherHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
  redis.defineCommand('tetherWriteStatus', { numberOfKeys: 1, lua: WRITE_STATUS });
  return redis as Redis & ClusterCommands;
}

export interface LeaseCommands {
  tetherLeaseAcquire(
    lease: string,
    fence: string,
    value: string,
    ttlMs: number,
    floor: number,
  ): Promise<[number, number]>;
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
