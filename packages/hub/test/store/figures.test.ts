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
import { call, endpoint, transition, unique } from './fixtures.js';

// What the uptime strip and the per-tool figures read, on both backends. Skips PostgreSQL
// locally when it is not running; under CI=true requireService throws instead.
const url = await requireService('postgres');
const schema = `t_${randomBytes(6).toString('hex')}`;

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
        "DROP TABLE tool_usage; DROP INDEX timeline_endpoint_at; DELETE FROM tether_migration WHERE name = '0004_uptime_usage'",
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

describe.skipIf(url === undefined)('PostgreSQL', () => {
  beforeAll(() => admin(`create schema ${schema}`));
  afterAll(() => admin(`drop schema if exists ${schema} cascade`));
  describeFigures('PostgreSQL', () => openStore({ databaseUrl: url, schema }));
});
