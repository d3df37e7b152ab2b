import type { Clock } from '@tether/link';
import type { Logger } from '../log/logger.js';
import { formatMessage } from './format.js';
import { judgeResponse, parseRetryAfter, retryDelay } from './retry.js';
import type { RetryPolicy, Verdict } from './retry.js';
import type { Channel, NotifyEvent } from './types.js';

export interface CourierOptions {
  clock: Clock;
  logger: Logger;
  fetch: typeof fetch;
  random: () => number;
  retry: RetryPolicy;
  /** One attempt gives up after this long and counts as a network error. */
  requestTimeoutMs: number;
}

/**
 * One message on its way to one channel. `timer` is the request timeout while a request is
 * out (with `abort` to end it), and the retry delay between attempts.
 */
interface Job {
  channel: Channel;
  event: NotifyEvent;
  attempt: number;
  timer?: unknown;
  abort?: AbortController;
}

/**
 * Delivers messages, each on its own: a slow or dead webhook delays nothing else, and nothing
 * it does reaches the caller, which only ever hands a message over. Every attempt and every
 * wait is a Job in one set, so close() can end them all in one place.
 *
 *   send ─► attempt ─► delivered                      (sent + 1)
 *              │
 *              ├─ network error, timeout, 429, 5xx ─► wait (Retry-After or backoff) ─► attempt
 *              │                                       … until retry.attempts are spent (failed + 1)
 *              └─ other 4xx, service refusal ─────────► failed + 1
 */
export class Courier {
  private readonly jobs = new Set<Job>();
  private sentCount = 0;
  private failedCount = 0;
  private closed = false;

  constructor(private readonly options: CourierOptions) {}

  get pending(): number {
    return this.jobs.size;
  }

  get sent(): number {
    return this.sentCount;
  }

  get failed(): number {
    return this.failedCount;
  }

  send(channel: Channel, event: NotifyEvent): void {
    if (this.closed) return;
    const job: Job = { channel, event, attempt: 0 };
    this.jobs.add(job);
    this.run(job);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.jobs) {
      if (job.timer !== undefined) this.options.clock.clearTimeout(job.timer);
      job.abort?.abort();
    }
    this.jobs.clear();
  }

  /** A bug in here must not become an unhandled rejection that takes the hub down with it. */
  private run(job: Job): void {
    this.attempt(job).catch((error: unknown) => {
      this.jobs.delete(job);
      this.failedCount += 1;
      this.options.logger.error(
        { err: error, channel: describe(job.channel) },
        'notification failed',
      );
    });
  }

  private async attempt(job: Job): Promise<void> {
    job.attempt += 1;
    const verdict = await this.post(job);
    // close() may have run while the request was out; the job is no longer ours then.
    if (!this.jobs.has(job)) return;
    const { logger, retry } = this.options;
    const where = describe(job.channel);
    if (verdict.outcome === 'delivered') {
      this.jobs.delete(job);
      this.sentCount += 1;
      logger.debug(
        { channel: where, event: job.event.type, attempt: job.attempt },
        'notification sent',
      );
      return;
    }
    if (verdict.outcome === 'retry' && job.attempt < retry.attempts) {
      const delay = retryDelay(job.attempt, retry, this.options.random, verdict.retryAfterMs);
      logger.debug(
        {
          channel: where,
          event: job.event.type,
          attempt: job.attempt,
          delayMs: delay,
          why: verdict.why,
        },
        'notification attempt failed; retrying',
      );
      job.timer = this.options.clock.setTimeout(() => this.run(job), delay);
      return;
    }
    this.jobs.delete(job);
    this.failedCount += 1;
    logger.warn(
      { channel: where, event: job.event.type, attempts: job.attempt, why: verdict.why },
      verdict.outcome === 'retry'
        ? 'notification not delivered; giving up after the last attempt'
        : 'notification refused; not retrying',
    );
  }

  /** One request. Never throws: every way it can go wrong becomes a Verdict. */
  private async post(job: Job): Promise<Verdict> {
    const { clock, fetch, requestTimeoutMs } = this.options;
    const { channel } = job;
    let message;
    try {
      message = formatMessage(channel.kind, job.event, {
        url: channel.url,
        ...(channel.secret !== undefined && { secret: channel.secret }),
        now: clock.now(),
      });
    } catch {
      // Only a URL that does not parse gets here; its text would be the secret, so it is not kept.
      return { outcome: 'refused', why: 'the channel URL is not valid' };
    }
    const abort = new AbortController();
    job.abort = abort;
    const timeout = clock.setTimeout(() => abort.abort(), requestTimeoutMs);
    job.timer = timeout;
    try {
      const response = await fetch(message.url ?? channel.url, {
        method: 'POST',
        headers: { ...message.headers, ...channel.headers },
        body: message.body,
        signal: abort.signal,
        redirect: 'follow',
      });
      const body = await response.text();
      return judgeResponse(
        channel.kind,
        response.status,
        parseRetryAfter(response.headers.get('retry-after'), Date.now()),
        body,
      );
    } catch (error) {
      if (abort.signal.aborted)
        return { outcome: 'retry', why: `no answer within ${requestTimeoutMs} ms` };
      // fetch reports every network failure (refused, reset, DNS) as TypeError('fetch failed')
      // with the cause attached; any other TypeError is a request it would not even send. Its
      // message quotes the bad URL or header value, which may be the secret, so it is not kept.
      if (error instanceof TypeError && error.message !== 'fetch failed') {
        return { outcome: 'refused', why: 'the channel URL or a header is not valid' };
      }
      return { outcome: 'retry', why: networkMessage(error) };
    } finally {
      clock.clearTimeout(timeout);
      job.timer = undefined;
      job.abort = undefined;
    }
  }
}

/** A channel as logs may show it: its name and host, never the path or query with the token. */
export function describe(channel: Channel): string {
  let host = '?';
  try {
    host = new URL(channel.url).host;
  } catch {
    // an unparseable URL shows as '?'
  }
  return `${channel.name ?? channel.kind} (${channel.kind} via ${host})`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** fetch says only "fetch failed"; the useful part (ECONNREFUSED …) is in its cause. */
function networkMessage(error: unknown): string {
  const cause =
    error instanceof Error
      ? (error.cause as { code?: string; message?: string } | undefined)
      : undefined;
  return cause?.code ?? cause?.message ?? messageOf(error);
}
