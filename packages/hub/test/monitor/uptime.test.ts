import { describe, expect, it } from 'vitest';
import { computeUptime, uptimeWindow } from '../../src/monitor/uptime.js';
import type { TimelineEntry } from '../../src/store/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
// A Monday at 00:00 UTC: bucket edges fall on whole quarter hours. Now is 23:53 that day,
// so 96 quarter hours (and 48 half hours) start at DAY, the last one partly gone.
const DAY = Date.UTC(2025, 0, 6);
const NOW = DAY + 23 * HOUR + 53 * MIN;

function entry(at: number, from: string, to: string, patch: Partial<TimelineEntry> = {}) {
  return {
    endpointId: 'home',
    at,
    from,
    to,
    cause: to === 'ready' ? 'ready' : to === 'open' ? 'open' : 'timer',
    code: null,
    reason: null,
    detectedBy: null,
    instance: 'a',
    ...patch,
  } satisfies TimelineEntry;
}

const readyBefore = entry(DAY - HOUR, 'open', 'ready');
/** A loss at `at` by heartbeat, back ready `ms` later. */
function outage(at: number, ms: number): TimelineEntry[] {
  return [
    entry(at, 'ready', 'backoff', { cause: 'heartbeat', detectedBy: 'heartbeat' }),
    entry(at + 1_000, 'backoff', 'connecting'),
    entry(at + ms - 2_000, 'connecting', 'open'),
    entry(at + ms, 'open', 'ready'),
  ];
}

