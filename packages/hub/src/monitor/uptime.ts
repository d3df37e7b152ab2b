import type { TimelineEntry } from '../store/types.js';

/**
 * An endpoint's last hours as a strip of buckets, computed from its timeline (every state
 * change) alone, so any instance of a cluster answers the same from the shared store.
 *
 * What each stretch of time counts as:
 *
 *   ready     the link is `ready`: the endpoint has the tools.
 *   degraded  a recovery under way (`connecting`, `open`, `backoff`, `reconnecting`) for at
 *             most `downAfterMs` (default 60 s) since the link was last ready: a short loss.
 *   down      `parked`, or a recovery past `downAfterMs`: the endpoint has gone without its
 *             tools for longer than a reconnect takes.
 *   disabled  `disabled`: switched off, or the hub stopped cleanly (its links close first).
 *   unknown   nothing recorded: before the endpoint's first entry; a hole in the record (a
 *             live state — connecting, open, ready — followed by an entry that does not start
 *             from it: the instance that held the link died without a word); and, when the
 *             window held more than the rows read, the time before the oldest row read.
 *
 * A bucket is `down` (red) with any down time, else `degraded` (amber) with any degraded
 * time, else `ready` (green) with any ready time, else `disabled` or `unknown` (grey). An
 * outage of several minutes is thus red in every bucket it lasted beyond its first minute.
 *
 * Buckets are aligned to multiples of their length since the epoch, so a bucket keeps its
 * edges from one request to the next; the last one holds `now` (an edge closes the bucket
 * before it) and is measured up to it.
 */

export type UptimeLevel = 'ready' | 'degraded' | 'down' | 'disabled' | 'unknown';

/** The strip's parameters: bounded, so a request cannot ask for a year of minute buckets. */
export const UPTIME_LIMITS = {
  defaultHours: 24,
  maxHours: 168,
  defaultBuckets: 96,
  maxBuckets: 288,
  /** Timeline rows read per request at most; past this the oldest are not read (`truncated`). */
  maxRows: 20_000,
} as const;

export const DOWN_AFTER_MS = 60_000;

/** Losses grouped by how they happened. */
export interface UptimeCause {
  cause: string;
  code: number | null;
  detectedBy: string | null;
  count: number;
}

export interface UptimeTimes {
  readyMs: number;
  degradedMs: number;
  downMs: number;
  disabledMs: number;
  unknownMs: number;
  /** Losses: the link left `open` or `ready` for anything but `disabled`. */
  reconnects: number;
}

export interface UptimeBucket extends UptimeTimes {
  start: number;
  /** The bucket's end, or `now` for the last one. */
  end: number;
  level: UptimeLevel;
  causes: UptimeCause[];
}

export interface Uptime {
  from: number;
  to: number;
  bucketMs: number;
  downAfterMs: number;
  buckets: UptimeBucket[];
  totals: UptimeTimes & {
    /** Ready time over ready + degraded + down; null when none of those was seen. */
    uptime: number | null;
  };
  causes: UptimeCause[];
  /** More rows fell in the window than were read: the time before the oldest read is unknown. */
  truncated: boolean;
}

export interface UptimeWindow {
  from: number;
  bucketMs: number;
  buckets: number;
}

/**
 * `buckets` buckets of `hours / buckets` each, the last holding `now` (start < now <= end): when
 * `now` falls exactly on an edge, the bucket it closes is the last, so the strip never ends
 * with an empty bucket (grey, measured over nothing).
 */
export function uptimeWindow(now: number, hours: number, buckets: number): UptimeWindow {
  const bucketMs = (hours * 3_600_000) / buckets;
  const lastStart = Math.ceil(now / bucketMs) * bucketMs - bucketMs;
  return { from: lastStart - (buckets - 1) * bucketMs, bucketMs, buckets };
}

export interface UptimeInput {
  /** The endpoint's newest entry before the window: the state it starts in. */
  before: TimelineEntry | undefined;
  /** Its entries in the window (`from <= at <= now`), oldest first. */
  entries: readonly TimelineEntry[];
  /** Whether `entries` are only the newest of the window's. */
  truncated: boolean;
}

const LIVE = new Set(['connecting', 'open', 'ready']);
const UP = new Set(['open', 'ready']);

type Kind = 'readyMs' | 'degradedMs' | 'downMs' | 'disabledMs' | 'unknownMs';

