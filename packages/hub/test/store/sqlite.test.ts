import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { writeThenKill9 } from './abandon.js';
import { describeStoreContract } from './contract.js';
import { call, endpoint, rejection, status, transition, unique } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract('SQLite file', (now) => openStore({ file: join(dir, 'contract.db'), now }));
describeStoreContract('SQLite :memory:', (now) => openStore({ file: ':memory:', now }));

describe('SQLite specifics', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('puts the file in WAL mode with foreign keys enforced', async () => {
    const file = join(dir, 'wal.db');
    const store = await openStore({ file });
    await store.migrate();
    await store.close();
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('creates $TETHER_HOME owner-only and keeps tether.db there by default', async () => {
    const home = join(dir, 'home', 'nested');
    vi.stubEnv('TETHER_HOME', home);
    const store = await openStore({});
    await store.migrate();
    await store.close();
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(existsSync(join(home, 'tether.db'))).toBe(true);
  });

  it('an unopenable file is STORE_UNAVAILABLE', async () => {
    const error = await rejection(openStore({ file: join(dir, 'missing', 'dir', 'x.db') }));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain('missing');
  });

  it("prepares the status batch's statements once, not per row or per batch", async () => {
    const store = await openStore({ file: ':memory:' });
    try {
      await store.migrate();
      const ids = [unique('e'), unique('e'), unique('e')];
      for (const id of ids) await store.endpoints.put(endpoint(id));
      const prepare = vi.spyOn(BetterSqlite3.prototype, 'prepare');
      const batch = (n: number) =>
        store.status.writeBatch(
          ids.map((id) => status(id, { attempts: n })),
          ids.map((id) => transition(id, n)),
        );
      await batch(1);
      const first = prepare.mock.calls.length;
      expect(first).toBeLessThanOrEqual(3);
      for (let n = 2; n <= 6; n++) await batch(n);
      expect(prepare.mock.calls.length).toBe(first);
      expect((await store.status.get(ids[2]!))?.attempts).toBe(6);
      expect((await store.timeline.page(ids[0]!)).items).toHaveLength(6);
    } finally {
      vi.restoreAllMocks();
      await store.close();
    }
  });

  it('logs batches of tool calls through statements prepared once, keeping every field', async () => {
    const store = await openStore({ file: ':memory:' });
    try {
      await store.migrate();
      const call = (i: number) => ({
        endpointId: i % 2 === 0 ? 'home' : null,
        tool: `t${i}`,
        server: 'calc',
        at: 1_000 + i,
        durationMs: i / 2,
        outcome: i % 3 === 0 ? ('error' as const) : ('ok' as const),
        argsBytes: i,
        resultBytes: 2 * i,
        error: i % 3 === 0 ? `failed ${i}` : null,
      });
      const prepare = vi.spyOn(BetterSqlite3.prototype, 'prepare');
      await store.toolCalls.appendMany([0, 1, 2].map(call));
      const first = prepare.mock.calls.length;
      // The insert, the usage upsert and the hourly rollup's.
      expect(first).toBeLessThanOrEqual(3);
      for (let n = 1; n <= 5; n++)
        await store.toolCalls.appendMany(Array.from({ length: 10 * n }, (_, i) => call(i)));
      expect(prepare.mock.calls.length).toBe(first);
      const page = await store.toolCalls.page({ limit: 200 });
      expect(page.items).toHaveLength(3 + 150);
      const oldest = page.items.at(-1)!;
      expect(oldest).toMatchObject({ ...call(0), id: expect.any(Number) });
      expect(page.items.at(-3)).toMatchObject(call(2));
    } finally {
      vi.restoreAllMocks();
      await store.close();
    }
  });

  it('a call log from before meta keeps its rows and takes meta from then on', async () => {
    const file = join(dir, 'upgrade.db');
    const store = await openStore({ file });
    await store.migrate();
    await store.close();
    // Back to the schema of 0002: what 0003 to 0005 made and their records gone, one old row.
    const raw = new BetterSqlite3(file);
    try {
      raw.exec(
        'DROP TABLE tool_hours; DROP TABLE tool_usage; DROP INDEX timeline_endpoint_at;' +
          ' ALTER TABLE tool_calls DROP COLUMN meta;' +
          " DELETE FROM tether_migration WHERE name IN ('0003_call_meta', '0004_uptime_usage', '0005_tool_hours')",
      );
      raw
        .prepare(
          'INSERT INTO tool_calls (endpoint_id, tool, server, at, duration_ms, outcome, args_bytes, result_bytes, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run('old', 'calc.add', 'calc', 1, 2, 'ok', 3, 4, null);
    } finally {
      raw.close();
    }
    const upgraded = await openStore({ file });
    try {
      await upgraded.migrate();
      await upgraded.toolCalls.append(call({ endpointId: 'old', at: 2, meta: { via: 'api' } }));
      const items = (await upgraded.toolCalls.page({ endpointId: 'old' })).items;
      expect(items.map((c) => [c.at, c.meta])).toEqual([
        [2, { via: 'api' }],
        [1, undefined],
      ]);
    } finally {
      await upgraded.close();
    }
  });

  it('keeps every write of a process killed with SIGKILL', async () => {
    const file = join(dir, 'killed.db');
    const id = unique('e');
    await writeThenKill9({ file }, id);
    // The writes sit in the WAL, never checkpointed: reopening must replay them.
    expect(existsSync(`${file}-wal`)).toBe(true);
    const store = await openStore({ file });
    try {
      await store.migrate();
      expect((await store.endpoints.get(id))?.id).toBe(id);
      expect(await store.status.get(id)).toMatchObject({ owner: 'doomed', fence: 5 });
      expect((await store.timeline.page(id)).items).toHaveLength(1);
      expect(await store.status.resetStale('doomed')).toBe(1);
    } finally {
      await store.close();
    }
  });
});
