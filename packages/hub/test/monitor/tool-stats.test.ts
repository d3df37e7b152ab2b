import { describe, expect, it } from 'vitest';
import { computeToolStats, percentile, toolStatsWindow } from '../../src/monitor/tool-stats.js';
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
        samples: [sample({ tool: 'old__tool', server: 'old' })],
        usage: [],
        truncated: false,
      },
      NOW,
      24,
    );
    expect(stats.tools).toMatchObject([{ name: 'old__tool', server: 'old', calls: 1 }]);
  });
});
