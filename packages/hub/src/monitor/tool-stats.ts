import { LATENCY_BOUNDS_MS, TIMED_OUTCOMES } from '../store/tool-hours.js';
import type { ToolCallSample, ToolHour, ToolUsage } from '../store/types.js';

/**
 * Per-tool figures over the last hours. Counts come from the hourly rollup (`tool_hours`,
 * store/tool-hours.ts), written with every batch of the call log and pruned by age only, so
 * they hold whatever the log's pruning (hub.ts `tidy`, by rows) has cut. Percentiles are
 * computed here (SQLite has no percentile function).
 *
 *   calls      every call in the window, whatever its outcome
 *   errors     outcome `error` (the tool failed or said isError) or `timeout`
 *   errorRate  errors / calls; null without calls
 *   p50/p95    over the calls that ran to an end (ok, error, timeout, dropped): an `early`
 *              call's logged duration is the early-reply window, not the tool's, and a
 *              `cancelled` one was ended by its caller. `exact` (nearest rank over the logged
 *              durations) when the log read holds every call the rollup counted for the tool in
 *              the window; else `estimated` from the rollup's histogram, interpolated linearly
 *              within the bucket the rank falls in (above the last bound: that bound)
 *   perHour    calls per clock hour, oldest first; the last hour holds `now`
 *   usage      calls since counting began and the last one (`tool_usage`), not only the window
 */

export const TOOL_STATS_LIMITS = {
  defaultHours: 24,
  maxHours: 168,
  /** Calls read from the log per request at most, newest first; past this `truncated` says so. */
  maxRows: 50_000,
} as const;

const HOUR_MS = 3_600_000;

export interface ToolFigures {
  name: string;
  server: string;
  calls: number;
  errors: number;
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  latency: 'exact' | 'estimated';
  perHour: number[];
  usageCount: number;
  lastUsedAt: number | null;
}

export interface ToolStats {
  from: number;
  to: number;
  hours: number;
  tools: ToolFigures[];
  /** The log read was cut at maxRows: the tools it did not hold whole have estimates. */
  truncated: boolean;
}

/** The window: `hours` whole clock hours, the last one holding `now`. */
export function toolStatsWindow(now: number, hours: number): { from: number; to: number } {
  const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  return { from: end - hours * HOUR_MS, to: now };
}

/** The value at rank ceil(p · n) of the sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * The value at rank ceil(p · n) of a histogram's counts (LATENCY_BOUNDS_MS, then one bucket
 * above), placed linearly within its bucket: the k-th of a bucket's c calls is read as
 * lower + (upper - lower) · k / c. Above the last bound there is no upper edge: that bound.
 */
export function histogramPercentile(counts: readonly number[], p: number): number | null {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(p * n));
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && below + c >= rank) {
      const last = LATENCY_BOUNDS_MS.length - 1;
      if (i > last) return LATENCY_BOUNDS_MS[last]!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      return lower + ((LATENCY_BOUNDS_MS[i]! - lower) * (rank - below)) / c;
    }
    below += c;
  }
  return LATENCY_BOUNDS_MS.at(-1)!;
}

interface Gathered {
  server: string;
  calls: number;
  errors: number;
  perHour: number[];
  histogram: number[];
  logged: number;
  durations: number[];
}

export function computeToolStats(
  input: {
    /** The tools served now, in the order to show them. */
    served: ReadonlyArray<{ name: string; server: string }>;
    /** The rollup's hours of the window. */
    hours: readonly ToolHour[];
    /** What the log still holds of the window (newest first, perhaps cut: `truncated`). */
    samples: readonly ToolCallSample[];
    usage: readonly ToolUsage[];
    truncated: boolean;
  },
  now: number,
  hours: number,
): ToolStats {
  const { from } = toolStatsWindow(now, hours);
  const usage = new Map(input.usage.map((u) => [u.tool, u]));
  const byTool = new Map<string, Gathered>();
  const entry = (name: string, server: string) => {
    let found = byTool.get(name);
    if (!found)
      byTool.set(
        name,
        (found = {
          server,
          calls: 0,
          errors: 0,
          perHour: new Array<number>(hours).fill(0),
          histogram: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
          logged: 0,
          durations: [],
        }),
      );
    return found;
  };
  for (const tool of input.served) entry(tool.name, tool.server);
  for (const h of input.hours) {
    if (h.hour < from || h.hour > now) continue;
    // A tool no longer served still shows for the hours it was called.
    const e = entry(h.tool, h.server);
    e.calls += h.calls;
    e.errors += h.errors;
    e.perHour[Math.min(hours - 1, Math.floor((h.hour - from) / HOUR_MS))]! += h.calls;
    h.latency.forEach((c, i) => (e.histogram[i]! += c));
  }
  for (const s of input.samples) {
    if (s.at < from || s.at > now) continue;
    const e = entry(s.tool, s.server);
    e.logged++;
    if (TIMED_OUTCOMES.has(s.outcome)) e.durations.push(s.durationMs);
  }
  const tools = [...byTool].map(([name, e]): ToolFigures => {
    // Every call the rollup counted is in the log read: the percentiles can be exact.
    const exact = e.logged === e.calls;
    e.durations.sort((a, b) => a - b);
    const used = usage.get(name);
    return {
      name,
      server: e.server,
      calls: e.calls,
      errors: e.errors,
      errorRate: e.calls > 0 ? e.errors / e.calls : null,
      p50Ms: exact ? percentile(e.durations, 0.5) : histogramPercentile(e.histogram, 0.5),
      p95Ms: exact ? percentile(e.durations, 0.95) : histogramPercentile(e.histogram, 0.95),
      latency: exact ? 'exact' : 'estimated',
      perHour: e.perHour,
      usageCount: used?.calls ?? 0,
      lastUsedAt: used?.lastAt ?? null,
    };
  });
  return { from, to: now, hours, tools, truncated: input.truncated };
}
