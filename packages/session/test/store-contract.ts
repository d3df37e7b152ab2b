import { describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testkit';
import type { SessionStore, StoredSession } from '../src/server/index.js';

/**
 * One contract for every store: `SessionStore` is a port, and the memory and Redis stores
 * must pass the same suite (docs/architecture.md, "session").
 */
export function storeContract(
  name: string,
  open: () => Promise<{ store: SessionStore; cleanup: () => Promise<void> } | undefined>,
) {
  const WINDOW = 1_000;
  const record = (id: string, over: Partial<StoredSession> = {}): StoredSession => ({
    id,
    tokenHash: `${id}-t1`,
    prevTokenHash: null,
    state: JSON.stringify({ lang: 'en' }),
    inSeq: 0,
    outSeq: 2,
    createdAt: 0,
    detachedAt: null,
    resumeWindowMs: WINDOW,
    epoch: 1,
    owner: 'a',
    ...over,
  });
  const replay = [
    { seq: 1, frame: '{"type":"data","seq":1,"body":"one"}' },
    { seq: 2, frame: '{"type":"data","seq":2,"body":"two"}' },
  ];

  const withStore = (test: (store: SessionStore) => Promise<void>) => async () => {
    const opened = await open();
    if (!opened) return;
    try {
      await test(opened.store);
    } finally {
      await opened.cleanup();
    }
  };

  describe(`session store contract: ${name}`, () => {
    it(
      'claims with the current or the previous token, rotating it and bumping the epoch',
      withStore(async (store) => {
        await store.create(record('s1'), replay, 0);
        const first = await store.claim('s1', 's1-t1', 's1-t2', 'b', 10);
        expect(first).toMatchObject({
          ok: true,
          session: { epoch: 2, owner: 'b', state: '{"lang":"en"}', outSeq: 2, detachedAt: null },
          replay,
        });
        // The welcome carrying t2 may have been lost with its socket: t1 still works once more.
        expect(await store.claim('s1', 's1-t1', 's1-t3', 'b', 20)).toMatchObject({ ok: true });
        expect(await store.claim('s1', 's1-t2', 's1-t4', 'b', 30)).toEqual({
          ok: false,
          reason: 'bad-token',
        });
        expect(await store.claim('s1', 's1-t3', 's1-t5', 'b', 30)).toMatchObject({
          ok: true,
          session: { epoch: 4 },
        });
      }),
    );

    it(
      'applies commits in full, and refuses one from an older epoch',
      withStore(async (store) => {
        await store.create(record('s2'), replay, 0);
        const change = {
          state: '{"lang":"fr"}',
          inSeq: 7,
          outSeq: 4,
          append: [
            { seq: 3, frame: 'f3' },
            { seq: 4, frame: 'f4' },
          ],
          trimThrough: 2,
          detachedAt: 50,
        };
        expect(await store.commit('s2', 1, change, 50)).toBe(true);
        const claimed = await store.claim('s2', 's2-t1', 's2-t2', 'a', 60);
        expect(claimed).toMatchObject({
          ok: true,
          session: { state: '{"lang":"fr"}', inSeq: 7, outSeq: 4, epoch: 2 },
          replay: [
            { seq: 3, frame: 'f3' },
            { seq: 4, frame: 'f4' },
          ],
        });
        expect(await store.commit('s2', 1, { inSeq: 8 }, 70)).toBe(false);
        expect(await store.commit('s2', 2, { inSeq: 8 }, 70)).toBe(true);
      }),
    );

    it(
      'tells expired from unknown, and treats a session past its deadline as expired',
      withStore(async (store) => {
        expect(await store.claim('nope', 'x', 'y', 'a', 0)).toEqual({
          ok: false,
          reason: 'unknown',
        });
        await store.create(record('s3'), [], 0);
        expect(await store.commit('s3', 1, { detachedAt: 100 }, 100)).toBe(true);
        expect(await store.claim('s3', 's3-t1', 's3-t2', 'a', 100 + WINDOW)).toMatchObject({
          ok: false,
          reason: 'expired',
        });
        await store.create(record('s4'), [], 0);
        expect(await store.remove('s4', 2, 10)).toBeNull();
        expect(await store.remove('s4', 1, 10)).toEqual({ id: 's4', state: '{"lang":"en"}' });
        expect(await store.claim('s4', 's4-t1', 's4-t2', 'a', 20)).toEqual({
          ok: false,
          reason: 'expired',
          state: '{"lang":"en"}',
        });
      }),
    );

    it(
      "gives an expired session's last state only to a claim with its own token",
      withStore(async (store) => {
        await store.create(record('s5'), [], 0);
        expect(await store.commit('s5', 1, { state: '{"lang":"fr"}', detachedAt: 100 }, 100)).toBe(
          true,
        );
        // Past its window, not reaped yet.
        expect(await store.claim('s5', 's5-t1', 's5-t2', 'a', 100 + WINDOW)).toEqual({
          ok: false,
          reason: 'expired',
          state: '{"lang":"fr"}',
        });
        expect(await store.reap(100 + WINDOW, 'a', 0, 10)).toEqual([
          { id: 's5', state: '{"lang":"fr"}' },
        ]);
        // Reaped: the tombstone remembers it for its own client only.
        expect(await store.claim('s5', 's5-t1', 's5-t2', 'a', 200 + WINDOW)).toEqual({
          ok: false,
          reason: 'expired',
          state: '{"lang":"fr"}',
        });
        expect(await store.claim('s5', 'guess', 's5-t2', 'a', 200 + WINDOW)).toEqual({
          ok: false,
          reason: 'expired',
        });
      }),
    );

    it(
      'reaps each expired session once, keeps touched ones, and leaves others’ to their owner first',
      withStore(async (store) => {
        await store.create(record('mine'), [], 0);
        await store.create(record('touched'), [], 0);
        await store.create(record('theirs', { owner: 'b' }), [], 0);
        await store.commit('mine', 1, { detachedAt: 100 }, 100);
        await store.commit('theirs', 1, { detachedAt: 100 }, 100);
        await store.touch([{ id: 'touched', epoch: 1 }], 900);
        const due = 100 + WINDOW;
        expect(await store.reap(due - 1, 'a', 500, 10)).toEqual([]);
        expect(await store.reap(due, 'a', 500, 10)).toEqual([
          { id: 'mine', state: '{"lang":"en"}' },
        ]);
        expect(await store.reap(due, 'a', 500, 10)).toEqual([]);
        expect(await store.reap(due + 500, 'a', 500, 10)).toEqual([
          { id: 'theirs', state: '{"lang":"en"}' },
        ]);
        expect(await store.reap(900 + WINDOW - 1, 'a', 500, 10)).toEqual([]);
        expect(
          await store.claim('touched', 'touched-t1', 't2', 'a', 900 + WINDOW - 1),
        ).toMatchObject({ ok: true });
      }),
    );

    it(
      'announces claims with their epoch and owner, and expiries with -1',
      withStore(async (store) => {
        const heard: string[] = [];
        const off = store.onTaken((id, epoch, owner) => heard.push(`${id} ${epoch} ${owner}`));
        await store.create(record('s5'), [], 0);
        await store.claim('s5', 's5-t1', 's5-t2', 'b', 10);
        await store.remove('s5', 2, 20);
        await waitUntil(() => heard.length === 2, { what: 'two announcements' });
        expect(heard).toEqual(['s5 2 b', 's5 -1 ']);
        off();
      }),
    );
  });
}
