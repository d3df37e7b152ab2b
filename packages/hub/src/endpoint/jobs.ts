import { randomBytes } from 'node:crypto';
import type { ToolResult } from '../upstream/types.js';

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
  | { state: 'done'; tool: string; startedAt: number; result: ToolResult; expires: NodeJS.Timeout };

/**
 * Calls that outlived the early-reply window. The endpoint got a "still running, ask for job X"
 * answer; the upstream call goes on, no longer tied to the socket that carried it, and its
 * result waits here (for `ttlMs`) until the model asks for it with `tether__result` — on this
 * socket or a later one, since it is then the answer to a new request.
 */
export class JobStore {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly ttlMs = 10 * 60_000) {}

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
    this.jobs.set(id, { state: 'running', tool, startedAt: Date.now(), done, abort });
    return id;
  }

  /** The result if done; otherwise waits up to `waitMs` for it. */
  async take(id: string, waitMs: number): Promise<ToolResult | 'running' | 'unknown'> {
    const job = this.jobs.get(id);
    if (!job) return 'unknown';
    if (job.state === 'running') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        job.done,
        new Promise((resolve) => (timer = setTimeout(resolve, waitMs))),
      ]);
      clearTimeout(timer);
    }
    const now = this.jobs.get(id);
    if (!now) return 'unknown';
    if (now.state === 'running') return 'running';
    clearTimeout(now.expires);
    this.jobs.delete(id);
    return now.result;
  }

  /** Stops every running job (the endpoint is going away) and forgets the results. */
  clear(): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'running') job.abort.abort();
      else clearTimeout(job.expires);
    }
    this.jobs.clear();
  }

  private finish(id: string, tool: string, result: ToolResult): void {
    const job = this.jobs.get(id);
    if (!job || job.state !== 'running') return;
    const expires = setTimeout(() => this.jobs.delete(id), this.ttlMs);
    expires.unref();
    this.jobs.set(id, { state: 'done', tool, startedAt: job.startedAt, result, expires });
  }
}
