import { describe, expect, it } from 'vitest';
import {
  computeToolStats,
  histogramPercentile,
  percentile,
  toolStatsWindow,
} from '../../src/monitor/tool-stats.js';
import { LATENCY_BOUNDS_MS, hoursOf, latencyBucket } from '../../src/store/tool-hours.js';
import type { ToolCallSample } from '../../src/store/types.js';

const HOUR = 3_600_000;
const DAY = Date.UTC(2025, 0, 6);
// 23:40: the window's 24 hours are 00:00 to 24:00 of DAY, the last one running.
const NOW = DAY + 23 * HOUR + 40 * 60_000;

const sample = (patch: Partial<ToolCallSample>): ToolCallSample => ({
  tool: 'calc__add',
  server: 'calc',
  at: DAY + HOUR,
  durationMs: 10,
  outcome: 'ok',
  ...patch,
});

/** The rollup's hours of these calls, as the store writes them with the log. */
const rollup = (samples: readonly ToolCallSample[]) =>
  hoursOf(
    samples.map((s) => ({
      ...s,
      endpointId: null,
      argsBytes: 0,
      resultBytes: 0,
      error: null,
    })),
  );

describe('per-tool figures', () => {
  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    expect(percentile(values, 0.5)).toBe(100);
    expect(percentile(values, 0.95)).toBe(190);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('counts calls per hour, errors, latency and usage for each tool served', () => {
    expect(toolStatsWindow(NOW, 24)).toEqual({ from: DAY, to: NOW });
    const samples = [
      ...Array.from({ length: 18 }, (_, i) =>
        sample({ at: DAY + 3 * HOUR + i, durationMs: (i + 1) * 10 }),
      ),
      sample({ at: DAY + 23 * HOUR, outcome: 'error', durationMs: 190 }),
      sample({ at: DAY + 23 * HOUR + 1, outcome: 'timeout', durationMs: 200 }),
      // Neither is the tool's own time: not in the percentiles, still a call.
      sample({ at: DAY + 23 * HOUR + 2, outcome: 'early', durationMs: 5_000 }),
      sample({ at: DAY + 23 * HOUR + 3, outcome: 'cancelled', durationMs: 1 }),
      // Before the window: not counted.
      sample({ at: DAY - 1 }),
    ];
    const stats = computeToolStats(
      {
        served: [
          { name: 'calc__add', server: 'calc' },
          { name: 'calc__mul', server: 'calc' },
        ],
        hours: rollup(samples),
        samples,
        usage: [{ tool: 'calc__add', calls: 1_234, lastAt: DAY + 23 * HOUR + 3 }],
        truncated: false,
      },
      NOW,
      24,
    );
    const [add, mul] = stats.tools;
    expect(add).toMatchObject({
      name: 'calc__add',
      calls: 22,
      errors: 2,
      errorRate: 2 / 22,
      p50Ms: 100,
      p95Ms: 190,
      latency: 'exact',
      usageCount: 1_234,
      lastUsedAt: DAY + 23 * HOUR + 3,
    });
    expect(add!.perHour).toHaveLength(24);
    expect(add!.perHour[3]).toBe(18);
    expect(add!.perHour[23]).toBe(4);
    expect(add!.perHour.reduce((a, b) => a + b)).toBe(22);
    expect(mul).toMatchObject({
      calls: 0,
      errorRate: null,
      p50Ms: null,
      usageCount: 0,
      lastUsedAt: null,
    });
  });

  it('still shows a tool called in the window that is no longer served', () => {
    const stats = computeToolStats(
      {
        served: [],
        hours: rollup([sample({ tool: 'old__tool', server: 'old' })]),
        samples: [sample({ tool: 'old__tool', server: 'old' })],
        usage: [],
        truncated: false,
      },
      NOW,
      24,
    );
    expect(stats.tools).toMatchObject([{ name: 'old__tool', server: 'old', calls: 1 }]);
  });

  it('counts the whole day from the hourly rollup when the log kept only the last minutes', () => {
    // A busy tool: 100 calls an hour all day (2,340 by 23:40), taking 30 to 129 ms; every
    // fifth call fails. The log kept the newest 50 only.
    const day = Array.from({ length: 2_340 }, (_, i) =>
      sample({
        at: DAY + Math.floor(i / 100) * HOUR + (i % 100) * 30_000,
        durationMs: 30 + (i % 100),
        outcome: i % 5 === 0 ? 'error' : 'ok',
      }),
    );
    const log = day.slice(-50).reverse();
    const stats = computeToolStats(
      {
        served: [{ name: 'calc__add', server: 'calc' }],
        hours: rollup(day),
        samples: log,
        usage: [],
        truncated: false,
      },
      NOW,
      24,
    );
    const add = stats.tools[0]!;
    expect(add).toMatchObject({ calls: 2_340, errors: 468, errorRate: 0.2, latency: 'estimated' });
    expect(add.perHour.slice(0, 23)).toEqual(new Array(23).fill(100));
    expect(add.perHour[23]).toBe(40);
    // True p50 79 ms and p95 124 ms; the 50–100 and 100–200 ms buckets, interpolated.
    expect(add.p50Ms).toBeGreaterThan(70);
    expect(add.p50Ms).toBeLessThan(90);
    expect(add.p95Ms).toBeGreaterThan(100);
    expect(add.p95Ms).toBeLessThan(200);
  });

  it('estimates a percentile within its bucket, and caps the open bucket at the last bound', () => {
    expect(LATENCY_BOUNDS_MS[0]).toBe(1);
    expect(LATENCY_BOUNDS_MS.at(-1)).toBe(600_000);
    expect([0, 1, 1.5, 2, 3, 1_000, 600_000, 600_001].map(latencyBucket)).toEqual([
      0, 0, 1, 1, 2, 9, 18, 19,
    ]);
    const counts = new Array<number>(20).fill(0);
    // Ten calls in (50, 100] ms: the 5th of them sits halfway.
    counts[6] = 10;
    expect(histogramPercentile(counts, 0.5)).toBe(75);
    expect(histogramPercentile(counts, 0.95)).toBe(100);
    counts[19] = 90;
    expect(histogramPercentile(counts, 0.95)).toBe(600_000);
    expect(histogramPercentile(new Array<number>(20).fill(0), 0.5)).toBeNull();
  });

  it('takes exact percentiles from the log while it holds every call of the window', () => {
    const samples = [10, 20, 30, 40].map((ms, i) => sample({ at: DAY + i, durationMs: ms }));
    const stats = computeToolStats(
      { served: [], hours: rollup(samples), samples, usage: [], truncated: false },
      NOW,
      24,
    );
    expect(stats.tools[0]).toMatchObject({ p50Ms: 20, p95Ms: 40, latency: 'exact' });
    // One call pruned from the log: the figures say they are estimates.
    const fewer = computeToolStats(
      {
        served: [],
        hours: rollup(samples),
        samples: samples.slice(1),
        usage: [],
        truncated: false,
      },
      NOW,
      24,
    );
    expect(fewer.tools[0]).toMatchObject({ calls: 4, latency: 'estimated' });
  });
});