describe('uptime strip', () => {
  it('splits the last 24 hours into 96 quarter hours ending with the one that holds now', () => {
    const window = uptimeWindow(NOW, 24, 96);
    expect(window.bucketMs).toBe(15 * MIN);
    expect(window.from).toBe(DAY);
    const uptime = computeUptime(
      { before: readyBefore, entries: [], truncated: false },
      window,
      NOW,
    );
    expect(uptime.buckets).toHaveLength(96);
    expect(uptime.buckets.at(-1)).toMatchObject({ readyMs: 8 * MIN, end: NOW });
    expect(uptime.buckets.every((b) => b.level === 'ready')).toBe(true);
    expect(uptime.totals).toMatchObject({ uptime: 1, reconnects: 0, unknownMs: 0 });
  });

  it('ends with a whole green bucket, not an empty grey one, when now falls on an edge', () => {
    const edge = DAY + 24 * HOUR;
    const window = uptimeWindow(edge, 24, 96);
    expect(window.from).toBe(DAY);
    const uptime = computeUptime(
      { before: readyBefore, entries: [], truncated: false },
      window,
      edge,
    );
    expect(uptime.buckets).toHaveLength(96);
    expect(uptime.buckets.at(-1)).toMatchObject({
      start: edge - 15 * MIN,
      end: edge,
      readyMs: 15 * MIN,
      level: 'ready',
    });
    expect(uptime.buckets.every((b) => b.level === 'ready')).toBe(true);
    // A millisecond later a new bucket holds now, one millisecond long.
    const next = computeUptime(
      { before: readyBefore, entries: [], truncated: false },
      uptimeWindow(edge + 1, 24, 96),
      edge + 1,
    );
    expect(next.buckets.at(-1)).toMatchObject({ start: edge, end: edge + 1, readyMs: 1 });
  });

  it('shows an outage of several minutes as a red bucket, with its cause', () => {
    const window = uptimeWindow(NOW, 24, 96);
    const at = DAY + 6 * HOUR + 2 * MIN;
    const uptime = computeUptime(
      { before: readyBefore, entries: outage(at, 7 * MIN), truncated: false },
      window,
      NOW,
    );
    const red = uptime.buckets.filter((b) => b.level === 'down');
    expect(red.map((b) => b.start)).toEqual([DAY + 6 * HOUR]);
    expect(red[0]).toMatchObject({
      degradedMs: MIN,
      downMs: 6 * MIN,
      readyMs: 8 * MIN,
      reconnects: 1,
      causes: [{ cause: 'heartbeat', code: null, detectedBy: 'heartbeat', count: 1 }],
    });
    expect(uptime.buckets.filter((b) => b.level !== 'ready')).toEqual(red);
    expect(uptime.causes).toEqual([
      { cause: 'heartbeat', code: null, detectedBy: 'heartbeat', count: 1 },
    ]);
    expect(uptime.totals.downMs).toBe(6 * MIN);
  });

  it('shows a reconnect within the minute as amber, not red', () => {
    const window = uptimeWindow(NOW, 24, 96);
    const uptime = computeUptime(
      {
        before: readyBefore,
        entries: outage(DAY + HOUR, 20_000).map((e, i) =>
          i === 0 ? { ...e, cause: 'close', code: 1006, detectedBy: 'close frame' } : e,
        ),
        truncated: false,
      },
      window,
      NOW,
    );
    const bucket = uptime.buckets.find((b) => b.start === DAY + HOUR)!;
    expect(bucket).toMatchObject({ level: 'degraded', degradedMs: 20_000, downMs: 0 });
    expect(uptime.causes).toEqual([
      { cause: 'close', code: 1006, detectedBy: 'close frame', count: 1 },
    ]);
  });

  it('counts an outage across bucket edges in each bucket it covers', () => {
    const window = uptimeWindow(NOW, 24, 48);
    const at = DAY + 10 * HOUR + 20 * MIN;
    const uptime = computeUptime(
      { before: readyBefore, entries: outage(at, 40 * MIN), truncated: false },
      window,
      NOW,
    );
    const hit = uptime.buckets.filter((b) => b.level !== 'ready');
    expect(hit.map((b) => [b.start - DAY, b.level, b.degradedMs, b.downMs])).toEqual([
      [10 * HOUR, 'down', MIN, 9 * MIN],
      [10 * HOUR + 30 * MIN, 'down', 0, 30 * MIN],
    ]);
  });

  it('counts parked as down at once, and disabled apart from both', () => {
    const window = uptimeWindow(NOW, 24, 96);
    const at = DAY + 2 * HOUR;
    const uptime = computeUptime(
      {
        before: readyBefore,
        entries: [
          entry(at, 'ready', 'backoff', { cause: 'close', code: 4004 }),
          entry(at + 1_000, 'backoff', 'parked'),
          entry(at + 5 * MIN, 'parked', 'disabled', { cause: 'person' }),
        ],
        truncated: false,
      },
      window,
      NOW,
    );
    const bucket = uptime.buckets.find((b) => b.start === at)!;
    expect(bucket).toMatchObject({ degradedMs: 1_000, downMs: 5 * MIN - 1_000, level: 'down' });
    const later = uptime.buckets.find((b) => b.start === at + HOUR)!;
    expect(later).toMatchObject({ level: 'disabled', disabledMs: 15 * MIN });
    expect(uptime.totals.uptime).toBeCloseTo((2 * HOUR) / (2 * HOUR + 5 * MIN), 9);
  });

  it('says unknown before the first entry and across a hole left by a dead instance', () => {
    const window = uptimeWindow(NOW, 24, 96);
    const first = DAY + HOUR;
    const crash = DAY + 3 * HOUR;
    const uptime = computeUptime(
      {
        before: undefined,
        entries: [
          entry(first, 'disabled', 'connecting', { cause: 'person' }),
          entry(first + 100, 'connecting', 'open'),
          entry(first + 200, 'open', 'ready'),
          // A new hub's first entry: the last one said ready, and nothing said it ended.
          entry(crash, 'disabled', 'connecting', { cause: 'person', instance: 'b' }),
          entry(crash + 100, 'connecting', 'open', { instance: 'b' }),
          entry(crash + 200, 'open', 'ready', { instance: 'b' }),
        ],
        truncated: false,
      },
      window,
      NOW,
    );
    expect(uptime.buckets[0]).toMatchObject({ level: 'unknown', unknownMs: 15 * MIN });
    expect(uptime.buckets.find((b) => b.start === first)!.level).toBe('degraded');
    expect(uptime.buckets.find((b) => b.start === first + HOUR)!.level).toBe('unknown');
    expect(uptime.totals.unknownMs).toBe(HOUR + 2 * HOUR - 200);
    expect(uptime.totals.reconnects).toBe(0);
  });

  it('marks the time before the rows read unknown when the window held more', () => {
    const window = uptimeWindow(NOW, 24, 96);
    const uptime = computeUptime(
      { before: readyBefore, entries: outage(DAY + 12 * HOUR, 10_000), truncated: true },
      window,
      NOW,
    );
    expect(uptime.truncated).toBe(true);
    expect(uptime.buckets.find((b) => b.start === DAY)!.level).toBe('unknown');
    expect(uptime.buckets.at(-1)!.level).toBe('ready');
  });

  it('counts a planned reconnect among the losses, and a switch-off not', () => {
    const window = uptimeWindow(NOW, 24, 96);
    const at = DAY + 4 * HOUR;
    const uptime = computeUptime(
      {
        before: readyBefore,
        entries: [
          entry(at, 'ready', 'reconnecting', { cause: 'reconnect' }),
          entry(at + 200, 'reconnecting', 'connecting'),
          entry(at + 300, 'connecting', 'open'),
          entry(at + 400, 'open', 'ready'),
          entry(at + HOUR, 'ready', 'disabled', { cause: 'person' }),
        ],
        truncated: false,
      },
      window,
      NOW,
    );
    expect(uptime.causes).toEqual([{ cause: 'reconnect', code: null, detectedBy: null, count: 1 }]);
    expect(uptime.totals.reconnects).toBe(1);
  });
});
