/**
 * The cluster harness itself, on one instance and a few endpoints: it starts `tether start`,
 * reads its API, counts sockets and outages, and leaves nothing behind (no process, no
 * database, no Redis key), so cluster.e2e.test.ts fails only for what it tests.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { requireService } from '@tether/testkit';
import { Cluster, eventually } from './harness.js';

const redisUrl = await requireService('redis');
const databaseUrl = await requireService('postgres');

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe.skipIf(!redisUrl || !databaseUrl)('the cluster test harness', () => {
  it('runs an instance that serves its endpoints, and leaves no process, database or key behind', async () => {
    const cluster = await Cluster.create({
      redisUrl: redisUrl!,
      databaseServerUrl: databaseUrl!,
      endpoints: 5,
      leaseTtlMs: 3_000,
    });
    const database = new URL(cluster.database.url).pathname.slice(1);
    const pids: number[] = [];
    try {
      const hub = await cluster.launch('hub-a');
      expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await eventually(
        'every endpoint ready',
        20_000,
        () => cluster.notServed().length === 0 || cluster.notServed().join(', '),
        {
          context: () => cluster.report(),
        },
      );
      const rows = await hub.endpoints();
      expect(rows.map((r) => r.name).sort()).toEqual([...cluster.names].sort());

      // An outage as the simulator sees it: from the close to the next ready socket.
      const since = Date.now();
      cluster.sim.closeSockets({ code: 1012, reason: 'service restart' }, { token: 'tok-0' });
      await eventually(
        'tok-0 back',
        10_000,
        () => cluster.watch.servedSince('tok-0', since) || 'not yet',
      );
      const outage = cluster.watch.longestOutage(since);
      expect(outage?.token).toBe('tok-0');
      expect(outage!.ms).toBeGreaterThanOrEqual(0);
      expect(cluster.watch.doublesSince(0)).toEqual([]);
      expect(cluster.mostAtOnce().max).toBe(1);

      // A second socket for a token while the hub holds one is seen, when and for which token.
      const before = Date.now();
      const intruder = new WebSocket(cluster.sim.url('tok-1'));
      await eventually(
        'the second socket seen',
        5_000,
        () => cluster.watch.doublesSince(before).length > 0 || 'not yet',
      );
      intruder.terminate();
      expect(cluster.watch.doublesSince(before).map((d) => d.token)).toEqual(['tok-1']);
      expect(cluster.mostAtOnce()).toEqual({ max: 2, tokens: ['tok-1'] });

      // A runner that vanishes takes its instances with it.
      const orphan = await cluster.launch('hub-b');
      orphan.dropRunnerPipe();
      expect((await orphan.exited).signal).toBe('SIGKILL');
      pids.push(...cluster.history.map((i) => i.pid));
      expect(cluster.crashes()).toEqual([]);
    } finally {
      expect(await cluster.close()).toEqual([]);
    }
    expect(pids.filter((pid) => !gone(pid))).toEqual([]);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const left = await client.query('select 1 from pg_database where datname = $1', [database]);
    await client.end();
    expect(left.rowCount).toBe(0);
    const redis = new Redis(redisUrl!);
    const keys = await redis.keys(`${cluster.prefix}*`);
    redis.disconnect();
    expect(keys).toEqual([]);
  }, 60_000);
});
