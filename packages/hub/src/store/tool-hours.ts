import type { ToolCallEntry, ToolHour } from './types.js';

/**
 * The hourly rollup of the call log (`tool_hours`): per tool and clock hour, the calls, the
 * errors, the sum of the timed durations and a latency histogram. It is written in the same
 * transaction as the log's rows and pruned by age only, so the per-tool figures
 * (monitor/tool-stats.ts) count every call of their window however short the log is kept.
 *
 * The histogram's buckets are fixed: upper bounds in a 1-2-5 series from 1 ms to 500 s, then
 * 600 s, and an open bucket above (20 buckets).
 * Log-scale bounds keep the relative error of an estimated percentile about the same from a
 * 3 ms lookup to a 40 s tool run. Each bucket is a column of its own rather than a JSON array:
 * an upsert then adds counts column by column in SQL, the same statement on both dialects,
 * atomic when two instances bump the same hour (a JSON array would need a read, a merge and a
 * write under a row lock, or dialect-specific JSON functions).
 */

export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000,
  500_000, 600_000,
] as const;

export type LatencyColumn = `le_${(typeof LATENCY_BOUNDS_MS)[number]}` | 'le_inf';

/** One column per bucket, in bound order; `le_inf` counts durations above the last bound. */
export const LATENCY_COLUMNS: readonly LatencyColumn[] = [
  ...LATENCY_BOUNDS_MS.map((b) => `le_${b}` as const),
  'le_inf',
];

/** Kept past the longest window the API answers (TOOL_STATS_LIMITS.maxHours, 7 days). */
export const TOOL_HOURS_KEEP_MS = 8 * 24 * 3_600_000;

export const HOUR_MS = 3_600_000;

/** Outcomes counted as errors: the tool failed (or said isError), or it timed out. */
export const FAILED_OUTCOMES: ReadonlySet<ToolCallEntry['outcome']> = new Set(['error', 'timeout']);

/**
 * Outcomes whose duration is the tool's: the calls that ran to an end. An `early` call's
 * logged duration is the early-reply window, and a `cancelled` one was ended by its caller.
 */
export const TIMED_OUTCOMES: ReadonlySet<ToolCallEntry['outcome']> = new Set([
  'ok',
  'error',
  'timeout',
  'dropped',
]);

/** The bucket a duration falls in: the first whose bound it does not exceed. */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

/**
 * A batch's calls per distinct tool and hour: one upsert each. Sorted by (tool, hour), in code
 * units, so two instances upserting the same rows lock them in the same order.
 */
export function hoursOf(entries: readonly ToolCallEntry[]): ToolHour[] {
  const byKey = new Map<string, ToolHour>();
  for (const e of entries) {
    const hour = Math.floor(e.at / HOUR_MS) * HOUR_MS;
    const key = `${e.tool}\u0000${hour}`;
    let row = byKey.get(key);
    if (!row) {
      row = {
        tool: e.tool,
        server: e.server,
        hour,
        calls: 0,
        errors: 0,
        sumMs: 0,
        latency: new Array<number>(LATENCY_COLUMNS.length).fill(0),
      };
      byKey.set(key, row);
    }
    row.server = e.server;
    row.calls++;
    if (FAILED_OUTCOMES.has(e.outcome)) row.errors++;
    if (TIMED_OUTCOMES.has(e.outcome)) {
      row.sumMs += e.durationMs;
      row.latency[latencyBucket(e.durationMs)]!++;
    }
  }
  return [...byKey.values()].sort((a, b) =>
    a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : a.hour - b.hour,
  );
}

/** A row as the table takes it. */
export function toolHourValues(row: ToolHour) {
  const values: Record<string, string | number> = {
    tool: row.tool,
    server: row.server,
    hour: row.hour,
    calls: row.calls,
    errors: row.errors,
    sum_ms: row.sumMs,
  };
  LATENCY_COLUMNS.forEach((column, i) => (values[column] = row.latency[i]!));
  return values as {
    tool: string;
    server: string;
    hour: number;
    calls: number;
    errors: number;
    sum_ms: number;
  } & Record<LatencyColumn, number>;
}

export function toToolHour(row: Record<string, unknown>): ToolHour {
  return {
    tool: String(row.tool),
    server: String(row.server),
    hour: Number(row.hour),
    calls: Number(row.calls),
    errors: Number(row.errors),
    sumMs: Number(row.sum_ms),
    latency: LATENCY_COLUMNS.map((column) => Number(row[column])),
  };
}
