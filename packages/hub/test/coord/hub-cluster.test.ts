import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, requireService, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { Balancer } from '../../src/coord/balance.js';
import { connectCluster } from '../../src/coord/connect.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/index.js';

// Skips locally when Redis is not running; under CI=true this throws, so the file fails.
const url = await requireService('redis');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOKENS = Array.from({ length: 30 }, (_, i) => `tok-${i}`);
const TTL = 1_500;

interface Cluster {
  sim: EndpointSimulator;
  prefix: string;
  /** One SQLite file shared by every hub of the test, as PostgreSQL is in production. */
  db: string;
}

async function cluster(): Promise<Cluster> {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const prefix = `test:hub-cluster:${randomBytes(6).toString('hex')}:`;
  cleanups.push(async () => {
    const admin = new Redis(url!);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });
  const db = join(mkdtempSync(join(tmpdir(), 'tether-cluster-')), 'tether.db');
  return { sim, prefix, db };
}

async function member(c: Cluster, name: string) {
  const store = await openStore({ file: c.db });
  await store.migrate();
  const logger = silentLogger();
  const coordination = await connectCluster({
    url: url!,
    instance: name,
    prefix: c.prefix,
    ttlMs: TTL,
    logger,
  });
  const hub = new Hub(
    {
      endpoints: TOKENS.map((token) => ({
        name: token,
        url: c.sim.url(token),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file' as const,
      })),
      servers: [],
      hub: { ...DEFAULT_HUB, port: 0 },
      notifications: [],
    },
    {
      logger,
      store,
      instance: name,
      ownership: coordination.ownership,
      cluster: coordination.cluster,
      claimIntervalMs: 200,
    },
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await hub.stop();
    await coordination.close();
    await store.close();
  };
  cleanups.push(stop);
  await hub.start();
  return { hub, stop };
}

const held = (hub: Hub) => hub.endpoints().filter((e) => e.owner === hub.instance).length;
const readyOnce = (sim: EndpointSimulator) =>
  TOKENS.every((t) => sim.sockets(t).filter((s) => s.state === 'ready').length === 1);
const mostAtOnce = (sim: EndpointSimulator) =>
  Math.max(...TOKENS.map((t) => sim.accounting(t).maxOpen));
const ownerOf = (hub: Hub, name: string) => hub.endpoints().find((e) => e.name === name)!.owner;
const state = (hub: Hub, name: string) => hub.endpoints().find((e) => e.name === name)!.state;

