// Moments when the simulator saw two sockets open for one token, and whether the hub held both.
//
// The simulator counts a socket as open until its TCP connection is gone. When a fault proxy
// holds back the teardown of a socket the hub has already let go of (closed or terminated
// behind a pause or a blackhole, or owned by a hub that was killed), the hub's next socket can
// reach the simulator first: two sockets at the endpoint, one at the hub. Such a moment is
// "held by the network" only when the hub's own log shows it let go of the older socket before
// the newer one opened and a proxy fault was on that path; any other double is the hub's.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TimelineEvent } from '@tether/testkit';
import type { NetworkLog } from './calls.js';

export interface DoubleOpen {
  endpoint: string;
  /** Offsets from the start of the schedule, ms. */
  at: number;
  olderOpenedAt: number;
  sockets: string[];
  /** How the older socket ended, once it did. */
  olderClosed?: { at: number; code: number; reason: string; by: string };
  /** What the hub did with the older socket before the newer one opened, if it let it go. */
  release?: string;
  /** Proxy faults on the endpoint's path between the two opens. */
  faults: string[];
  heldByNetwork: boolean;
}

interface Release {
  at: number;
  what: string;
}

/** Moments when a token had two sockets open, from the simulator's timeline. */
export function findDoubleOpens(
  endpoint: string,
  timeline: readonly TimelineEvent[],
): Array<Omit<DoubleOpen, 'faults' | 'heldByNetwork'>> {
  const open = new Map<string, number>();
  const found: Array<Omit<DoubleOpen, 'faults' | 'heldByNetwork'>> = [];
  for (const event of timeline) {
    if (event.type === 'open') {
      if (open.size > 0) {
        const [older, olderOpenedAt] = [...open.entries()][0]!;
        found.push({
          endpoint,
          at: event.at,
          olderOpenedAt,
          sockets: [older, ...[...open.keys()].slice(1), event.socketId],
        });
      }
      open.set(event.socketId, event.at);
    } else if (event.type === 'close') {
      open.delete(event.socketId);
      for (const d of found) {
        if (d.olderClosed === undefined && d.sockets[0] === event.socketId)
          d.olderClosed = { at: event.at, code: event.code, reason: event.reason, by: event.by };
      }
    }
  }
  return found;
}

/** Reads the hub's logs: when it let go of each endpoint's socket. */
export function hubReleases(logDir: string): Map<string, Release[]> {
  const releases = new Map<string, Release[]>();
  const add = (endpoint: string, release: Release) => {
    const list = releases.get(endpoint) ?? [];
    list.push(release);
    releases.set(endpoint, list);
  };
  for (const name of readdirSync(logDir).filter((n) => /^hub-\d+\.log$/.test(n))) {
    for (const line of readFileSync(join(logDir, name), 'utf8').split('\n')) {
      if (!line.includes('"endpoint ')) continue;
      let record: {
        time?: number;
        msg?: string;
        cause?: { type?: string; reason?: string; code?: number };
      };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        continue;
      }
      const match = /^endpoint (\S+): (\w+) → (\w+)$/.exec(record.msg ?? '');
      if (!match || record.time === undefined) continue;
      const [, endpoint, from, to] = match as unknown as [string, string, string, string];
      // Out of open/ready, a reconnect's close finished, or a connect given up: no socket held.
      // 'reconnecting' still holds the old socket (its close handshake); a connect that timed
      // out may have completed its upgrade at the endpoint.
      const letsGo =
        ((from === 'open' || from === 'ready') && to !== 'ready' && to !== 'reconnecting') ||
        (from === 'reconnecting' && to === 'connecting') ||
        (from === 'connecting' && (to === 'backoff' || to === 'disabled' || to === 'parked'));
      if (!letsGo) continue;
      const cause = record.cause;
      const why =
        cause?.reason ?? (cause?.code !== undefined ? `close ${cause.code}` : cause?.type);
      add(endpoint!, { at: record.time, what: `hub ${from} → ${to} (${why ?? '?'})` });
    }
  }
  return releases;
}

export function classifyDoubleOpens(
  doubles: ReadonlyArray<Omit<DoubleOpen, 'faults' | 'heldByNetwork'>>,
  releases: ReadonlyMap<string, Release[]>,
  exits: readonly { at: number }[],
  network: NetworkLog,
  t0: number,
): DoubleOpen[] {
  return doubles.map((d) => {
    const candidates = [
      ...(releases.get(d.endpoint) ?? []),
      ...exits.map((e) => ({ at: e.at, what: 'hub process died' })),
    ];
    const release = candidates
      .filter((r) => r.at >= d.olderOpenedAt && r.at <= d.at)
      .sort((a, b) => b.at - a.at)[0];
    const faults = [...new Set(network.during(d.endpoint, d.olderOpenedAt, d.at))];
    const shift = (ms: number) => ms - t0;
    return {
      ...d,
      at: shift(d.at),
      olderOpenedAt: shift(d.olderOpenedAt),
      ...(d.olderClosed && { olderClosed: { ...d.olderClosed, at: shift(d.olderClosed.at) } }),
      ...(release && { release: `${release.what} at +${(shift(release.at) / 1000).toFixed(3)}s` }),
      faults,
      heldByNetwork: release !== undefined && faults.length > 0,
    };
  });
}
