import type { Context } from 'hono';
import type { ToolStats, Uptime, UptimeBucket } from '@tether/protocol';
import type { HubPort } from '../hub/port.js';
import { TOOL_STATS_LIMITS, computeToolStats, toolStatsWindow } from '../monitor/tool-stats.js';
import { UPTIME_LIMITS, computeUptime, uptimeWindow } from '../monitor/uptime.js';
import { failure } from './errors.js';

/**
 * The dashboard's pictures as data: an endpoint's uptime strip and the per-tool figures. Both
 * read the shared store only, so in a cluster any instance answers for all of them.
 */

const iso = (ms: number) => new Date(ms).toISOString();

/** A whole number from `min` to `max`, the default when absent, or the problem with it. */
function whole(
  c: Context,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number | string {
  const text = c.req.query(name);
  if (text === undefined) return fallback;
  // Digits only: Number() would take '', ' 5', '1e2' and '0x10'.
  const n = /^[0-9]{1,4}$/.test(text) ? Number(text) : NaN;
  return n >= min && n <= max ? n : `${name}: must be a whole number from ${min} to ${max}`;
}

function refused(c: Context, issues: string[]) {
  return failure(c, 400, 'BAD_REQUEST', issues.join('; '));
}

/** GET /api/endpoints/:id/uptime?hours=24&buckets=96 */
export async function uptimeAnswer(hub: HubPort, c: Context, now: number) {
  const store = hub.store;
  if (!store) return failure(c, 503, 'NO_STORE', 'this hub runs without a store');
  const id = c.req.param('id')!;
  if (!hub.endpoint(id)) return failure(c, 404, 'NOT_FOUND', `no endpoint ${id}`);
  const L = UPTIME_LIMITS;
  const hours = whole(c, 'hours', L.defaultHours, 1, L.maxHours);
  const buckets = whole(c, 'buckets', L.defaultBuckets, 1, L.maxBuckets);
  const issues = [hours, buckets].filter((v): v is string => typeof v === 'string');
  if (issues.length > 0) return refused(c, issues);
  const h = hours as number;
  const n = buckets as number;
  // Whole minutes, so buckets keep their edges on the clock (15 min, 30 min, 1 h…).
  if ((h * 60) % n !== 0)
    return refused(c, [`buckets: ${h} h must split into ${n} buckets of whole minutes`]);
  const window = uptimeWindow(now, h, n);
  // One row more than is read, to know whether the window held more.
  const [before, rows] = await Promise.all([
    store.timeline.lastBefore(id, window.from),
    store.timeline.between(id, window.from, now + 1, L.maxRows + 1),
  ]);
  const truncated = rows.length > L.maxRows;
  const uptime = computeUptime(
    { before, entries: truncated ? rows.slice(1) : rows, truncated },
    window,
    now,
  );
  const answer: Uptime = {
    endpoint: id,
    from: iso(uptime.from),
    to: iso(uptime.to),
    bucketMs: uptime.bucketMs,
    downAfterMs: uptime.downAfterMs,
    buckets: uptime.buckets.map((b): UptimeBucket => ({
      ...b,
      start: iso(b.start),
      end: iso(b.end),
    })),
    totals: uptime.totals,
    causes: uptime.causes,
    truncated: uptime.truncated,
  };
  return c.json(answer);
}

/** GET /api/tools/stats?hours=24 */
export async function toolStatsAnswer(hub: HubPort, c: Context, now: number) {
  const store = hub.store;
  if (!store) return failure(c, 503, 'NO_STORE', 'this hub runs without a store');
  const L = TOOL_STATS_LIMITS;
  const hours = whole(c, 'hours', L.defaultHours, 1, L.maxHours);
  if (typeof hours === 'string') return refused(c, [hours]);
  const { from } = toolStatsWindow(now, hours);
  const [rollup, samples, usage] = await Promise.all([
    store.toolCalls.hours(from, now + 1),
    store.toolCalls.between(from, now + 1, L.maxRows + 1),
    store.toolCalls.usage(),
  ]);
  const truncated = samples.length > L.maxRows;
  const stats = computeToolStats(
    {
      served: hub.tools().map((t) => ({ name: t.name, server: t.server })),
      hours: rollup,
      samples: truncated ? samples.slice(0, L.maxRows) : samples,
      usage,
      truncated,
    },
    now,
    hours,
  );
  const answer: ToolStats = {
    from: iso(stats.from),
    to: iso(stats.to),
    hours: stats.hours,
    tools: stats.tools.map((t) => ({
      ...t,
      lastUsedAt: t.lastUsedAt === null ? null : iso(t.lastUsedAt),
    })),
    truncated: stats.truncated,
  };
  return c.json(answer);
}
