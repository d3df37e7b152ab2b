import { randomBytes } from 'node:crypto';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import type { ToolResult } from '../upstream/types.js';
import { fitToBudget } from './budget.js';

/** Finished jobs kept per session, waiting to be fetched; past this the oldest is forgotten. */
export const MAX_FINISHED_JOBS = 32;

/** The most of a finished job's result kept (JSON bytes); the rest is cut, with a note. */
export const MAX_JOB_RESULT_BYTES = 64 * 1024;

/** How long a finished job's result waits to be fetched before it is forgotten. */
export const JOB_TTL_MS = 10 * 60_000;

export interface JobStoreOptions {
  /** Default JOB_TTL_MS. */
  ttlMs?: number;
  /** Default MAX_JOB_RESULT_BYTES. */
  resultBytes?: number;
  /** Default MAX_FINISHED_JOBS. */
  maxFinished?: number;
  /** Times the expiry of results and the waits of take(). Default systemClock. */
  clock?: Clock;
  /** How long a result stays fetchable again after it was first taken. Default REDELIVER_MS. */
  redeliverMs?: number;
}

/**
 * A result taken stays fetchable this long: the reply that carried it may have gone into a
 * half-open socket and never arrived, and the model then asks again on its next socket. No
 * acknowledgement exists in MCP, so a second ask within this window gets the result again.
 */
export const REDELIVER_MS = 60_000;

/** The tool through which a model fetches the result of a call answered early. */
export const RESULT_TOOL = {
  name: 'tether__result',
  description:
    'Fetch the result of an earlier tool call that was still running when it was answered. ' +
    'Pass the job id given in that answer. If the job is still running, ask again later.',
  inputSchema: {
    type: 'object',
    properties: {
      job: { type: 'string', description: 'The job id from the "still running" answer' },
    },
    required: ['job'],
  },
} as const;

type Job =
  | {
      state: 'running';
      tool: string;
      startedAt: number;
      done: Promise<void>;
      abort: AbortController;
    }
  | {
      state: 'done';
      tool: string;
      startedAt: number;
      result: ToolResult;
      expires: unknown;
      /** Taken once already: it expires REDELIVER_MS after that. */
      taken: boolean;
    };

/**
 * Calls that outlived the early-reply window. The endpoint got a "still running, ask for job X"
 * answer; the upstream call goes on, no longer tied to the socket that carried it, and its
 * result waits here (for `ttlMs`) until the model asks for it with `tether__result` — on this
 * socket or a later one, since it is then the answer to a new request. Once taken it stays for
 * `redeliverMs` more, in case that answer went into a socket that was already dead.
 *
 * What waits is bounded: each result is cut to `resultBytes` (as `fitToBudget` cuts, saying so),
 * and at most `maxFinished` results are kept — a new one pushes out the one that finished
 * first. Running jobs are never dropped to make room (their number is bounded by the call cap).
 */
export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private finished = 0;
  private readonly ttlMs: number;
  private readonly limits: { resultBytes: number; maxFinished: number };
  private readonly clock: Clock;
  private readonly redeliverMs: number;

  constructor(options: JobStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? JOB_TTL_MS;
    this.limits = {
      resultBytes: options.resultBytes ?? MAX_JOB_RESULT_BYTES,
      maxFinished: options.maxFinished ?? MAX_FINISHED_JOBS,
    };
    this.clock = options.clock ?? systemClock;
    this.redeliverMs = options.redeliverMs ?? REDELIVER_MS;
  }

  get size(): number {
    return this.jobs.size;
  }

  add(tool: string, call: Promise<ToolResult>, abort: AbortController): string {
    const id = randomBytes(6).toString('hex');
    const done = call.then(
      (result) => this.finish(id, tool, result),
      (error: unknown) =>
        this.finish(id, tool, {
          isError: true,
          content: [{ type: 'text', text: `${tool} failed: ${(error as Error).message}` }],
        }),
    );
    this.jobs.set(id, { state: 'running', tool, startedAt: this.clock.now(), done, abort });
    return id;
  }

  /** The result if done; otherwise waits up to `waitMs` for it. */
  async take(
    id: string,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ToolResult | 'running' | 'unknown'> {
    const job = this.jobs.get(id);
    if (!job) return 'unknown';
    if (job.state === 'running') {
      let timer: unknown;
      let onAbort: (() => void) | undefined;
      await Promise.race([
        job.done,
        new Promise((resolve) => (timer = this.clock.setTimeout(() => resolve(undefined), waitMs))),
        new Promise((resolve) => {
          onAbort = () => resolve(undefined);
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      this.clock.clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    // The one asking is gone (its socket closed while it waited): the result stays for the
    // next ask, on the new socket, rather than going to a request nobody will read.
    if (signal?.aborted) return 'running';
    const now = this.jobs.get(id);
    if (!now) return 'unknown';
    if (now.state === 'running') return 'running';
    if (!now.taken) {
      now.taken = true;
      this.clock.clearTimeout(now.expires);
      now.expires = this.clock.setTimeout(() => this.forget(id), this.redeliverMs);
    }
    return now.result;
  }

  /** Stops every running job (the endpoint is going away) and forgets the results. */
  clear(): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'running') job.abort.abort();
      else this.clock.clearTimeout(job.expires);
    }
    this.jobs.clear();
    this.finished = 0;
  }

  private finish(id: string, tool: string, result: ToolResult): void {
    const job = this.jobs.get(id);
    if (!job || job.state !== 'running') return;
    const expires = this.clock.setTimeout(() => this.forget(id), this.ttlMs);
    // Moved to the end: among finished jobs, the map's order is the order they finished in.
    this.jobs.delete(id);
    this.jobs.set(id, {
      state: 'done',
      tool,
      startedAt: job.startedAt,
      result: fitToBudget(result, this.limits.resultBytes),
      expires,
      taken: false,
    });
    this.finished++;
    if (this.finished > this.limits.maxFinished) {
      for (const [key, other] of this.jobs) {
        if (other.state !== 'done') continue;
        this.forget(key);
        if (this.finished <= this.limits.maxFinished) break;
      }
    }
  }

  /** A finished job's result leaves the store: taken, expired or pushed out. */
  private forget(id: string): void {
    const job = this.jobs.get(id);
    if (!job || job.state !== 'done') return;
    this.clock.clearTimeout(job.expires);
    this.jobs.delete(id);
    this.finished--;
  }
}
