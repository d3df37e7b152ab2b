/**
 * A health score from 0 to 100 for an endpoint or an upstream server, from what happened in a
 * recent window: the share of time it was up, how often it dropped (flaps), how many attempts
 * failed, and how long handshakes took. The parts are returned with the score so a person can
 * see why a score is low.
 */
export interface HealthParts {
  score: number;
  /** Share of the window spent up, 0–1. */
  uptime: number;
  /** Times it went from up to down in the window. */
  flaps: number;
  /** Failed attempts in the window. */
  failures: number;
  /** Median time from connecting to up, in the window; null when none. */
  handshakeMs: number | null;
  windowMs: number;
}

interface Mark {
  at: number;
  up: boolean;
}

export class HealthTracker {
  private readonly marks: Mark[] = [];
  private readonly flapTimes: number[] = [];
  private readonly failureTimes: number[] = [];
  private readonly handshakes: Array<{ at: number; ms: number }> = [];
  private connectingSince: number | null = null;

  constructor(
    private readonly windowMs = 60 * 60_000,
    startedAt = Date.now(),
  ) {
    this.marks.push({ at: startedAt, up: false });
  }

  /** Feeds one state: `up` for ready (or an upstream that is ready), with a hint of what it is. */
  observe(at: number, up: boolean, phase: 'connecting' | 'failed' | 'other' = 'other'): void {
    const last = this.marks.at(-1)!;
    if (phase === 'connecting' && this.connectingSince === null) this.connectingSince = at;
    if (phase === 'failed') this.failureTimes.push(at);
    if (up && !last.up && this.connectingSince !== null) {
      this.handshakes.push({ at, ms: at - this.connectingSince });
    }
    if (up) this.connectingSince = null;
    if (!up && last.up) this.flapTimes.push(at);
    if (up !== last.up) this.marks.push({ at, up });
    this.prune(at);
  }

  score(now = Date.now()): HealthParts {
    this.prune(now);
    const start = now - this.windowMs;
    let upMs = 0;
    const first = this.marks[0]!;
    const from = Math.max(start, first.at);
    for (let i = 0; i < this.marks.length; i++) {
      const mark = this.marks[i]!;
      const next = this.marks[i + 1]?.at ?? now;
      if (mark.up) upMs += Math.max(0, next - Math.max(mark.at, from));
    }
    const observed = Math.max(1, now - from);
    const uptime = Math.min(1, upMs / observed);
    const flaps = this.flapTimes.length;
    const failures = this.failureTimes.length;
    const sorted = this.handshakes.map((h) => h.ms).sort((a, b) => a - b);
    const handshakeMs = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : null;
    // Uptime carries most of the weight; drops, failures and slow handshakes take points off.
    const penalty =
      Math.min(30, flaps * 5) +
      Math.min(20, failures * 2) +
      (handshakeMs === null ? 0 : handshakeMs > 3_000 ? 10 : handshakeMs > 1_000 ? 5 : 0);
    const score = Math.max(0, Math.min(100, Math.round(uptime * 100 - penalty)));
    return {
      score,
      uptime: Math.round(uptime * 1000) / 1000,
      flaps,
      failures,
      handshakeMs,
      windowMs: this.windowMs,
    };
  }

  /**
   * Forgets what left the window, in place: a score is read at every transition of every
   * endpoint, and reading it should not cost new arrays each time.
   */
  private prune(now: number): void {
    const start = now - this.windowMs;
    // Keep the last mark before the window: it says what state the window began in.
    let marks = 0;
    while (marks < this.marks.length - 1 && this.marks[marks + 1]!.at <= start) marks++;
    if (marks > 0) this.marks.splice(0, marks);
    keepAfter(this.flapTimes, start);
    keepAfter(this.failureTimes, start);
    keepAfter(this.handshakes, start);
  }
}

/** Keeps the times (or the items whose `at`) after `start`, in order. */
function keepAfter(list: Array<number | { at: number }>, start: number): void {
  let kept = 0;
  for (let i = 0; i < list.length; i++) {
    const item = list[i]!;
    if ((typeof item === 'number' ? item : item.at) > start) list[kept++] = item;
  }
  if (kept < list.length) list.length = kept;
}
