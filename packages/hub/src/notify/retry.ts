import { equalJitter, exponentialCeiling } from '@tether/link';
import type { ChannelKind } from './types.js';

/** Delivery retries as plain values, so tests can check delays with a fixed random. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Delay after the first failure; it doubles after each. */
  baseMs: number;
  /** Largest delay, and the most of a Retry-After that is honoured. */
  maxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseMs: 1_000, maxMs: 60_000 };

/**
 * Delay after the n-th failed attempt (n ≥ 1): baseMs·2^(n−1) capped at maxMs, drawn from
 * [½d, d] (equal jitter, the same pieces as every other backoff here) so hubs that lost the
 * same webhook together do not retry in lockstep. A Retry-After from the service wins, cut to
 * maxMs: a notice that arrives an hour late helps nobody, and the attempt budget still ends it.
 */
export function retryDelay(
  failures: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return Math.min(policy.maxMs, Math.max(0, retryAfterMs));
  const ceiling = exponentialCeiling({ baseMs: policy.baseMs, capMs: policy.maxMs });
  return equalJitter(ceiling(failures), random);
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, wallNow: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - wallNow);
}

/** What one attempt came to. */
export type Verdict =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; why: string; retryAfterMs?: number }
  | { outcome: 'refused'; why: string };

/**
 * Network errors, 429 and 5xx are worth another try; any other 4xx will not get better by
 * itself (wrong URL, bad body, revoked token). Feishu, DingTalk and WeCom answer 200 even when
 * they refuse a message and put the reason in the body, so their body is read too.
 *
 * A 3xx is never followed: the redirect target was not checked as the channel URL was, and
 * following it would hand that target the body. `location` (where it pointed) shows as its
 * origin only, since its path may hold a token.
 */
export function judgeResponse(
  kind: ChannelKind,
  status: number,
  retryAfter: number | undefined,
  body: string,
  location?: string,
): Verdict {
  if (status === 429 || status >= 500) {
    return {
      outcome: 'retry',
      why: `HTTP ${status}`,
      ...(retryAfter !== undefined && { retryAfterMs: retryAfter }),
    };
  }
  if (status >= 300 && status < 400) {
    const to = originOf(location);
    return {
      outcome: 'refused',
      why: `HTTP ${status} redirect${to ? ` to ${to}` : ''}; redirects are not followed, so set the channel URL to the final address`,
    };
  }
  if (status < 200 || status >= 300)
    return { outcome: 'refused', why: `HTTP ${status}${snippet(body)}` };
  const refusal = serviceRefusal(kind, body);
  return refusal === undefined ? { outcome: 'delivered' } : { outcome: 'refused', why: refusal };
}

function serviceRefusal(kind: ChannelKind, body: string): string | undefined {
  if (kind !== 'feishu' && kind !== 'dingtalk' && kind !== 'wecom') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Record<string, unknown>;
  // Feishu answers {code, msg} (older bots {StatusCode, StatusMessage}); the others {errcode, errmsg}.
  const code = kind === 'feishu' ? (r.code ?? r.StatusCode) : r.errcode;
  const message = kind === 'feishu' ? (r.msg ?? r.StatusMessage) : r.errmsg;
  if (code === undefined || code === 0) return undefined;
  return `${kind} refused the message: code ${String(code)}${typeof message === 'string' ? ` ${message}` : ''}`;
}

function originOf(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  try {
    const origin = new URL(location).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

function snippet(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 120);
  return text ? `: ${text}` : '';
}
