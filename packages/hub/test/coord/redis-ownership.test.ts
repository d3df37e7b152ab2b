import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy, ManualClock, requireService, waitUntil } from '@tether/testkit';
import { clusterKeys, leaseHolder, leaseValue } from '../../src/coord/keys.js';
import { LocalOwnership } from '../../src/coord/ownership.js';
import type { Lease } from '../../src/coord/ownership.js';
import { RedisOwnership } from '../../src/coord/redis-ownership.js';
import type { RedisOwnershipOptions } from '../../src/coord/redis-ownership.js';
import { defineLeaseScripts } from '../../src/coord/scripts.js';

// Skips locally when Redis is not running; under CI=true this throws, so the file fails.
const url = await requireService('redis');

const cleanups: Array<() => unknown> = [];
const proxies: FaultProxy[] = [];
afterEach(async () => {
  // Unstick every connection first, so that closing an ownership is not left waiting on it.
  for (const proxy of proxies.splice(0)) proxy.pass();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets every reply already received and every continuation of it run. */
const drain = () => new Promise((resolve) => setImmediate(resolve));

function connect(): Redis {
  const redis = new Redis(url!);
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** A key prefix of this test alone; its keys are deleted after it. */
function freshPrefix(): string {
  const prefix = `test:coord:${randomBytes(6).toString('hex')}:`;
  cleanups.push(async () => {
    const admin = new Redis(url!);
    try {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    } finally {
      admin.disconnect();
    }
  });
  return prefix;
}

/** A client whose every byte to and from Redis goes through a fault proxy. */
async function connectThroughProxy(): Promise<{ redis: Redis; proxy: FaultProxy }> {
  const target = new URL(url!);
  const proxy = await FaultProxy.start({
    target: { host: target.hostname, port: Number(target.port) || 6379 },
  });
  cleanups.push(() => proxy.close());
  proxies.push(proxy);
  const redis = new Redis({
    host: proxy.host,
    port: proxy.port,
    username: decodeURIComponent(target.username) || undefined,
    password: decodeURIComponent(target.password) || undefined,
    db: Number(target.pathname.slice(1)) || 0,
  });
  cleanups.push(() => redis.disconnect());
  await redis.ping();
  return { redis, proxy };
}

function instance(
  name: string,
  prefix: string,
  options: Partial<RedisOwnershipOptions> = {},
): RedisOwnership {
  const ownership = new RedisOwnership({
    redis: options.redis ?? connect(),
    instance: name,
    prefix,
    // The settle wait after lost keys has a test of its own; elsewhere it would only slow down.
    settleMs: 0,
    ...options,
  });
  cleanups.push(() => ownership.close());
  return ownership;
}

function lossesOf(ownership: RedisOwnership, now: () => number = Date.now) {
  const lost: Array<{ endpointId: string; at: number }> = [];
  ownership.onLost((endpointId) => lost.push({ endpointId, at: now() }));
  return lost;
}

async function holderOf(prefix: string, endpointId: string): Promise<string | null> {
  const value = await connect().get(clusterKeys(prefix).lease(endpointId));
  return value === null ? null : leaseHolder(value);
}

describe.skipIf(url === undefined)('Redis leases', () => {
  it('two instances racing for one endpoint: exactly one wins', async () => {
    const prefix = freshPrefix();
    const instances = ['a', 'b', 'c', 'd', 'e'].map((name) => instance(name, prefix));
    const endpoints = Array.from({ length: 10 }, (_, i) => `ep-${i}`);
    const results = await Promise.all(
      endpoints.map((id) => Promise.all(instances.map((o) => o.acquire(id)))),
    );
    for (const [i, leases] of results.entries()) {
      const winners = leases.filter((lease): lease is Lease => lease !== null);
      expect(winners).toHaveLength(1);
      expect(await holderOf(prefix, endpoints[i]!)).toBe(winners[0]!.owner);
    }
    const held = instances.flatMap((o) => o.held());
    expect(held.map((lease) => lease.endpointId).sort()).toEqual(endpoints);
  });

  it('fences grow across owners', async () => {
    const prefix = freshPrefix();
    const a = instance('a', prefix);
    const b = instance('b', prefix);
    const first = (await a.acquire('e'))!;
    await a.release(first);
    const second = (await b.acquire('e'))!;
    // As if b's lease had expired unrenewed.
    await connect().del(clusterKeys(prefix).lease('e'));
    const third = (await a.acquire('e'))!;
    expect(second.fence).toBeGreaterThan(first.fence);
    expect(third.fence).toBeGreaterThan(second.fence);
    expect(await b.renew(second)).toBe(false);
  });

  it('fences outrank a single node before it and stay ordered whatever the clocks say', async () => {
    const prefix = freshPrefix();
    const solo = (await new LocalOwnership('solo').acquire('e'))!;
    const ahead = instance('ahead', prefix, { clock: new ManualClock(Date.now() + 3_600_000) });
    const behind = instance('behind', prefix, { clock: new ManualClock(0) });
    const first = (await ahead.acquire('e'))!;
    expect(first.fence).toBeGreaterThanOrEqual(solo.fence);
    await ahead.release(first);
    const second = (await behind.acquire('e'))!;
    expect(second.fence).toBe(first.fence + 1);
  });

  it('the owner renews and keeps the lease past several TTLs', async () => {
    const prefix = freshPrefix();
    const a = instance('a', prefix, { ttlMs: 600 });
    const b = instance('b', prefix, { ttlMs: 600 });
    const lost = lossesOf(a);
    const lease = (await a.acquire('e'))!;
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      expect(await b.acquire('e')).toBeNull();
      await sleep(50);
    }
    expect(lost).toEqual([]);
    expect(a.held()).toEqual([lease]);
    expect(await a.renew(lease)).toBe(true);
    expect(await holderOf(prefix, 'e')).toBe('a');
  });

  it.each(['deleted', 'taken'] as const)(
    'a renewal refused (the key was %s) calls onLost once',
    async (what) => {
      const prefix = freshPrefix();
      const a = instance('a', prefix, { ttlMs: 900 });
      const b = instance('b', prefix, { ttlMs: 900 });
      const lost = lossesOf(a);
      const lease = (await a.acquire('e'))!;
      await connect().del(clusterKeys(prefix).lease('e'));
      if (what === 'taken') expect(await b.acquire('e')).not.toBeNull();
      await waitUntil(() => lost.length > 0, { timeoutMs: 2_000, what: 'the loss' });
      await sleep(700); // two more renewal rounds
      expect(lost.map((l) => l.endpointId)).toEqual(['e']);
      expect(a.held()).toEqual([]);
      expect(await a.renew(lease)).toBe(false);
      expect(await holderOf(prefix, 'e')).toBe(what === 'taken' ? 'b' : null);
    },
  );

  it('cut off from Redis: onLost fires before the TTL, and only then can another instance acquire', async () => {
    const prefix = freshPrefix();
    const ttlMs = 1_200;
    const { redis, proxy } = await connectThroughProxy();
    const a = instance('a', prefix, { redis, ttlMs, safetyMarginMs: 300 });
    const b = instance('b', prefix, { ttlMs });
    const lost = lossesOf(a);
    expect(await a.acquire('e')).not.toBeNull();
    await sleep(500); // at least one renewal confirmed

    const cutAt = Date.now();
    proxy.blackhole();
    let takenAt: number | undefined;
    await waitUntil(
      async () => {
        const sentAt = Date.now();
        if (!(await b.acquire('e'))) return false;
        takenAt = sentAt;
        return true;
      },
      { timeoutMs: ttlMs + 2_000, intervalMs: 20, what: 'another instance to acquire' },
    );

    expect(lost.map((l) => l.endpointId)).toEqual(['e']);
    expect(lost[0]!.at - cutAt).toBeLessThan(ttlMs);
    // Strictly before the acquisition that succeeded was even sent.
    expect(lost[0]!.at).toBeLessThan(takenAt!);
    expect(a.held()).toEqual([]);
  });

  it('a renewal answered late counts from when it was sent', async () => {
    const prefix = freshPrefix();
    const clock = new ManualClock(0);
    const { redis, proxy } = await connectThroughProxy();
    // Renewals every 1000 ms; a lease is lost 2400 ms after its last confirmed renewal was sent.
    const a = instance('a', prefix, { redis, clock, ttlMs: 3_000, safetyMarginMs: 600 });
    const lost = lossesOf(a, () => clock.now());
    expect(await a.acquire('e')).not.toBeNull();

    proxy.pause('toClient');
    clock.advance(1_000); // renewal sent at 1000; Redis runs it, the answer is held back
    clock.advance(500);
    proxy.resume('toClient');
    await redis.ping(); // answered after the renewal, on the same connection
    await drain(); // the renewal, answered at 1500, counts from 1000

    proxy.pause('toClient');
    clock.advance(500); // the renewal sent at 2000 is never answered
    clock.advance(1_399);
    expect(lost).toEqual([]);
    clock.advance(1);
    expect(lost).toEqual([{ endpointId: 'e', at: 3_400 }]);

    // Given up for silence, the lease is handed back once Redis hears us again.
    proxy.resume('toClient');
    await waitUntil(async () => (await holderOf(prefix, 'e')) === null, {
      timeoutMs: 2_000,
      what: 'the key to be released',
    });
  });

  it('an acquisition answered after its deadline is handed back, not used', async () => {
    const prefix = freshPrefix();
    const clock = new ManualClock(0);
    const { redis, proxy } = await connectThroughProxy();
    const a = instance('a', prefix, { redis, clock, ttlMs: 3_000, safetyMarginMs: 600 });
    proxy.pause('toClient');
    const attempt = a.acquire('e');
    await sleep(50); // the script runs in Redis meanwhile
    clock.advance(2_400);
    proxy.resume('toClient');
    expect(await attempt).toBeNull();
    expect(a.held()).toEqual([]);
    expect(clock.pending).toBe(0);
    await waitUntil(async () => (await holderOf(prefix, 'e')) === null, {
      timeoutMs: 2_000,
      what: 'the key to be released',
    });
  });

  it('release lets another instance acquire at once', async () => {
    const prefix = freshPrefix();
    const a = instance('a', prefix);
    const b = instance('b', prefix);
    const lost = lossesOf(a);
    const lease = (await a.acquire('e'))!;
    expect(await b.acquire('e')).toBeNull();
    await a.release(lease);
    expect(await b.acquire('e')).not.toBeNull();
    expect(a.held()).toEqual([]);
    expect(lost).toEqual([]);
  });

  it('close() releases every held lease and leaves no timer', async () => {
    const prefix = freshPrefix();
    const clock = new ManualClock(Date.now());
    const a = instance('a', prefix, { clock });
    const b = instance('b', prefix);
    const endpoints = ['e1', 'e2', 'e3'];
    for (const id of endpoints) expect(await a.acquire(id)).not.toBeNull();
    expect(clock.pending).toBe(1);
    await a.close();
    expect(clock.pending).toBe(0);
    expect(a.held()).toEqual([]);
    for (const id of endpoints) expect(await b.acquire(id)).not.toBeNull();
    expect(await a.acquire('e4')).toBeNull();
  });

  it("release never deletes another owner's key", async () => {
    const prefix = freshPrefix();
    const keys = clusterKeys(prefix);
    // A stopped clock: no renewal notices the takeover before the release is tried.
    const a = instance('a', prefix, { clock: new ManualClock(Date.now()) });
    const b = instance('b', prefix);
    const stale = (await a.acquire('e'))!;
    await connect().del(keys.lease('e'));
    const current = (await b.acquire('e'))!;
    await a.release(stale);
    expect(await holderOf(prefix, 'e')).toBe('b');
    expect(await b.renew(current)).toBe(true);

    // The scripts themselves, given a value that is not the key's.
    const scripts = defineLeaseScripts(connect());
    const wrong = leaseValue('b', 'not-the-token');
    expect(await scripts.tetherLeaseRelease(keys.lease('e'), wrong)).toBe(0);
    expect(await scripts.tetherLeaseRenew(keys.lease('e'), wrong, 5)).toBe(0);
    expect(await holderOf(prefix, 'e')).toBe('b');
    expect(await connect().pttl(keys.lease('e'))).toBeGreaterThan(1_000);
  });

  it('after Redis lost its keys, a new owner gets the lease only once the old one has let go', async () => {
    const prefix = freshPrefix();
    const a = instance('a', prefix, { ttlMs: 1_500, settleMs: undefined });
    const lostA = lossesOf(a);
    expect(await a.acquire('e')).not.toBeNull();
    // A restarted Redis without persistence: every key gone, the old owner none the wiser.
    const admin = connect();
    await admin.del(...(await admin.keys(`${prefix}*`)));

    const b = instance('b', prefix, { ttlMs: 1_500, settleMs: undefined });
    const lease = await b.acquire('e');
    const handedOutAt = Date.now();
    expect(lease).not.toBeNull();
    // The old owner's renewal was refused (and its socket would have closed) before that.
    expect(lostA.map((l) => l.endpointId)).toEqual(['e']);
    expect(lostA[0]!.at).toBeLessThanOrEqual(handedOutAt);
  });

  it('refuses a safety margin that would lose a lease before its first renewal', () => {
    const redis = connect();
    expect(
      () => new RedisOwnership({ redis, instance: 'a', ttlMs: 900, safetyMarginMs: 600 }),
    ).toThrow(RangeError);
    expect(
      () => new RedisOwnership({ redis, instance: 'a', ttlMs: 900, safetyMarginMs: 599 }),
    ).not.toThrow();
  });
});
