/**
 * Retry delays as small values with no timers of their own, so a test can ask for the delay of
 * any failure count with a seeded random and check the whole sequence.
 */
export interface BackoffOptions {
  /** First retry after an unexpected loss: uniform in [0, firstRetryMaxMs]. Default 250. */
  firstRetryMaxMs?: number;
  /** Base of the exponential part. Default 1000. */
  baseMs?: number;
  /** Cap of the exponential part. Default 30,000. */
  capMs?: number;
  /** Delay after an "unwelcome" close (bad token, replaced): uniform in [½x, x]. Default 60,000. */
  unwelcomeMs?: number;
}

export interface Backoff {
  /** Delay before retry number `failures` (1 = the first retry after a loss). */
  delay(failures: number, random: () => number): number;
  /** Delay after the endpoint said we are not welcome. */
  unwelcomeDelay(random: () => number): number;
}

export function fullJitterBackoff(options: BackoffOptions = {}): Backoff {
  const first = options.firstRetryMaxMs ?? 250;
  const base = options.baseMs ?? 1_000;
  const cap = options.capMs ?? 30_000;
  const unwelcome = options.unwelcomeMs ?? 60_000;
  return {
    delay(failures, random) {
      if (failures <= 1) return Math.floor(random() * (first + 1));
      // Full jitter (uniform in [0, min(cap, base·2^k)]) spreads a fleet that failed together.
      const ceiling = Math.min(cap, base * 2 ** Math.min(failures - 2, 30));
      return Math.floor(random() * (ceiling + 1));
    },
    unwelcomeDelay(random) {
      return Math.floor(unwelcome / 2 + random() * (unwelcome / 2));
    },
  };
}