describe('a cluster of hubs on one Redis', () => {
  it('shares the endpoints fairly, each served once, and a joining hub takes a share', async () => {
    const c = await cluster();
    const hubs = [await member(c, 'a'), await member(c, 'b'), await member(c, 'c')];
    await waitUntil(
      () =>
        readyOnce(c.sim) &&
        hubs.every(({ hub }) => held(hub) >= 8 && held(hub) <= 12) &&
        hubs.reduce((n, { hub }) => n + held(hub), 0) === TOKENS.length,
      { timeoutMs: 15_000, what: 'every endpoint served, 10 ± 2 per hub' },
    );
    // Every hub knows who serves what, the others' endpoints included.
    for (const { hub } of hubs)
      expect(hub.endpoints().every((e) => ['a', 'b', 'c'].includes(e.owner))).toBe(true);

    const d = await member(c, 'd');
    await waitUntil(() => held(d.hub) >= 5 && readyOnce(c.sim), {
      timeoutMs: 15_000,
      what: 'the fourth hub serving its share',
    });
    expect(Math.max(...[...hubs, d].map(({ hub }) => held(hub)))).toBeLessThanOrEqual(9);
    expect(mostAtOnce(c.sim)).toBe(1);
  });

  it("applies a retry and a disable sent to a hub that does not own the endpoint on the owner's socket", async () => {
    const c = await cluster();
    const a = await member(c, 'a');
    const b = await member(c, 'b');
    await waitUntil(() => readyOnce(c.sim) && held(a.hub) > 0 && held(b.hub) > 0, {
      timeoutMs: 15_000,
      what: 'both hubs serving',
    });
    const target = TOKENS.find((t) => ownerOf(a.hub, t) === 'b')!;
    // Turned away (4401): the owner would wait about a minute before trying again.
    c.sim.closeSockets({ code: 4401, reason: 'unauthorized' }, { token: target });
    await waitUntil(() => ['backoff', 'parked'].includes(state(b.hub, target)), {
      timeoutMs: 2_000,
      what: 'the owner to back off',
    });
    const opens = c.sim.accounting(target).opens;

    // Heard by every hub: the owner's change reaches the others' event streams.
    const heard: string[] = [];
    a.hub.on('endpoint', (name) => heard.push(name));
    await expect(a.hub.retry(target)).resolves.toBe(true);
    await waitUntil(
      () =>
        c.sim.accounting(target).opens > opens &&
        c.sim.sockets(target).some((s) => s.state === 'ready'),
      { timeoutMs: 1_500, what: 'the owner to reconnect at once' },
    );
    await waitUntil(() => heard.includes(target) && state(a.hub, target) === 'ready', {
      timeoutMs: 1_000,
      what: 'hub a to hear of it',
    });

    await a.hub.setEnabled(target, false);
    await waitUntil(() => c.sim.sockets(target).every((s) => s.state === 'closed'), {
      timeoutMs: 1_500,
      what: "the owner's socket to close",
    });
    await a.hub.setEnabled(target, true);
    await waitUntil(() => c.sim.sockets(target).some((s) => s.state === 'ready'), {
      timeoutMs: 3_000,
      what: 'the endpoint served again',
    });
    expect(mostAtOnce(c.sim)).toBe(1);
  });

  it("hands a stopped hub's endpoints to the others at once", async () => {
    const c = await cluster();
    const a = await member(c, 'a');
    const b = await member(c, 'b');
    await waitUntil(() => readyOnce(c.sim) && held(a.hub) > 0 && held(b.hub) > 0, {
      timeoutMs: 15_000,
      what: 'both hubs serving',
    });
    const stoppedAt = Date.now();
    await a.stop();
    await waitUntil(() => held(b.hub) === TOKENS.length && readyOnce(c.sim), {
      timeoutMs: 5_000,
      what: 'hub b serving everything',
    });
    // Released and left: not waited out until the TTL.
    expect(Date.now() - stoppedAt).toBeLessThan(TTL);
    expect(mostAtOnce(c.sim)).toBe(1);
  });
});

describe('the fair share', () => {
  it('claims up to the share, sheds only past share + slack, and sheds back to the share', () => {
    const b = new Balancer();
    expect(b.next(300, 3, 0)).toEqual({ claim: 100, shed: 0 });
    expect(b.next(300, 3, 100)).toEqual({ claim: 0, shed: 0 });
    // One over the share is within the slack: it stays.
    expect(b.next(301, 3, 102)).toEqual({ claim: 0, shed: 0 });
    // A fourth instance: 100 is past 75 + 8; a tenth of the share per round, down to 75.
    expect(b.next(300, 4, 100)).toEqual({ claim: 0, shed: 8 });
    expect(b.next(300, 4, 80)).toEqual({ claim: 0, shed: 5 });
    expect(b.next(300, 4, 75)).toEqual({ claim: 0, shed: 0 });
    expect(b.next(300, 4, 78)).toEqual({ claim: 0, shed: 0 });
    // Within the slack, but a joiner is starving: those over the share give back to it.
    const c = new Balancer();
    expect(c.next(30, 4, 9, 4)).toEqual({ claim: 0, shed: 1 });
    expect(c.next(30, 4, 8, 6)).toEqual({ claim: 0, shed: 0 });
    // A dead instance: the share grows and the survivors claim.
    expect(b.next(300, 2, 100)).toEqual({ claim: 50, shed: 0 });
  });
});
