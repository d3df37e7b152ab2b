import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireService } from '@tether/testkit';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { usageOf } from '../../src/store/history.js';
import { LATENCY_COLUMNS, TOOL_HOURS_KEEP_MS, latencyBucket } from '../../src/store/tool-hours.js';
import { call, endpoint, transition, unique } from './fixtures.js';

// What the uptime strip and the per-tool figures read, on both backends. Skips PostgreSQL
// locally when it is not running; under CI=true requireService throws instead.
const url = await requireService('postgres');
const schema = `t_${randomBytes(6).toString('hex')}`;
const HOUR = 3_600_000;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function describeFigures(name: string, open: () => Promise<Store>) {
  describe(`figures from the store: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.migrate();
    });
    afterEach(() => store.close());

    it("reads an endpoint's state changes in a time window, and the one before it", async () => {
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      await store.endpoints.put(endpoint(`${id}-other`));
      const at = (n: number) => ({ ...transition(id, n), at: 1_000 * n });
      // Appended out of time order: the window is read by time, not by id.
      for (const n of [5, 1, 3, 2, 9, 7]) await store.timeline.append(at(n));
      await store.timeline.append({ ...transition(`${id}-other`, 4), at: 4_000 });

      const rows = await store.timeline.between(id, 2_000, 9_000, 100);
      expect(rows.map((r) => r.at)).toEqual([2_000, 3_000, 5_000, 7_000]);
      // Past the limit, the newest.
      const newest = await store.timeline.between(id, 0, 10_000, 2);
      expect(newest.map((r) => r.at)).toEqual([7_000, 9_000]);
      expect((await store.timeline.lastBefore(id, 5_000))?.at).toBe(3_000);
      expect(await store.timeline.lastBefore(id, 1_000)).toBeUndefined();
    });

    it('reads calls in a window newest first, and counts usage that outlives pruning', async () => {
      const tool = unique('calc__add');
      const other = unique('calc__mul');
      const base = 1_700_000_000_000;
      await store.toolCalls.appendMany([
        call({ tool, at: base + 1, durationMs: 5 }),
        call({ tool, at: base + 3, durationMs: 7, outcome: 'error' }),
        call({ tool: other, at: base + 2 }),
      ]);
      await store.toolCalls.append(call({ tool, at: base + 4 }));
      // An older batch arriving late does not move the last use back.
      await store.toolCalls.appendMany([call({ tool, at: base })]);

      const usage = await store.toolCalls.usage();
      expect(usage.find((u) => u.tool === tool)).toEqual({ tool, calls: 4, lastAt: base + 4 });
      expect(usage.find((u) => u.tool === other)).toEqual({
        tool: other,
        calls: 1,
        lastAt: base + 2,
      });

      const window = (await store.toolCalls.between(base + 1, base + 4, 100)).filter(
        (s) => s.tool === tool || s.tool === other,
      );
      expect(window).toEqual([
        { tool, server: 'calc', at: base + 3, durationMs: 7, outcome: 'error' },
        { tool: other, server: 'calc', at: base + 2, durationMs: 3, outcome: 'ok' },
        { tool, server: 'calc', at: base + 1, durationMs: 5, outcome: 'ok' },
      ]);

      await store.toolCalls.prune(0, Infinity);
      expect((await store.toolCalls.usage()).find((u) => u.tool === tool)?.calls).toBe(4);
    });

    it('rolls every call up by tool and hour, and keeps the counts when the log is pruned', async () => {
      const tool = unique('calc__add');
      const other = unique('calc__mul');
      const h = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);
      // Two batches into the same hour, one into the next; outcomes of every kind.
      await store.toolCalls.appendMany([
        call({ tool, at: h + 1, durationMs: 4 }),
        call({ tool, at: h + 2, durationMs: 150, outcome: 'error' }),
        call({ tool: other, at: h + 3, durationMs: 1 }),
        call({ tool, at: h + 4, durationMs: 5_000, outcome: 'early' }),
      ]);
      await store.toolCalls.appendMany([
        call({ tool, at: h + 5, durationMs: 30_000, outcome: 'timeout' }),
        call({ tool, at: h + 6, durationMs: 2, outcome: 'cancelled' }),
        call({ tool, at: h + HOUR, durationMs: 700_000 }),
      ]);
      await store.toolCalls.prune(0, Infinity);
      expect((await store.toolCalls.page({ tool })).items).toEqual([]);

      const rows = (await store.toolCalls.hours(h, h + 2 * HOUR)).filter(
        (r) => r.tool === tool || r.tool === other,
      );
      const histogram = (entries: Record<number, number>) =>
        LATENCY_COLUMNS.map((_, i) => entries[i] ?? 0);
      expect(rows).toEqual(
        [
          {
            tool,
            server: 'calc',
            hour: h,
            calls: 5,
            // error and timeout; early and cancelled are calls without the tool's own time.
            errors: 2,
            sumMs: 4 + 150 + 30_000,
            latency: histogram({
              [latencyBucket(4)]: 1,
              [latencyBucket(150)]: 1,
              [latencyBucket(30_000)]: 1,
            }),
          },
          {
            tool,
            server: 'calc',
            hour: h + HOUR,
            calls: 1,
            errors: 0,
            sumMs: 700_000,
            latency: histogram({ 19: 1 }),
          },
          {
            tool: other,
            server: 'calc',
            hour: h,
            calls: 1,
            errors: 0,
            sumMs: 1,
            latency: histogram({ 0: 1 }),
          },
        ].sort((a, b) => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : a.hour - b.hour)),
      );

      // Kept for TOOL_HOURS_KEEP_MS after the hour ends, then pruned.
      await store.toolCalls.pruneHours(TOOL_HOURS_KEEP_MS, h + HOUR + TOOL_HOURS_KEEP_MS);
      expect(
        (await store.toolCalls.hours(h, h + 2 * HOUR)).filter((r) => r.tool === tool),
      ).toHaveLength(2);
      await store.toolCalls.pruneHours(TOOL_HOURS_KEEP_MS, h + HOUR + TOOL_HOURS_KEEP_MS + 1);
      expect(
        (await store.toolCalls.hours(h, h + 2 * HOUR))
          .filter((r) => r.tool === tool)
          .map((r) => r.hour),
      ).toEqual([h + HOUR]);
    });

    // Two instances share one database only on PostgreSQL (a SQLite :memory: store is its own).
    it.runIf(name === 'PostgreSQL')(
      'two hubs logging the same tools at once, in opposite orders, count every call once',
      async () => {
        const second = await open();
        try {
          const tools = [unique('a__x'), unique('b__y'), unique('c__z')];
          const h = 1_800_000_000_000 - (1_800_000_000_000 % HOUR);
          const batch = (order: string[]) =>
            order.flatMap((tool) => [0, 1].map((k) => call({ tool, at: h + k * HOUR + 1 })));
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 ? second : store).toolCalls.appendMany(
                batch(i % 2 ? [...tools].reverse() : tools),
              ),
            ),
          );
          const rows = (await store.toolCalls.hours(h, h + 2 * HOUR)).filter((r) =>
            tools.includes(r.tool),
          );
          expect(rows.map((r) => r.calls)).toEqual(new Array(6).fill(10));
          const usage = (await store.toolCalls.usage()).filter((u) => tools.includes(u.tool));
          // Each batch calls each tool twice, once in each hour.
          expect(usage.map((u) => u.calls)).toEqual([20, 20, 20]);
        } finally {
          await second.close();
        }
      },
    );
  });
}

describeFigures('SQLite', () => openStore({ file: ':memory:' }));

describe('the order a batch writes its counts in', () => {
  it('bumps usage in tool order, whatever order the calls came in, so two hubs lock alike', () => {
    const rows = usageOf([
      call({ tool: 'weather__now', at: 3 }),
      call({ tool: 'calc__add', at: 1 }),
      call({ tool: 'weather__now', at: 5 }),
      call({ tool: 'Calc__mul', at: 2 }),
    ]);
    expect(rows).toEqual([
      { tool: 'Calc__mul', calls: 1, last_at: 2 },
      { tool: 'calc__add', calls: 1, last_at: 1 },
      { tool: 'weather__now', calls: 2, last_at: 5 },
    ]);
  });
});

describe('upgrading a store from before usage counts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-usage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts the counts from the calls the log holds', async () => {
    const file = join(dir, 'old.db');
    const store = await openStore({ file });
    await store.migrate();
    await store.close();
    // Back to the schema of 0003, with two logged calls of one tool.
    const raw = new BetterSqlite3(file);
    try {
      raw.exec(
        'DROP TABLE tool_hours; DROP TABLE tool_usage; DROP INDEX timeline_endpoint_at;' +
          " DELETE FROM tether_migration WHERE name IN ('0004_uptime_usage', '0005_tool_hours')",
      );
      const insert = raw.prepare(
        "INSERT INTO tool_calls (endpoint_id, tool, server, at, duration_ms, outcome, args_bytes, result_bytes) VALUES (NULL, 'calc__add', 'calc', ?, 1, 'ok', 0, 0)",
      );
      insert.run(10);
      insert.run(20);
    } finally {
      raw.close();
    }
    const upgraded = await openStore({ file });
    try {
      await upgraded.migrate();
      expect(await upgraded.toolCalls.usage()).toEqual([
        { tool: 'calc__add', calls: 2, lastAt: 20 },
      ]);
    } finally {
      await upgraded.close();
    }
  });
});

/** Calls a log from before the rollup held (a sql VALUES list), and the hours 0005 makes of them. */
const OLD_CALLS =
  "('calc__add', 'calc', 3600001, 4, 'ok'), ('calc__add', 'calc', 3600002, 150, 'error')," +
  " ('calc__add', 'calc', 3600003, 9000, 'early'), ('calc__add', 'calc', 7200000, 1, 'timeout')";
const seeded = (hours: Awaited<ReturnType<Store['toolCalls']['hours']>>) => {
  const histogram = (entries: Record<number, number>) =>
    LATENCY_COLUMNS.map((_, i) => entries[i] ?? 0);
  expect(hours).toEqual([
    {
      tool: 'calc__add',
      server: 'calc',
      hour: HOUR,
      calls: 3,
      errors: 1,
      sumMs: 154,
      latency: histogram({ [latencyBucket(4)]: 1, [latencyBucket(150)]: 1 }),
    },
    {
      tool: 'calc__add',
      server: 'calc',
      hour: 2 * HOUR,
      calls: 1,
      errors: 1,
      sumMs: 1,
      latency: histogram({ 0: 1 }),
    },
  ]);
};

describe('upgrading a store from before the hourly rollup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-hours-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: rolls up the calls the log holds', async () => {
    const file = join(dir, 'old.db');
    const store = await openStore({ file });
    await store.migrate();
    await store.close();
    const raw = new BetterSqlite3(file);
    try {
      raw.exec(
        "DROP TABLE tool_hours; DELETE FROM tether_migration WHERE name = '0005_tool_hours';" +
          ' INSERT INTO tool_calls (tool, server, at, duration_ms, outcome, args_bytes,' +
          ` result_bytes) SELECT column1, column2, column3, column4, column5, 0, 0 FROM (VALUES ${OLD_CALLS})`,
      );
    } finally {
      raw.close();
    }
    const upgraded = await openStore({ file });
    try {
      await upgraded.migrate();
      seeded(await upgraded.toolCalls.hours(0, 10 * HOUR));
    } finally {
      await upgraded.close();
    }
  });

  it.skipIf(url === undefined)('PostgreSQL: rolls up the calls the log holds', async () => {
    const old = `t_${randomBytes(6).toString('hex')}`;
    await admin(`create schema ${old}`);
    try {
      const store = await openStore({ databaseUrl: url, schema: old });
      await store.migrate();
      await store.close();
      await admin(
        `drop table ${old}.tool_hours; delete from ${old}.tether_migration where name = '0005_tool_hours';` +
          ` insert into ${old}.tool_calls (tool, server, at, duration_ms, outcome, args_bytes, result_bytes)` +
          ` select t, s, a, d, o, 0, 0 from (values ${OLD_CALLS}) as v (t, s, a, d, o)`,
      );
      const upgraded = await openStore({ databaseUrl: url, schema: old });
      try {
        await upgraded.migrate();
        seeded(await upgraded.toolCalls.hours(0, 10 * HOUR));
      } finally {
        await upgraded.close();
      }
    } finally {
      await admin(`drop schema if exists ${old} cascade`);
    }
  });
});

describe.skipIf(url === undefined)('PostgreSQL', () => {
  beforeAll(() => admin(`create schema ${schema}`));
  afterAll(() => admin(`drop schema if exists ${schema} cascade`));
  describeFigures('PostgreSQL', () => openStore({ databaseUrl: url, schema }));
});
