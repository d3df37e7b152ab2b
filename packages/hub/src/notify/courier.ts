import type { Clock } from '@tether/link';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';
import { formatMessage } from './format.js';
import { isDeliveryError } from './post.js';
import type { Post } from './post.js';
import { judgeResponse, parseRetryAfter, retryDelay } from './retry.js';
import type { RetryPolicy, Verdict } from './retry.js';
import type { Channel, NotifyEvent } from './types.js';

export interface CourierOptions {
  clock: Clock;
  logger: Logger;
  /** How a request goes out: guardedPost, or a fake in tests. */
  post: Post;
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
 *              └─ 3xx, other 4xx, service refusal,
 *                 a private target (no allowPrivate) ─► failed + 1
 *
 * Log lines carry the channel's name and host and the reason, each through redact(): the
 * URL is the credential for most services, and a reason may quote it.
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
        {
          error: redact(messageOf(error)),
          ...(error instanceof Error && error.stack && { stack: redact(error.stack) }),
          channel: describe(job.channel),
        },
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
          why: redact(verdict.why),
        },
        'notification attempt failed; retrying',
      );
      job.timer = this.options.clock.setTimeout(() => this.run(job), delay);
      return;
    }
    this.jobs.delete(job);
    this.failedCount += 1;
    logger.warn(
      { channel: where, event: job.event.type, attempts: job.attempt, why: redact(verdict.why) },
      verdict.outcome === 'retry'
        ? 'notification not delivered; giving up after the last attempt'
        : 'notification refused; not retrying',
    );
  }

  /** One request. Never throws: every way it can go wrong becomes a Verdict. */
  private async post(job: Job): Promise<Verdict> {
    const { clock, post, requestTimeoutMs } = this.options;
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
      const answer = await post({
        url: message.url ?? channel.url,
        headers: { ...message.headers, ...channel.headers },
        body: message.body,
        signal: abort.signal,
        allowPrivate: channel.allowPrivate === true,
      });
      return judgeResponse(
        channel.kind,
        answer.status,
        parseRetryAfter(answer.retryAfter, Date.now()),
        answer.body,
        answer.location,
      );
    } catch (error) {
      if (abort.signal.aborted)
        return { outcome: 'retry', why: `no answer within ${requestTimeoutMs} ms` };
      // A private target or a request that cannot be built will be the same next time.
      if (isDeliveryError(error)) return { outcome: 'refused', why: error.message };
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
  return redact(`${channel.name ?? channel.kind} (${channel.kind} via ${host})`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A socket error's code (ECONNREFUSED, ENOTFOUND …) says it best. When both address families
 * were tried, node reports an AggregateError whose own code is empty; its first error has one.
 */
function networkMessage(error: unknown): string {
  const first = error instanceof AggregateError ? (error.errors[0] as unknown) : error;
  const code = (first as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : messageOf(first);
}
