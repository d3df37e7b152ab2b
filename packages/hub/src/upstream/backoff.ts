import { equalJitter, exponentialCeiling } from '@tether/link';

/**
 * Crash-loop restart policy as plain values, so tests can check a whole sequence with a fixed
 * random. No timers here: the supervisor owns those.
 */
export interface RestartPolicy {
  /** Delay before the first restart. */
  initialMs: number;
  /** Largest delay; also the pace of retries once the server is judged failed. */
  maxMs: number;
  /** Up this long without a crash, the server counts as stable and the backoff starts over. */
  stableMs: number;
}

export const defaultRestartPolicy: RestartPolicy = {
  initialMs: 1000,
  maxMs: 60_000,
  stableMs: 60_000,
};

/** Restarts allowed without a stable period before the state reads `failed`. */
export const QUICK_RESTARTS = 5;

/**
 * Delay after the n-th consecutive failure (n ≥ 1): initialMs·2^(n−1), capped at maxMs, and
 * maxMs for good once the server is failing. Equal jitter draws it from [½d, d] so a fleet of
 * hubs restarted together does not hammer a shared server in lockstep, while the delays still
 * grow. The pieces are the link's (docs/architecture.md): one backoff formula for the project.
 */
export function restartDelay(
  failures: number,
  policy: RestartPolicy,
  random: () => number,
): number {
  const ceiling = isFailing(failures)
    ? policy.maxMs
    : exponentialCeiling({ baseMs: policy.initialMs, capMs: policy.maxMs })(failures);
  return equalJitter(ceiling, random);
}

/** True once QUICK_RESTARTS restarts have failed in a row. */
export function isFailing(failures: number): boolean {
  return failures > QUICK_RESTARTS;
}
