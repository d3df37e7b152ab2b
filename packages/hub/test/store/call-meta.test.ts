import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../src/catalog/catalog.js';
import { callRecord } from '../../src/calls/record.js';
import { META_MAX_BYTES, boundCallMeta, cutString } from '../../src/store/call-meta.js';
import type { ArgumentRepair, CallMeta } from '../../src/store/index.js';

const entry: CatalogEntry = {
  name: 'calc__add',
  server: 'calc',
  tool: 'add',
  definition: { name: 'add', inputSchema: { type: 'object' } },
};

const bytes = (meta: CallMeta | undefined) => Buffer.byteLength(JSON.stringify(meta));

describe('the meta a call log line keeps', () => {
  it('a small meta is kept exactly as given', () => {
    const meta: CallMeta = {
      via: 'router',
      client: 'Claude Desktop 0.9',
      query: '查天气',
      repairs: [{ path: '/a~1b', kind: 'number', before: '5', after: 5 }],
    };
    expect(boundCallMeta(meta)).toEqual(meta);
  });

  it("the router's answer is kept as at most 10 names of at most 64 bytes", () => {
    const found = Array.from({ length: 50 }, (_, i) => `tool_${i}_${'x'.repeat(200)}`);
    const kept = boundCallMeta({ via: 'router', query: 'weather', found })!;
    expect(kept.found).toHaveLength(10);
    expect(kept.found!.every((name) => Buffer.byteLength(name) <= 64)).toBe(true);
    expect(boundCallMeta({ via: 'router', found: ['a', 3 as unknown as string] })!.found).toEqual([
      'a',
    ]);
  });

  it('nothing to say is no meta at all', () => {
    expect(boundCallMeta(undefined)).toBeUndefined();
    expect(boundCallMeta({})).toBeUndefined();
    expect(boundCallMeta({ repairs: [] })).toBeUndefined();
    expect(boundCallMeta({ via: 'carrier pigeon' } as unknown as CallMeta)).toBeUndefined();
  });

  it('a repair of a kind the log does not know is counted, not kept', () => {
    const odd = { path: '/x', kind: 'guess', before: 1, after: 2 } as unknown as ArgumentRepair;
    expect(boundCallMeta({ repairs: [odd] })).toEqual({ repairsOmitted: 1 });
  });

  it("a client's 1 MB name and a model's 1 MB query are cut, and the whole stays within budget", () => {
    const big = '名'.repeat(1_000_000);
    const meta = boundCallMeta({ via: 'mcp', client: big, query: big })!;
    expect(meta.client!.endsWith('…')).toBe(true);
    expect(meta.query!.endsWith('…')).toBe(true);
    expect(bytes(meta)).toBeLessThanOrEqual(META_MAX_BYTES);
  });

  it('a thousand repairs of big values keep the first few in order and count the rest', () => {
    const repairs = Array.from({ length: 1_000 }, (_, n) => ({
      path: `/items/${n}`,
      kind: 'wrap' as const,
      before: { blob: 'b'.repeat(10_000) },
      after: [{ blob: 'b'.repeat(10_000) }],
    }));
    const meta = boundCallMeta({ repairs })!;
    expect(bytes(meta)).toBeLessThanOrEqual(META_MAX_BYTES);
    expect(meta.repairs!.map((r) => r.path)).toEqual(meta.repairs!.map((_, n) => `/items/${n}`));
    expect(meta.repairs![0]!.before).toEqual({ $cut: 10_011 });
    expect(meta.repairs!.length + meta.repairsOmitted!).toBe(1_000);
  });

  it('control characters that JSON escapes six bytes each still fit the budget', () => {
    const nasty = '\u0001'.repeat(50_000);
    const repairs = Array.from({ length: 50 }, () => ({
      path: `/${nasty}`,
      kind: 'rename' as const,
      before: nasty.slice(0, 40),
      after: nasty.slice(0, 40),
    }));
    const meta = boundCallMeta({ via: 'api', client: nasty, query: nasty, repairs })!;
    expect(bytes(meta)).toBeLessThanOrEqual(META_MAX_BYTES);
    expect(meta.repairs!.length).toBeGreaterThan(0);
  });

  it('bounding twice changes nothing the second time', () => {
    const big = 'q'.repeat(9_000);
    const once = boundCallMeta({
      via: 'mcp',
      query: big,
      repairs: Array.from({ length: 200 }, (_, n) => ({
        path: `/${n}`,
        kind: 'boolean' as const,
        before: big,
        after: true,
      })),
    });
    expect(boundCallMeta(once)).toEqual(once);
  });

  it('cuts never split a surrogate pair (an emoji is kept whole or not at all)', () => {
    const text = `a${'😀'.repeat(100)}`;
    for (let max = 3; max < 60; max++) {
      const cut = cutString(text, max);
      expect(Buffer.byteLength(JSON.stringify(cut))).toBeLessThanOrEqual(Math.max(max, 5));
      expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
      expect(text.startsWith(cut.slice(0, -1))).toBe(true);
    }
  });
});

describe('callRecord', () => {
  it('existing callers, without meta, make the same line as before', () => {
    const line = callRecord('home', entry, { a: 1 }, 10, 15, 'ok', 7, null);
    expect(line).toStrictEqual({
      endpointId: 'home',
      tool: 'calc__add',
      server: 'calc',
      at: 10,
      durationMs: 5,
      outcome: 'ok',
      argsBytes: 7,
      resultBytes: 7,
      error: null,
    });
  });

  it('keeps how the call came and what repair changed, bounded', () => {
    const repairs: ArgumentRepair[] = [{ path: '/b', kind: 'rename', before: 'B', after: 'b' }];
    const line = callRecord(null, entry, undefined, 0, 1, 'error', 0, 'bad', {
      via: 'api',
      repairs,
    });
    expect(line.meta).toEqual({ via: 'api', repairs });
    const hostile = callRecord(null, entry, undefined, 0, 1, 'ok', 0, null, {
      client: 'c'.repeat(100_000),
    });
    expect(bytes(hostile.meta)).toBeLessThanOrEqual(META_MAX_BYTES);
    expect('meta' in callRecord(null, entry, undefined, 0, 1, 'ok', 0, null, {})).toBe(false);
  });
});
