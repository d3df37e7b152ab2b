/**
 * Retry delays as small values with no timers of their own, so a test can ask for the delay of
 * any situation with a seeded random and check the whole sequence.
 *
 * One policy, two kinds of piece: a ceiling says the most a retry may wait, a jitter draws the
 * wait from it. The link, the hub's upstream restarts and its webhook retries each compose the
 * same pieces (docs/architecture.md), so the formula lives here once.
 */

/** The most a retry may wait, in ms, from a count or a duration (failures, outage so far). */
export type Ceiling = (value: number) => number;

/** A wait drawn from a ceiling, in whole ms; `random` is uniform in [0, 1). */
export type Jitter = (ceilingMs: number, random: () => number) => number;

/**
 * baseMs·2^(n−1) for the n-th failure (n ≥ 1; less counts as 1), capped at capMs: the classic
 * doubling, for retries whose pace follows the number of attempts.
 */
export function exponentialCeiling(options: { baseMs: number; capMs: number }): Ceiling {
  const { baseMs, capMs } = options;
  return (failures) => Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
}

/**
 * ratio × the time already out, at least floorMs and at most capMs: a ceiling tied to time
 * rather than to the attempt count, so recovery after a short outage stays quick.
 */
export function outageCeiling(options: { ratio: number; floorMs: number; capMs: number }): Ceiling {
  const { ratio, floorMs, capMs } = options;
  return (outageMs) => Math.min(capMs, Math.max(floorMs, ratio * outageMs));
}

/** Full jitter: uniform over the whole ms in [0, ceiling], the widest spread of a fleet. */
export const fullJitter: Jitter = (ceilingMs, random) => Math.floor(random() * (ceilingMs + 1));

/**
 * Equal jitter: uniform in [½ceiling, ceiling], rounded. Still spreads a fleet, while each wait
 * keeps at least half the step, so the delays visibly grow.
 */
export const equalJitter: Jitter = (ceilingMs, random) =>
  Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);

export interface BackoffOptions {
  /** First retry after an unexpected loss: uniform in [0, firstRetryMaxMs]. Default 250. */
  firstRetryMaxMs?: number;
  /** Later retries: uniform in [0, ceiling], ceiling = ratio × time already out. Default 0.5. */
  ratio?: number;
  /** Smallest ceiling after the first retry. Default 500. */
  floorMs?: number;
  /** Largest ceiling. Default 30,000. */
  capMs?: number;
  /** Delay after an "unwelcome" close (bad token, replaced): uniform in [½x, x]. Default 60,000. */
  unwelcomeMs?: number;
  /**
   * Flapping: more than `flapLimit` losses after a completed handshake within `flapWindowMs`
   * damp the link: its first retry waits at least `flapFloorMs`, doubling with every further
   * loss in the window, up to `capMs`. Defaults 5, 60,000 and 1,000.
   */
  flapLimit?: number;
  flapWindowMs?: number;
  flapFloorMs?: number;
}

export interface RetryContext {
  /** Consecutive failures, this one included (1 = the first retry after a loss). */
  failures: number;
  /** How long the link has been out of service in this outage. */
  outageMs: number;
  /**
   * Set when many links lost their sockets at once (a shared ConnectBudget says so): the first
   * retry is spread over this many ms instead of `firstRetryMaxMs`, whichever is wider.
   */
  spreadMs?: number;
}

export interface Backoff {
  delay(context: RetryContext, random: () => number): number;
  /** Delay after the endpoint said we are not welcome. */
  unwelcomeDelay(random: () => number): number;
  /** How far back losses after a completed handshake are counted. Absent: never damped. */
  readonly flapWindowMs?: number;
  /** The least first-retry wait for a link with `losses` such losses in the window; 0 = none. */
  flapFloor?(losses: number): number;
}

/**
 * Full jitter (uniform in [0, ceiling]) with a ceiling that grows with the outage: each wait is
 * at most half the time already lost, so the ceiling grows geometrically with the attempts
 * (by about a quarter each, on average) up to the cap.
 *
 * Why not ceiling = base·2^attempt: the ceiling then tracks the elapsed time one-for-one, and a
 * server back after a 5 s outage is found up to 8–15 s later (p99). Halving that ratio keeps a
 * 5 s outage under 3 s to recover at p99 while a fleet still spreads its attempts evenly.
 *
 * The outage is counted from the first failure of a run, and a run ends with every completed
 * handshake (the link does that): connected time is not outage, so a link that drops again
 * after working starts over at the quick first retry. A link that does so too often is damped
 * instead (`flapFloor`), so a flapping endpoint is not hammered either.
 */
export function fullJitterBackoff(options: BackoffOptions = {}): Backoff {
  const first = options.firstRetryMaxMs ?? 250;
  const ratio = options.ratio ?? 0.5;
  const floor = options.floorMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const unwelcome = options.unwelcomeMs ?? 60_000;
  const flapLimit = options.flapLimit ?? 5;
  const flapFloorMs = options.flapFloorMs ?? 1_000;
  const later = outageCeiling({ ratio, floorMs: floor, capMs: cap });
  const damping = exponentialCeiling({ baseMs: flapFloorMs, capMs: cap });
  return {
    delay({ failures, outageMs, spreadMs = 0 }, random) {
      if (failures <= 1) return fullJitter(Math.max(first, spreadMs), random);
      return fullJitter(later(outageMs), random);
    },
    unwelcomeDelay(random) {
      return equalJitter(unwelcome, random);
    },
    flapWindowMs: options.flapWindowMs ?? 60_000,
    flapFloor(losses) {
      return losses <= flapLimit ? 0 : damping(losses - flapLimit);
    },
  };
}
