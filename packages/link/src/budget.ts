import { systemClock } from './clock.js';
import type { Clock } from './clock.js';

export interface ConnectBudgetOptions {
  /** Connection attempts per second, for all the links sharing the budget. Default 1,000. */
  ratePerSecond?: number;
  /** Attempts that may start at once on top of the rate. Default 50. */
  burst?: number;
  clock?: Clock;
  /** Losses (sockets that were open) are counted over this window. Default 1 s. */
  lossWindowMs?: number;
  /** This many losses within the window is a mass failure (the server went away). Default 50. */
  massLosses?: number;
  /**
   * In a mass failure of S links, attempts are paced at S × massShare per second (0.2: at most
   * 2 % of them in any 100 ms), never slower than `massMinRatePerSecond` nor faster than
   * `ratePerSecond`, and the burst shrinks to 0.5 % of S; first retries are spread over the
   * time that pace needs for S attempts. Default 0.2.
   */
  massShare?: number;
  /** A small fleet is not slowed below this (200 links come back within a second). Default 200. */
  massMinRatePerSecond?: number;
  /** A mass failure is over this long after its last burst of losses. Default 60 s. */
  massHoldMs?: number;
  /** The widest first-retry spread in a mass failure. Default 30 s. */
  maxSpreadMs?: number;
}

export interface ConnectBudgetStatus {
  ratePerSecond: number;
  burst: number;
  /** The mass failure under way: how many links lost their sockets, and when it ends. */
  storm: { size: number; until: number } | null;
  /** Attempts waiting for their turn. */
  waiting: number;
  /** Attempts granted, and how many of them had to wait in line first. */
  granted: number;
  delayed: number;
}

/** A place in line; `at` is when its turn is expected. Cancelling after the turn came is a no-op. */
export interface ConnectTicket {
  readonly at: number;
  cancel(): void;
}

interface Waiter {
  start: () => void;
  done: boolean;
}

/**
 * A connect budget shared by many links (one per hub): a token bucket on the injected clock
 * and one line of attempts waiting for a token, served in order by one timer.
 *
 * Why one line and not a slot reserved for each attempt: a reserved slot is kept by a timer of
 * the link's own, and when the process stalls (thousands of handshakes at once) those timers
 * fire together after the stall and the pacing is lost — a saturated process loses its jitter.
 * Here the tokens are counted at the moment an attempt starts and never pile up past the
 * burst, so however late a timer fires, at most `burst` attempts go at once.
 *
 * It also counts losses. When many links lose their sockets within a short window, the fleet
 * is in a mass failure: first retries are spread wider and attempts paced to a share of the
 * fleet, so the server that comes back is met by a steady stream instead of a wall.
 */
export class ConnectBudget {
  private readonly clock: Clock;
  private readonly rate: number;
  private readonly burst: number;
  private readonly lossWindowMs: number;
  private readonly massLosses: number;
  private readonly massShare: number;
  private readonly massMinRate: number;
  private readonly massHoldMs: number;
  private readonly maxSpreadMs: number;
  private tokens: number;
  private refilledAt: number;
  private readonly line: Waiter[] = [];
  private lineHead = 0;
  private waiting = 0;
  private timer: unknown;
  private readonly losses: number[] = [];
  private lossHead = 0;
  private storm: { size: number; until: number } | undefined;
  private granted = 0;
  private delayed = 0;

  constructor(options: ConnectBudgetOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rate = positive(options.ratePerSecond ?? 1_000, 'ratePerSecond');
    this.burst = Math.max(1, Math.floor(positive(options.burst ?? 50, 'burst')));
    this.lossWindowMs = options.lossWindowMs ?? 1_000;
    this.massLosses = options.massLosses ?? 50;
    this.massShare = positive(options.massShare ?? 0.2, 'massShare');
    this.massMinRate = positive(options.massMinRatePerSecond ?? 200, 'massMinRatePerSecond');
    this.massHoldMs = options.massHoldMs ?? 60_000;
    this.maxSpreadMs = options.maxSpreadMs ?? 30_000;
    this.tokens = this.burst;
    this.refilledAt = this.clock.now();
  }