export function computeUptime(
  input: UptimeInput,
  window: UptimeWindow,
  now: number,
  downAfterMs: number = DOWN_AFTER_MS,
): Uptime {
  const { from, bucketMs } = window;
  const buckets: UptimeBucket[] = Array.from({ length: window.buckets }, (_, i) => ({
    start: from + i * bucketMs,
    end: Math.min(from + (i + 1) * bucketMs, now),
    level: 'unknown',
    readyMs: 0,
    degradedMs: 0,
    downMs: 0,
    disabledMs: 0,
    unknownMs: 0,
    reconnects: 0,
    causes: [],
  }));
  const indexOf = (t: number) =>
    Math.min(window.buckets - 1, Math.max(0, Math.floor((t - from) / bucketMs)));

  /** Adds [a, b) to the buckets it spans. */
  const credit = (a: number, b: number, kind: Kind) => {
    a = Math.max(a, from);
    b = Math.min(b, now);
    while (a < b) {
      const bucket = buckets[indexOf(a)]!;
      const cut = Math.min(b, bucket.start + bucketMs);
      bucket[kind] += cut - a;
      a = cut;
    }
  };

  let state = input.truncated ? 'unknown' : (input.before?.to ?? 'unknown');
  // When the current stretch without the tools began; undefined while ready, off or unknown.
  let outageSince =
    state === 'unknown' || state === 'ready' || state === 'disabled'
      ? undefined
      : (input.before?.at ?? from);
  let cursor = from;

  const spend = (until: number, hole: boolean) => {
    if (hole || state === 'unknown') credit(cursor, until, 'unknownMs');
    else if (state === 'ready') credit(cursor, until, 'readyMs');
    else if (state === 'disabled') credit(cursor, until, 'disabledMs');
    else if (state === 'parked') credit(cursor, until, 'downMs');
    else {
      const cut = Math.max(cursor, (outageSince ?? cursor) + downAfterMs);
      credit(cursor, Math.min(until, cut), 'degradedMs');
      credit(cut, until, 'downMs');
    }
  };

  const allCauses = new Map<string, UptimeCause>();
  const bucketCauses = buckets.map(() => new Map<string, UptimeCause>());
  const count = (map: Map<string, UptimeCause>, e: TimelineEntry) => {
    const key = `${e.cause}\u0000${e.code ?? ''}\u0000${e.detectedBy ?? ''}`;
    const seen = map.get(key);
    if (seen) seen.count++;
    else map.set(key, { cause: e.cause, code: e.code, detectedBy: e.detectedBy, count: 1 });
  };

  for (const e of input.entries) {
    if (e.at > now) break;
    const at = Math.max(e.at, from);
    const hole = LIVE.has(state) && e.from !== state;
    spend(at, hole);
    if (hole) outageSince = undefined;
    if (UP.has(e.from) && e.to !== 'disabled' && !UP.has(e.to)) {
      const i = indexOf(at);
      buckets[i]!.reconnects++;
      count(bucketCauses[i]!, e);
      count(allCauses, e);
    }
    if (e.to === 'ready' || e.to === 'disabled') outageSince = undefined;
    else outageSince ??= at;
    state = e.to;
    cursor = at;
  }
  spend(now, false);

  const totals = {
    readyMs: 0,
    degradedMs: 0,
    downMs: 0,
    disabledMs: 0,
    unknownMs: 0,
    reconnects: 0,
  };
  buckets.forEach((bucket, i) => {
    bucket.level = levelOf(bucket);
    bucket.causes = sortCauses(bucketCauses[i]!);
    for (const kind of Object.keys(totals) as Array<keyof typeof totals>)
      totals[kind] += bucket[kind];
  });
  const known = totals.readyMs + totals.degradedMs + totals.downMs;
  return {
    from,
    to: now,
    bucketMs,
    downAfterMs,
    buckets,
    totals: { ...totals, uptime: known > 0 ? totals.readyMs / known : null },
    causes: sortCauses(allCauses),
    truncated: input.truncated,
  };
}

function levelOf(b: UptimeTimes): UptimeLevel {
  if (b.downMs > 0) return 'down';
  if (b.degradedMs > 0) return 'degraded';
  if (b.readyMs > 0) return 'ready';
  return b.disabledMs > 0 && b.disabledMs >= b.unknownMs ? 'disabled' : 'unknown';
}

function sortCauses(map: Map<string, UptimeCause>): UptimeCause[] {
  return [...map.values()].sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause));
}
