import type { ToolCallSample, ToolUsage } from '../store/types.js';

/**
 * Per-tool figures over the last hours, from the call log (pruned: hub.ts `tidy`) and the
 * durable usage counts beside it. Percentiles are computed here (SQLite has no percentile
 * function) over a bounded read of the window.
 *
 *   calls      every logged call in the window, whatever its outcome
 *   errors     outcome `error` (the tool failed or said isError) or `timeout`
 *   errorRate  errors / calls; null without calls
 *   p50/p95    nearest rank over the calls that ran to an end (ok, error, timeout, dropped):
 *              an `early` call's logged duration is the early-reply window, not the tool's,
 *              and a `cancelled` one was ended by its caller
 *   perHour    calls per clock hour, oldest first; the last hour holds `now`
 *   usage      calls since counting began and the last one (`tool_usage`), not only the window
 */

export const TOOL_STATS_LIMITS = {
  defaultHours: 24,
  maxHours: 168,
  /** Calls read per request at most, newest first; past this `truncated` says so. */
  maxRows: 50_000,
} as const;

const HOUR_MS = 3_600_000;
const TIMED = new Set<ToolCallSample['outcome']>(['ok', 'error', 'timeout', 'dropped']);
const FAILED = new Set<ToolCallSample['outcome']>(['error', 'timeout']);

export interface ToolFigures {
  name: string;
  server: string;
  calls: number;
  errors: number;
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  perHour: number[];
  usageCount: number;
  lastUsedAt: number | null;
}

export interface ToolStats {
  from: number;
  to: number;
  hours: number;
  tools: ToolFigures[];
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

export function computeToolStats(
  input: {
    /** The tools served now, in the order to show them. */
    served: ReadonlyArray<{ name: string; server: string }>;
    samples: readonly ToolCallSample[];
    usage: readonly ToolUsage[];
    truncated: boolean;
  },
  now: number,
  hours: number,
): ToolStats {
  const { from } = toolStatsWindow(now, hours);
  const usage = new Map(input.usage.map((u) => [u.tool, u]));
  const byTool = new Map<string, { server: string; samples: ToolCallSample[] }>();
  for (const tool of input.served) byTool.set(tool.name, { server: tool.server, samples: [] });
  for (const sample of input.samples) {
    if (sample.at < from || sample.at > now) continue;
    let entry = byTool.get(sample.tool);
    // A tool no longer served still shows for the hours it was called.
    if (!entry) byTool.set(sample.tool, (entry = { server: sample.server, samples: [] }));
    entry.samples.push(sample);
  }
  const tools = [...byTool].map(([name, { server, samples }]): ToolFigures => {
    const perHour = new Array<number>(hours).fill(0);
    let errors = 0;
    const durations: number[] = [];
    for (const s of samples) {
      perHour[Math.min(hours - 1, Math.floor((s.at - from) / HOUR_MS))]!++;
      if (FAILED.has(s.outcome)) errors++;
      if (TIMED.has(s.outcome)) durations.push(s.durationMs);
    }
    durations.sort((a, b) => a - b);
    const used = usage.get(name);
    return {
      name,
      server,
      calls: samples.length,
      errors,
      errorRate: samples.length > 0 ? errors / samples.length : null,
      p50Ms: percentile(durations, 0.5),
      p95Ms: percentile(durations, 0.95),
      perHour,
      usageCount: used?.calls ?? 0,
      lastUsedAt: used?.lastAt ?? null,
    };
  });
  return { from, to: now, hours, tools, truncated: input.truncated };
}
