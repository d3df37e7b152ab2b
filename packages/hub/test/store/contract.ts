import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/index.js';
import type { CallMeta, Store } from '../../src/store/index.js';
import { META_MAX_BYTES } from '../../src/store/call-meta.js';
import { call, endpoint, rejection, server, status, transition, unique } from './fixtures.js';

/**
 * Opens a migrated-or-not store on the backend under test. Every call reaches the same
 * database, except for SQLite ':memory:', so the tests never assume an empty table: they use
 * fresh ids and look only at their own rows.
 */
export type OpenForTest = (now?: () => number) => Promise<Store>;

/** A clock the test moves by hand. */
function clock(start = 1_000) {
  let t = start;
  return { now: () => t, set: (value: number) => void (t = value) };
}

/** The one suite every Store implementation must pass. */
export function describeStoreContract(name: string, open: OpenForTest): void {
  describe(`Store contract: ${name}`, () => {
    const time = clock();
    let store: Store;

    beforeEach(async () => {
      time.set(1_000);
      store = await open(time.now);
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrating again, and again, is harmless and keeps the data', async () => {
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      await store.migrate();
      await store.migrate();
      expect((await store.endpoints.get(id))?.id).toBe(id);
    });

    it('endpoints: put creates, put replaces by id keeping createdAt, remove deletes', async () => {
      const id = unique('e');
      const created = await store.endpoints.put(endpoint(id, { name: 'first' }));
      expect(created).toMatchObject({ id, name: 'first', createdAt: 1_000, updatedAt: 1_000 });

      time.set(2_000);
      const replaced = await store.endpoints.put(endpoint(id, { name: 'second', enabled: false }));
      expect(replaced).toMatchObject({ name: 'second', enabled: false, createdAt: 1_000 });
      expect(replaced.updatedAt).toBe(2_000);
      expect(await store.endpoints.get(id)).toEqual(replaced);
      expect((await store.endpoints.list()).filter((row) => row.id === id)).toEqual([replaced]);

      expect(await store.endpoints.remove(id)).toBe(true);
      expect(await store.endpoints.remove(id)).toBe(false);
      expect(await store.endpoints.get(id)).toBeUndefined();
    });

    it('servers: put, get, list, replace and remove', async () => {
      const id = unique('s');
      const created = await store.servers.put(server(id));
      time.set(5_000);
      const replaced = await store.servers.put(server(id, { config: { url: 'https://x.test' } }));
      expect(replaced).toEqual({ ...created, config: { url: 'https://x.test' }, updatedAt: 5_000 });
      expect(await store.servers.get(id)).toEqual(replaced);
      expect((await store.servers.list()).map((row) => row.id)).toContain(id);
      expect(await store.servers.remove(id)).toBe(true);
      expect(await store.servers.get(id)).toBeUndefined();
    });

    it('provision makes the file rows exactly the given ones and leaves API rows alone', async () => {
      const [kept, gone, added, api] = ['kept', 'gone', 'added', 'api'].map(unique) as [
        string,
        string,
        string,
        string,
      ];
      const { source: _, ...plain } = endpoint('x');
      await store.endpoints.put(endpoint(api, { source: 'api' }));
      await store.endpoints.provision([
        { ...plain, id: kept, name: 'old name' },
        { ...plain, id: gone, name: gone },
      ]);
      await store.status.write(status(kept));

      time.set(9_000);
      await store.endpoints.provision([
        { ...plain, id: kept, name: 'new name' },
        { ...plain, id: added, name: added },
      ]);

      const rows = await store.endpoints.list();
      const byId = new Map(rows.map((row) => [row.id, row]));
      expect(byId.get(kept)).toMatchObject({ name: 'new name', source: 'file', createdAt: 1_000 });
      expect(byId.get(kept)?.updatedAt).toBe(9_000);
      expect(byId.get(added)).toMatchObject({ source: 'file', createdAt: 9_000 });
      expect(byId.has(gone)).toBe(false);
      expect(byId.get(api)).toMatchObject({ source: 'api', updatedAt: 1_000 });
      expect(rows.filter((row) => row.source === 'file').map((row) => row.id)).toEqual(
        [kept, added].sort(),
      );
      // Updated in place, not deleted and re-inserted: the mirror row survives.
      expect(await store.status.get(kept)).toBeDefined();

      await store.endpoints.provision([]);
      expect((await store.endpoints.list()).filter((row) => row.source === 'file')).toEqual([]);
      expect(await store.endpoints.get(api)).toBeDefined();
    });

    it('provisions 10,000 endpoints from one config file, and drops 5,000 of them again', async () => {
      const { source: _, ...plain } = endpoint('x');
      const ids = Array.from({ length: 10_000 }, (_, i) => `many-${String(i).padStart(5, '0')}`);
      await store.endpoints.provision(ids.map((id) => ({ ...plain, id, name: id })));
      const file = (await store.endpoints.list()).filter((row) => row.source === 'file');
      expect(file.map((row) => row.id)).toEqual(ids);
      await store.endpoints.provision(
        ids.slice(0, 5_000).map((id) => ({ ...plain, id, name: id })),
      );
      const left = (await store.endpoints.list()).filter((row) => row.source === 'file');
      expect(left).toHaveLength(5_000);
      await store.endpoints.provision([]);
    });

    it('provision refuses to overwrite an API row of the same id, and changes nothing', async () => {
      const [api, file] = [unique('api'), unique('file')];
      const { source: _e, ...plainEndpoint } = endpoint('x');
      await store.endpoints.put(endpoint(api, { name: 'mine' }));
      await store.endpoints.provision([{ ...plainEndpoint, id: file }]);

      const error = await rejection(
        store.endpoints.provision([{ ...plainEndpoint, id: api, name: 'theirs' }]),
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error.code).toBe('STORE_CONFLICT');
      expect(error.message).toContain(api);
      expect(await store.endpoints.get(api)).toMatchObject({ name: 'mine', source: 'api' });
      expect(await store.endpoints.get(file)).toBeDefined(); // rolled back: not deleted

      const { source: _s, ...plainServer } = server('x');
      const serverId = unique('srv');
      await store.servers.put(server(serverId));
      const refused = await rejection(store.servers.provision([{ ...plainServer, id: serverId }]));
      expect(refused.code).toBe('STORE_CONFLICT');

      const dup = await rejection(
        store.servers.provision([
          { ...plainServer, id: 'twice' },
          { ...plainServer, id: 'twice' },
        ]),
      );
      expect(dup.code).toBe('STORE_INVALID');
    });

    it('servers provision replaces and deletes file rows, keeps API rows', async () => {
      const [a, b, api] = [unique('a'), unique('b'), unique('api')];
      const { source: _, ...plain } = server('x');
      await store.servers.put(server(api));
      await store.servers.provision([
        { ...plain, id: a },
        { ...plain, id: b },
      ]);
      await store.servers.provision([{ ...plain, id: a, enabled: false }]);
      expect(await store.servers.get(a)).toMatchObject({ source: 'file', enabled: false });
      expect(await store.servers.get(b)).toBeUndefined();
      expect(await store.servers.get(api)).toMatchObject({ source: 'api' });
    });

    it('status: write, get and list', async () => {
      const [e1, e2] = [unique('e'), unique('e')];
      await store.endpoints.put(endpoint(e1));
      await store.endpoints.put(endpoint(e2));
      expect(await store.status.write(status(e1))).toBe(true);
      expect(await store.status.write(status(e2, { state: 'parked' }))).toBe(true);
      expect(await store.status.get(e1)).toEqual(status(e1));
      expect(await store.status.get(unique('none'))).toBeUndefined();
      const mine = (await store.status.list()).filter((row) => [e1, e2].includes(row.endpointId));
      expect(mine).toEqual([status(e1), status(e2, { state: 'parked' })].sort(byEndpoint));
    });

    it('status: a write with an older fence is refused and leaves the row as it was', async () => {
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      const current = status(id, { owner: 'hub-b', fence: 7, state: 'ready' });
      await store.status.write(current);
      const late = status(id, { owner: 'hub-a', fence: 6, state: 'backoff', lastError: 'late' });
      expect(await store.status.write(late)).toBe(false);
      expect(await store.status.get(id)).toEqual(current);
    });

    it('status: the same fence may write again, and a newer fence wins', async () => {
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      await store.status.write(status(id, { owner: 'hub-a', fence: 3 }));
      expect(await store.status.write(status(id, { fence: 3, attempts: 1 }))).toBe(true);
      const taken = status(id, { owner: 'hub-b', fence: 4, state: 'connecting' });
      expect(await store.status.write(taken)).toBe(true);
      expect(await store.status.get(id)).toEqual(taken);
    });

    it('status: a row for an unknown endpoint is refused, and rows go with their endpoint', async () => {
      const error = await rejection(store.status.write(status(unique('ghost'))));
      expect(error.code).toBe('STORE_CONFLICT');
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      await store.status.write(status(id));
      await store.timeline.append(transition(id, 1));
      await store.endpoints.remove(id);
      expect(await store.status.get(id)).toBeUndefined();
      expect((await store.timeline.page(id)).items).toEqual([]);
    });

    it("resetStale(owner) turns only that owner's live rows to backoff", async () => {
      const ids = Array.from({ length: 5 }, () => unique('e'));
      for (const id of ids) await store.endpoints.put(endpoint(id));
      const [connecting, ready, parked, otherOwner, open] = ids as [
        string,
        string,
        string,
        string,
        string,
      ];
      const owner = unique('hub');
      await store.status.write(status(connecting, { owner, state: 'connecting', fence: 9 }));
      await store.status.write(status(ready, { owner, state: 'ready', nextRetryAt: 5 }));
      await store.status.write(status(open, { owner, state: 'open' }));
      await store.status.write(status(parked, { owner, state: 'parked' }));
      await store.status.write(status(otherOwner, { owner: 'someone-else', state: 'ready' }));

      expect(await store.status.resetStale(owner, 42_000)).toBe(3);
      for (const id of [connecting, ready, open]) {
        expect(await store.status.get(id)).toMatchObject({
          state: 'backoff',
          since: 42_000,
          lastError: 'hub restarted',
          nextRetryAt: null,
          updatedAt: 42_000,
          owner,
        });
      }
      expect((await store.status.get(connecting))?.fence).toBe(9);
      expect(await store.status.get(parked)).toEqual(status(parked, { owner, state: 'parked' }));
      expect((await store.status.get(otherOwner))?.state).toBe('ready');
    });

    it('resetStale() without an owner resets every live row and nothing else', async () => {
      const [a, b, c] = [unique('e'), unique('e'), unique('e')];
      for (const id of [a, b, c]) await store.endpoints.put(endpoint(id));
      await store.status.write(status(a, { owner: 'x', state: 'open' }));
      await store.status.write(status(b, { owner: 'y', state: 'ready' }));
      await store.status.write(status(c, { owner: 'y', state: 'disabled' }));
      expect(await store.status.resetStale()).toBeGreaterThanOrEqual(2);
      expect((await store.status.get(a))?.state).toBe('backoff');
      expect((await store.status.get(b))?.state).toBe('backoff');
      expect((await store.status.get(c))?.state).toBe('disabled');
      expect(await store.status.resetStale()).toBe(0);
    });

    it('timeline: pages newest first through several pages, following next', async () => {
      const [id, other] = [unique('e'), unique('e')];
      await store.endpoints.put(endpoint(id));
      await store.endpoints.put(endpoint(other));
      for (let n = 1; n <= 12; n++) {
        await store.timeline.append(transition(id, n));
        if (n % 4 === 0) await store.timeline.append(transition(other, n));
      }
      const seen: number[] = [];
      let next: number | null | undefined;
      const sizes: number[] = [];
      do {
        const page = await store.timeline.page(id, { limit: 5, before: next ?? undefined });
        sizes.push(page.items.length);
        seen.push(...page.items.map((entry) => entry.at - 1_700_000_000_000));
        expect(page.items.every((entry) => entry.endpointId === id)).toBe(true);
        next = page.next;
      } while (next !== null);
      expect(sizes).toEqual([5, 5, 2]);
      expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);

      const all = await store.timeline.page(undefined, { limit: 4 });
      expect(all.items.map((entry) => entry.endpointId)).toEqual([other, id, id, id]);
      const ids = all.items.map((entry) => entry.id!);
      expect(ids).toEqual([...ids].sort((x, y) => y - x));
      expect(all.next).toBe(ids[3]);
    });

    it('paging: 50 items by default, a bad limit or cursor is STORE_INVALID', async () => {
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      await Promise.all(
        Array.from({ length: 55 }, (_, n) => store.timeline.append(transition(id, n))),
      );
      const first = await store.timeline.page(id);
      expect(first.items).toHaveLength(50);
      expect((await store.timeline.page(id, { before: first.next! })).items).toHaveLength(5);
      expect((await store.timeline.page(id, { limit: 10_000 })).items).toHaveLength(55);
      expect((await rejection(store.timeline.page(id, { limit: 0 }))).code).toBe('STORE_INVALID');
      expect((await rejection(store.toolCalls.page({ limit: 1.5 }))).code).toBe('STORE_INVALID');
      expect((await rejection(store.toolCalls.page({ before: NaN }))).code).toBe('STORE_INVALID');
    });

    it('tool calls: page newest first with endpoint and tool filters', async () => {
      const [e1, e2] = [unique('e'), unique('e')];
      for (let n = 0; n < 9; n++) {
        await store.toolCalls.append(
          call({ endpointId: n % 3 === 0 ? e2 : e1, tool: n % 2 === 0 ? 'even' : 'odd', at: n }),
        );
      }
      const e1Calls = await store.toolCalls.page({ endpointId: e1, limit: 4 });
      expect(e1Calls.items.map((c) => c.at)).toEqual([8, 7, 5, 4]);
      const rest = await store.toolCalls.page({ endpointId: e1, limit: 4, before: e1Calls.next! });
      expect(rest.items.map((c) => c.at)).toEqual([2, 1]);
      expect(rest.next).toBeNull();

      const even = await store.toolCalls.page({ endpointId: e1, tool: 'even' });
      expect(even.items.map((c) => c.at)).toEqual([8, 4, 2]);
      expect((await store.toolCalls.page({ endpointId: e2, tool: 'odd' })).items).toHaveLength(1);
    });

    it('tool calls: appendMany stores a batch in order, and an empty batch is fine', async () => {
      const id = unique('batch');
      const entry = (n: number) => ({
        endpointId: id,
        tool: `t${n}`,
        server: 's',
        at: n,
        durationMs: n,
        outcome: 'ok' as const,
        argsBytes: 0,
        resultBytes: 0,
        error: null,
      });
      await store.toolCalls.appendMany([]);
      await store.toolCalls.appendMany([entry(1), entry(2), entry(3)]);
      const page = await store.toolCalls.page({ endpointId: id });
      expect(page.items.map((c) => c.tool)).toEqual(['t3', 't2', 't1']);
    });

    it('tool calls: prune keeps the newest rows by count', async () => {
      const id = unique('e');
      for (let n = 0; n < 10; n++) await store.toolCalls.append(call({ endpointId: id, at: n }));
      expect(await store.toolCalls.prune(3, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(7);
      const everything = await store.toolCalls.page({ limit: 500 });
      expect(everything.items.map((c) => [c.endpointId, c.at])).toEqual([
        [id, 9],
        [id, 8],
        [id, 7],
      ]);
      expect(await store.toolCalls.prune(3, Number.POSITIVE_INFINITY)).toBe(0);
      expect(await store.toolCalls.prune(0, Number.POSITIVE_INFINITY)).toBe(3);
      expect((await rejection(store.toolCalls.prune(-1, 0))).code).toBe('STORE_INVALID');
    });

    it('tool calls: prune drops rows older than maxAgeMs', async () => {
      const id = unique('e');
      const now = 1_800_000_000_000;
      for (const age of [60_000, 30_001, 30_000, 10, 0]) {
        await store.toolCalls.append(call({ endpointId: id, at: now - age }));
      }
      expect(await store.toolCalls.prune(1_000, 30_000, now)).toBeGreaterThanOrEqual(2);
      const left = await store.toolCalls.page({ endpointId: id });
      expect(left.items.map((c) => now - c.at)).toEqual([0, 10, 30_000]);
    });

    it('channels: put, list, replace keeping createdAt, remove', async () => {
      const id = unique('ch');
      const row = {
        id,
        name: 'ops',
        kind: 'ntfy' as const,
        url: 'https://ntfy.test/tether',
        enabled: true,
        events: ['endpoint.down', 'endpoint.parked'],
      };
      expect(await store.channels.put(row)).toEqual({ ...row, createdAt: 1_000 });
      time.set(3_000);
      const replaced = await store.channels.put({ ...row, enabled: false, events: [] });
      expect(replaced).toEqual({ ...row, enabled: false, events: [], createdAt: 1_000 });
      expect((await store.channels.list()).filter((c) => c.id === id)).toEqual([replaced]);
      expect(await store.channels.remove(id)).toBe(true);
      expect(await store.channels.remove(id)).toBe(false);
      expect((await store.channels.list()).some((c) => c.id === id)).toBe(false);
    });

    it('overlays: operator actions are stored apart from definitions and survive provisioning', async () => {
      const id = unique('ov');
      expect(await store.overlays.get(id)).toBeUndefined();
      const put = await store.overlays.put({
        endpointId: id,
        disabled: true,
        disabledTools: ['b__x', 'a__y', 'a__y'],
      });
      expect(put).toEqual({
        endpointId: id,
        disabled: true,
        disabledTools: ['a__y', 'b__x'],
        updatedAt: 1_000,
      });
      await store.endpoints.provision([]);
      expect(await store.overlays.get(id)).toEqual(put);
      time.set(2_000);
      const replaced = await store.overlays.put({
        endpointId: id,
        disabled: false,
        disabledTools: [],
      });
      expect(replaced).toEqual({
        endpointId: id,
        disabled: false,
        disabledTools: [],
        updatedAt: 2_000,
      });
      expect((await store.overlays.list()).filter((o) => o.endpointId === id)).toEqual([replaced]);
      expect(await store.overlays.remove(id)).toBe(true);
      expect(await store.overlays.remove(id)).toBe(false);
    });

    it('status batch: every row upserted and every entry appended in order, in one call', async () => {
      const [a, b] = [unique('e'), unique('e')];
      for (const id of [a, b]) await store.endpoints.put(endpoint(id));
      await store.status.write(status(a, { state: 'connecting' }));
      const rows = [status(a, { state: 'ready', attempts: 2 }), status(b, { state: 'parked' })];
      const entries = [transition(a, 1), transition(b, 2), transition(a, 3), transition(a, 4)];
      expect(await store.status.writeBatch(rows, entries)).toEqual({ fenced: [], gone: [] });
      expect(await store.status.get(a)).toEqual(rows[0]);
      expect(await store.status.get(b)).toEqual(rows[1]);
      const timeline = (await store.timeline.page(a)).items.map((e) => e.reason);
      expect(timeline).toEqual(['drop 4', 'drop 3', 'drop 1']);
      expect((await store.timeline.page(b)).items).toHaveLength(1);
      expect(await store.status.writeBatch([], [])).toEqual({ fenced: [], gone: [] });
    });

    it('status batch: a row with an older fence is refused with its entries, the others land', async () => {
      const [taken, mine] = [unique('e'), unique('e')];
      for (const id of [taken, mine]) await store.endpoints.put(endpoint(id));
      const current = status(taken, { owner: 'hub-b', fence: 7 });
      await store.status.write(current);
      const result = await store.status.writeBatch(
        [status(taken, { fence: 6, state: 'backoff' }), status(mine, { fence: 6 })],
        [transition(taken, 1), transition(mine, 2)],
      );
      expect(result).toEqual({ fenced: [taken], gone: [] });
      expect(await store.status.get(taken)).toEqual(current);
      expect((await store.timeline.page(taken)).items).toEqual([]);
      expect(await store.status.get(mine)).toEqual(status(mine, { fence: 6 }));
      expect((await store.timeline.page(mine)).items).toHaveLength(1);
    });

    it('status batch: an endpoint no longer stored is skipped (said as gone), not a failure of the batch', async () => {
      const [removed, never, kept] = [unique('e'), unique('ghost'), unique('e')];
      for (const id of [removed, kept]) await store.endpoints.put(endpoint(id));
      await store.endpoints.remove(removed);
      const result = await store.status.writeBatch(
        [status(removed), status(never), status(kept)],
        [transition(removed, 1), transition(kept, 2), transition(never, 3)],
      );
      expect(result).toEqual({ fenced: [], gone: [removed, never] });
      expect(await store.status.get(removed)).toBeUndefined();
      expect((await store.timeline.page(removed)).items).toEqual([]);
      expect(await store.status.get(kept)).toEqual(status(kept));
      expect((await store.timeline.page(kept)).items).toHaveLength(1);
    });

    it('status batch: one row per endpoint, and a batch that fails writes nothing', async () => {
      const [a, b] = [unique('e'), unique('e')];
      for (const id of [a, b]) await store.endpoints.put(endpoint(id));
      const twice = await rejection(store.status.writeBatch([status(a), status(a)], []));
      expect(twice.code).toBe('STORE_INVALID');
      const broken = { ...transition(b, 2), cause: null as unknown as string };
      const error = await rejection(
        store.status.writeBatch([status(a), status(b)], [transition(a, 1), broken]),
      );
      expect(error.code).toBe('STORE_INVALID');
      expect(await store.status.get(a)).toBeUndefined();
      expect((await store.timeline.page(a)).items).toEqual([]);
    });

    it("status batch: 6,000 rows and entries, past one statement's bound parameters", async () => {
      const { source: _, ...plain } = endpoint('x');
      const prefix = unique('wide');
      const ids = Array.from(
        { length: 6_000 },
        (_, i) => `${prefix}-${String(i).padStart(4, '0')}`,
      );
      await store.endpoints.provision(ids.map((id) => ({ ...plain, id, name: id })));
      const result = await store.status.writeBatch(
        ids.map((id, i) => status(id, { attempts: i })),
        ids.map((id, i) => transition(id, i)),
      );
      expect(result).toEqual({ fenced: [], gone: [] });
      const mine = (await store.status.list()).filter((row) => row.endpointId.startsWith(prefix));
      expect(mine.map((row) => row.attempts)).toEqual(ids.map((_, i) => i));
      const last = await store.timeline.page(ids[5_999]);
      expect(last.items.map((e) => e.reason)).toEqual(['drop 5999']);
      await store.endpoints.provision([]);
    });

    it('50 parallel status writes with increasing fences end with the highest fence', async () => {
      const id = unique('e');
      await store.endpoints.put(endpoint(id));
      const fences = Array.from({ length: 50 }, (_, n) => n + 1);
      // Issued in shuffled order, so on PostgreSQL older fences really do arrive late.
      fences.sort(() => Math.random() - 0.5);
      const results = await Promise.all(
        fences.map((fence) => store.status.write(status(id, { fence, attempts: fence }))),
      );
      expect(results).toContain(true);
      expect(await store.status.get(id)).toMatchObject({ fence: 50, attempts: 50 });
    });

    it('values round-trip exactly: numbers, booleans, JSON, nulls', async () => {
      const id = unique('e');
      const row = endpoint(id, {
        name: 'Küche 🍳 "quoted"',
        enabled: false,
        tools: { include: ['calc.*'], exclude: ['calc.div'] },
        servers: [],
        overrides: { heartbeatMs: 15_000, backoff: { factor: 1.5, jitter: null }, on: true },
      });
      const stored = await store.endpoints.put(row);
      expect(await store.endpoints.get(id)).toEqual({ ...row, createdAt: 1_000, updatedAt: 1_000 });
      expect(stored.servers).toEqual([]);
      expect((await store.endpoints.put({ ...row, servers: null })).servers).toBeNull();

      const full = status(id, {
        state: 'backoff',
        since: 1_712_345_678_901,
        lastCloseCode: 4000,
        lastCloseReason: 'going away',
        lastCloseAt: 1_712_345_678_900,
        lastError: 'ECONNRESET',
        attempts: 17,
        nextRetryAt: 1_712_345_679_999,
        health: 0.875,
        fence: 2 ** 40 + 1,
      });
      await store.status.write(full);
      const read = await store.status.get(id);
      expect(read).toEqual(full);
      expect(typeof read?.fence).toBe('number');
      expect(typeof read?.since).toBe('number');

      const entry = { ...transition(id, 5), code: null, reason: null, detectedBy: null };
      await store.timeline.append(entry);
      const [got] = (await store.timeline.page(id)).items;
      expect(got).toEqual({ ...entry, id: got!.id });
      expect(typeof got!.id).toBe('number');

      const tc = call({ endpointId: id, durationMs: 12.5, outcome: 'timeout', error: 'slow' });
      await store.toolCalls.append(tc);
      const [gotCall] = (await store.toolCalls.page({ endpointId: id })).items;
      expect(gotCall).toEqual({ ...tc, id: gotCall!.id });
    });

    it('tool calls: how a call came and what repair changed read back as written, one by one and in batches', async () => {
      const id = unique('meta');
      const meta: CallMeta = {
        via: 'mcp',
        client: 'Cursor 1.2 — 光标',
        query: '天气 weather',
        repairs: [
          { path: '/user_name', kind: 'rename', before: 'userName', after: 'user_name' },
          { path: '/count', kind: 'integer', before: '5', after: 5 },
          { path: '/tags', kind: 'wrap', before: { a: [1, null] }, after: [{ a: [1, null] }] },
        ],
      };
      await store.toolCalls.append(call({ endpointId: id, at: 1, meta }));
      await store.toolCalls.append(call({ endpointId: id, at: 2 }));
      await store.toolCalls.appendMany([
        call({ endpointId: id, at: 3, meta: { via: 'router', query: 'add' } }),
        call({ endpointId: id, at: 4, meta: {} }),
        call({ endpointId: id, at: 5, meta: { via: 'api', repairs: [] } }),
      ]);
      const items = (await store.toolCalls.page({ endpointId: id })).items;
      expect(items.map((c) => c.meta)).toEqual([
        { via: 'api' },
        undefined,
        { via: 'router', query: 'add' },
        undefined,
        meta,
      ]);
      // A call without meta reads back without the key at all, as it was before meta existed.
      expect(items.filter((c) => 'meta' in c).map((c) => c.at)).toEqual([5, 3, 1]);
    });

    it('tool calls: a hostile meta costs the log a few KB, not its own size', async () => {
      const id = unique('meta');
      const huge = 'x'.repeat(100_000);
      const repairs = Array.from({ length: 5_000 }, (_, n) => ({
        path: `/${huge}${n}`,
        kind: 'wrap' as const,
        before: huge,
        after: [huge],
      }));
      await store.toolCalls.append(
        call({ endpointId: id, at: 1, meta: { via: 'mcp', client: huge, query: huge, repairs } }),
      );
      await store.toolCalls.appendMany([call({ endpointId: id, at: 2, meta: { repairs } })]);
      for (const { meta } of (await store.toolCalls.page({ endpointId: id })).items) {
        expect(Buffer.byteLength(JSON.stringify(meta))).toBeLessThanOrEqual(META_MAX_BYTES);
        const kept = meta?.repairs?.length ?? 0;
        expect(kept).toBeGreaterThan(0);
        expect(kept + meta!.repairsOmitted!).toBe(5_000);
        expect(meta!.repairs![0]).toMatchObject({ kind: 'wrap', before: { $cut: 100_002 } });
      }
    });

    it('a closed store refuses with STORE_UNAVAILABLE; closing twice is fine', async () => {
      const other = await open(time.now);
      await other.close();
      await other.close();
      const error = await rejection(other.endpoints.list());
      expect(error).toBeInstanceOf(StoreError);
      expect(error.code).toBe('STORE_UNAVAILABLE');
    });
  });
}

function byEndpoint(a: { endpointId: string }, b: { endpointId: string }): number {
  return a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0;
}
