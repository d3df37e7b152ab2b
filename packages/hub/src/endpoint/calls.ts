import type { Clock } from '@tether/link';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { HubSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { repairCall } from '../repair/index.js';
import { callRecord, jsonBytes, outcomeOf } from '../calls/record.js';
import type { CallOutcome } from '../calls/record.js';
import type { CallMeta, ToolCallEntry } from '../store/types.js';
import type { CallOptions, ToolResult } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';
import { fitToBudget } from './budget.js';
import { JobStore, RESULT_TOOL } from './jobs.js';
import type { LogLimiter } from './transport.js';

export interface EndpointCallsPorts {
  endpoint: string;
  clock: Clock;
  logger: Logger;
  warnings: LogLimiter;
  /** Read at every call, so a live edit of the hub's settings applies at once. */
  settings(): HubSettings;
  invoke(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult>;
  /** Every finished (or early-answered) call, for the call log. */
  record?(entry: ToolCallEntry): void;
  /** Whether this endpoint has argument repair on, read at every call (a reload applies). */
  repairArguments?(): boolean;
  /**
   * The endpoint's jobs, when they outlive this session (a restart for a configuration change,
   * a disable and enable: the model still asks for its results). Absent: the session's own,
   * dropped with it.
   */
  jobs?(): JobStore;
}

/** What the endpoint asked for, as the call path hands it over (endpoint/server.ts). */
export interface EndpointCall {
  entry: CatalogEntry;
  args: Record<string, unknown> | undefined;
  /**
   * Aborted when the socket that carried the call is gone or the endpoint cancels it; the
   * upstream call runs under its signal.
   */
  controller: AbortController;
  /** The call became a job: the socket's end no longer cancels it. */
  detach(): void;
  progressToken?: string | number;
  notifyProgress(params: Record<string, unknown>): void;
  /** How the call came, for the call log: `{ via: 'router' }` through tether__call_tool. */
  meta?: CallMeta;
}

/**
 * One endpoint's tool calls: the per-endpoint cap, early replies that turn a slow call into a
 * job fetched later with `tether__result`, results cut to the budget, and the call log. Every
 * call belongs to the socket that carried it: when that socket dies the upstream call is
 * cancelled — unless it was answered early, and then it outlives the socket as a job.
 */
export class EndpointCalls {
  /** Made at the first call answered early: most endpoints never have a job. */
  private jobs: JobStore | undefined;
  private running = 0;

  constructor(private readonly ports: EndpointCallsPorts) {}

  get inFlight(): number {
    return this.running;
  }

  /** The session ends: its own jobs go with it (the endpoint's, when given, stay). */
  clear(): void {
    this.jobs?.clear();
  }

  private jobStore(): JobStore {
    if (this.ports.jobs) return this.ports.jobs();
    return (this.jobs ??= new JobStore({ clock: this.ports.clock }));
  }

  private existingJobs(): JobStore | undefined {
    return this.ports.jobs ? this.ports.jobs() : this.jobs;
  }

  /** A call past `hub.limits.callsPerEndpoint` is refused at once, not queued. */
  refusal(tool: string): ToolResult | undefined {
    const cap = this.ports.settings().limits.callsPerEndpoint;
    if (this.running < cap) return undefined;
    this.ports.warnings.warn(
      'call-refused',
      { tool, inFlight: this.running },
      'call refused: too many at once',
    );
    return textResult(
      `Tether is already running ${cap} calls for this endpoint (hub.limits.callsPerEndpoint); try again when one has finished.`,
      true,
    );
  }

  async call({
    entry,
    args: asSent,
    controller,
    detach,
    progressToken,
    notifyProgress,
    meta: asCame,
  }: EndpointCall): Promise<ToolResult> {
    const { logger, clock } = this.ports;
    const settings = this.ports.settings();
    // Repaired once, before the call, against the schema the model was shown; routed calls
    // (tether__call_tool) arrive here with the real tool, so they are repaired the same way.
    const on = this.ports.repairArguments?.() === true;
    const { args, meta } = repairCall(on, entry.definition.inputSchema, asSent, asCame);
    const signal = controller.signal;
    this.running++;
    const started = clock.now();
    let failure: unknown;
    const call = this.ports
      .invoke(entry, args, {
        signal,
        timeoutMs: settings.callTimeoutMs,
        ...(progressToken !== undefined
          ? { onProgress: (p) => notifyProgress({ progressToken, ...p }) }
          : {}),
      })
      .then(
        (result) => result,
        (error: unknown) => {
          failure = error ?? new Error('call failed');
          return toolError(entry, error);
        },
      )
      .finally(() => {
        this.running--;
      });

    const early = settings.earlyReplyMs > 0 ? this.delay(settings.earlyReplyMs) : undefined;
    const outcome = await Promise.race([
      call,
      ...(early ? [early.promise.then(() => 'early' as const)] : []),
    ]);
    early?.cancel();
    if (outcome === 'early') {
      this.record(entry, args, started, 'early', undefined, 0, meta);
      if (signal.aborted) return stillRunning('');
      detach();
      const job = this.jobStore().add(entry.name, call, controller);
      logger.info(
        { tool: entry.name, job },
        'call outlived the early-reply window; answered with a job id',
      );
      return stillRunning(job);
    }
    // Measured once, for the log and the budget.
    const size = jsonBytes(outcome);
    this.record(
      entry,
      args,
      started,
      signal.aborted
        ? 'dropped'
        : failure !== undefined
          ? outcomeOf({ error: failure })
          : outcomeOf({ result: outcome }),
      outcome,
      size,
      meta,
    );
    if (signal.aborted) {
      logger.warn(
        { tool: entry.name, ms: clock.now() - started },
        'result dropped: the socket that asked is gone',
      );
    }
    return fitToBudget(outcome, settings.resultBudgetBytes, size);
  }

  /** `tether__result`: the result of a call answered early, waiting up to the early-reply window. */
  async fetchJob(
    args: Record<string, unknown> | undefined,
    signal?: AbortSignal,
  ): Promise<ToolResult> {
    const settings = this.ports.settings();
    const job = typeof args?.job === 'string' ? args.job : '';
    const jobs = this.existingJobs();
    const outcome = jobs
      ? await jobs.take(job, settings.earlyReplyMs, signal)
      : ('unknown' as const);
    if (outcome === 'unknown')
      return textResult(
        `No job "${job}": unknown, or its result was already taken or expired.`,
        true,
      );
    if (outcome === 'running') return stillRunning(job);
    return fitToBudget(outcome, settings.resultBudgetBytes);
  }

  /**
   * A call Tether answers itself (the router's search, its refusals), logged with the calls it
   * relays, so the log shows what the router was asked as well as what it called. `answer` gets
   * the endpoint's result budget.
   */
  answerOwn(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    answer: (budgetBytes: number) => { result: ToolResult; meta: CallMeta },
  ): ToolResult {
    const started = this.ports.clock.now();
    const { result, meta } = answer(this.ports.settings().resultBudgetBytes);
    const size = jsonBytes(result);
    this.record(entry, args, started, outcomeOf({ result }), result, size, meta);
    return fitToBudget(result, this.ports.settings().resultBudgetBytes, size);
  }

  private record(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    started: number,
    outcome: CallOutcome,
    result: ToolResult | undefined,
    resultBytes: number,
    meta?: CallMeta,
  ): void {
    if (!this.ports.record) return;
    const firstText = result?.isError
      ? (result.content[0] as { text?: string } | undefined)?.text
      : undefined;
    this.ports.record(
      callRecord(
        this.ports.endpoint,
        entry,
        args,
        started,
        this.ports.clock.now(),
        outcome,
        resultBytes,
        firstText ?? null,
        meta,
      ),
    );
  }

  private delay(ms: number): { promise: Promise<void>; cancel(): void } {
    const { clock } = this.ports;
    let timer: unknown;
    const promise = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)));
    return { promise, cancel: () => clock.clearTimeout(timer) };
  }
}

function textResult(text: string, isError = false): ToolResult {
  return { ...(isError ? { isError: true } : {}), content: [{ type: 'text', text }] };
}

function stillRunning(job: string): ToolResult {
  return textResult(
    `Still running. Call ${RESULT_TOOL.name} with {"job": "${job}"} to get the result when it is ready.`,
  );
}

/** Upstream failures reach the model as tool errors it can read, not as protocol errors. */
function toolError(entry: CatalogEntry, error: unknown): ToolResult {
  const code = error instanceof UpstreamError ? error.code : 'UPSTREAM_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return textResult(`${entry.name} failed (${code}): ${message}`, true);
}