  /**
   * Asks for one connection attempt. Returns null when it may start now (a token was taken);
   * otherwise the attempt waits in line, `start` is called when its turn comes, and the ticket
   * says when that is expected and lets the caller leave the line.
   */
  acquire(start: () => void): ConnectTicket | null {
    const now = this.clock.now();
    const { rate } = this.refill(now);
    if (this.waiting === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.granted++;
      return null;
    }
    const waiter: Waiter = { start, done: false };
    this.line.push(waiter);
    this.waiting++;
    this.delayed++;
    this.schedule(now);
    const at = now + Math.ceil(((this.waiting - this.tokens) * 1_000) / rate);
    return {
      at,
      cancel: () => {
        if (waiter.done) return;
        waiter.done = true;
        if (--this.waiting === 0) this.idle();
      },
    };
  }

  /** A link lost a socket that was open (not a failed attempt). */
  noteLoss(): void {
    const now = this.clock.now();
    this.losses.push(now);
    while (
      this.lossHead < this.losses.length &&
      this.losses[this.lossHead]! <= now - this.lossWindowMs
    )
      this.lossHead++;
    if (this.lossHead > 1_024 && this.lossHead * 2 > this.losses.length) {
      this.losses.splice(0, this.lossHead);
      this.lossHead = 0;
    }
    const recent = this.losses.length - this.lossHead;
    if (recent < this.massLosses) return;
    const current = this.activeStorm(now);
    this.storm = { size: Math.max(current?.size ?? 0, recent), until: now + this.massHoldMs };
  }

  /** The first-retry spread for a loss now: 0 normally, wider while a mass failure lasts. */
  spreadMs(): number {
    const now = this.clock.now();
    const storm = this.activeStorm(now);
    if (!storm) return 0;
    return Math.min(this.maxSpreadMs, Math.round((storm.size / this.pace(now).rate) * 1_000));
  }

  get status(): ConnectBudgetStatus {
    const now = this.clock.now();
    const { rate, burst } = this.pace(now);
    const storm = this.activeStorm(now);
    return {
      ratePerSecond: rate,
      burst,
      storm: storm ? { ...storm } : null,
      waiting: this.waiting,
      granted: this.granted,
      delayed: this.delayed,
    };
  }

  /** Serves the line: as many waiters as there are tokens, then waits for the next one. */
  private drain(): void {
    this.timer = undefined;
    const now = this.clock.now();
    this.refill(now);
    while (this.tokens >= 1 && this.lineHead < this.line.length) {
      const waiter = this.line[this.lineHead++]!;
      if (waiter.done) continue;
      waiter.done = true;
      this.waiting--;
      this.tokens -= 1;
      this.granted++;
      waiter.start();
    }
    this.compact();
    this.schedule(this.clock.now());
  }

  private schedule(now: number): void {
    if (this.timer !== undefined || this.waiting === 0) return;
    const { rate } = this.pace(now);
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1_000) / rate));
    this.timer = this.clock.setTimeout(() => this.drain(), wait);
  }

  /** Nobody waits: no timer either. */
  private idle(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.line.length = 0;
    this.lineHead = 0;
  }

  private compact(): void {
    if (this.lineHead === this.line.length) {
      this.line.length = 0;
      this.lineHead = 0;
    } else if (this.lineHead > 1_024 && this.lineHead * 2 > this.line.length) {
      this.line.splice(0, this.lineHead);
      this.lineHead = 0;
    }
  }

  /** Tokens accrue at the current pace and never beyond the current burst. */
  private refill(now: number): { rate: number; burst: number } {
    const pace = this.pace(now);
    this.tokens = Math.min(pace.burst, this.tokens + ((now - this.refilledAt) * pace.rate) / 1_000);
    this.refilledAt = now;
    return pace;
  }

  private pace(now: number): { rate: number; burst: number } {
    const storm = this.activeStorm(now);
    if (!storm) return { rate: this.rate, burst: this.burst };
    return {
      rate: Math.min(this.rate, Math.max(this.massMinRate, storm.size * this.massShare)),
      burst: Math.min(this.burst, Math.max(1, Math.ceil(storm.size * 0.005))),
    };
  }

  private activeStorm(now: number): { size: number; until: number } | undefined {
    if (this.storm && now >= this.storm.until) this.storm = undefined;
    return this.storm;
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`ConnectBudget: ${name} must be > 0, got ${value}`);
  return value;
}
