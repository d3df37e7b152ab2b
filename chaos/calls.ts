// The device side: workers that keep calling tools through the hub from the simulator's
// provider sockets, each call with arguments no other call has, so every answer can be checked
// against the call it answers. A "still running" early reply is followed up with
// `tether__result` until the job's own result (or a clear error) arrives.
import type { CallOutcome, EndpointSimulator } from '@tether/testkit';

/**
 * `dropped`: the device was told "No job" for a job it had asked about before, on a socket
 * that closed before the answer: the hub handed the finished result to a request nobody could
 * receive any more and forgot it. A clear error, but a result thrown away.
 */
export type Outcome = 'answered' | 'failed' | 'cutoff' | 'dropped' | 'lost' | 'misdelivered';

type Expect =
  | { kind: 'text'; text: string }
  /** The tool answers an error on purpose; its text must carry the call's marker. */
  | { kind: 'error'; marker: string }
  /** crash / hang: any clear error is the right answer. */
  | { kind: 'any-error' };

export interface CallRecord {
  seq: number;
  endpoint: string;
  tool: string;
  args: Record<string, unknown>;
  expect: Expect;
  sentAt: number;
  endedAt?: number;
  socketId: string;
  /** Sockets that carried this call and its follow-ups. */
  sockets: string[];
  jobs: number;
  /** What happened to the call and its follow-ups, in order (ms after it was sent). */
  trail: string[];
  outcome?: Outcome;
  reason?: string;
  detail?: string;
}

/** Proxy faults per endpoint over time, so a timeout can be told from a loss. */
export class NetworkLog {
  private readonly intervals = new Map<
    string,
    Array<{ kind: string; from: number; to?: number }>
  >();

  start(endpoint: string, kind: string, at = Date.now()): void {
    this.end(endpoint, at);
    const list = this.intervals.get(endpoint) ?? [];
    list.push({ kind, from: at });
    this.intervals.set(endpoint, list);
  }

  end(endpoint: string, at = Date.now()): void {
    const open = this.intervals.get(endpoint)?.at(-1);
    if (open && open.to === undefined) open.to = at;
  }

  endAll(at = Date.now()): void {
    for (const endpoint of this.intervals.keys()) this.end(endpoint, at);
  }

  /** The faults that overlapped [from, to] on the endpoint's path. */
  during(endpoint: string, from: number, to: number): string[] {
    return (this.intervals.get(endpoint) ?? [])
      .filter((i) => i.from <= to && (i.to ?? Infinity) >= from)
      .map((i) => i.kind);
  }
}

export interface CallerOptions {
  sim: EndpointSimulator;
  /** Endpoint name → simulator token. */
  tokens: ReadonlyMap<string, string>;
  servers: readonly string[];
  network: NetworkLog;
  random: () => number;
  /** The endpoint's own call timeout (Xiaozhi: 10 s). */
  callTimeoutMs: number;
  /** How long a call answered "still running" may take to deliver its result. */
  jobDeadlineMs: number;
  workersPerEndpoint: number;
}

const STILL_RUNNING = /^Still running\. Call tether__result with \{"job": "([^"]*)"\}/;
const MARKER = /\bm(\d+)x[0-9a-z]+\b/g;

export class Caller {
  readonly records: CallRecord[] = [];
  /** Times a worker found no ready socket and waited 100 ms. */
  idleWaits = 0;
  private readonly markers = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private workers: Promise<void>[] = [];
  private seq = 0;

  /** When the hub was killed: its jobs went with it, so a "No job" after that is expected. */
  private readonly hubKills: number[] = [];

  constructor(private readonly o: CallerOptions) {}

  hubKilled(at = Date.now()): void {
    this.hubKills.push(at);
  }

  startWorkers(): void {
    for (const endpoint of this.o.tokens.keys())
      for (let i = 0; i < this.o.workersPerEndpoint; i++) this.workers.push(this.worker(endpoint));
  }

  /** Stops starting calls; resolves when the workers' current calls have settled. */
  async stopWorkers(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  /** Waits up to `ms` for every call (scheduled ones too) to settle; the rest are lost. */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(100);
    for (const record of this.records) {
      if (record.outcome === undefined)
        this.settle(record, 'lost', 'never settled', 'still waiting when the run ended');
    }
  }

  /** One call made on a schedule's behalf (crash, hang): not part of the workers' stream. */
  scheduled(endpoint: string, tool: string): boolean {
    const socket = this.readySocket(endpoint);
    if (!socket) return false;
    void this.track(this.call(++this.seq, endpoint, socket, tool, {}, { kind: 'any-error' }));
    return true;
  }

  /** Calls one tool on every endpoint × upstream now: after the heal all must answer. */
  async probeAll(): Promise<CallRecord[]> {
    const made: Promise<CallRecord | undefined>[] = [];
    for (const endpoint of this.o.tokens.keys())
      for (const server of this.o.servers) {
        const socket = this.readySocket(endpoint);
        if (!socket) continue;
        const { seq, marker } = this.marker();
        const expect: Expect = { kind: 'text', text: marker };
        made.push(
          this.track(this.call(seq, endpoint, socket, `${server}__echo`, { text: marker }, expect)),
        );
      }
    return (await Promise.all(made)).filter((r): r is CallRecord => r !== undefined);
  }

  readySocket(endpoint: string): string | undefined {
    const token = this.o.tokens.get(endpoint)!;
    return this.o.sim
      .sockets(token)
      .filter((s) => s.state === 'ready')
      .at(-1)?.id;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    const settled = promise.then(() => {});
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return promise;
  }

  private async worker(endpoint: string): Promise<void> {
    const r = this.o.random;
    while (!this.stopping) {
      const socket = this.readySocket(endpoint);
      if (!socket) {
        this.idleWaits++;
        await sleep(100);
        continue;
      }
      const { seq, tool, args, expect } = this.nextCall();
      await this.track(this.call(seq, endpoint, socket, tool, args, expect));
      await sleep(10 + Math.floor(r() * 140));
    }
  }

  /** A new call number and a text no other call carries. */
  private marker(): { seq: number; marker: string } {
    const seq = ++this.seq;
    const marker = `m${seq}x${Math.floor(this.o.random() * 36 ** 5).toString(36)}`;
    this.markers.set(marker, seq);
    return { seq, marker };
  }

  private nextCall(): {
    seq: number;
    tool: string;
    args: Record<string, unknown>;
    expect: Expect;
  } {
    const r = this.o.random;
    const server = this.o.servers[Math.floor(r() * this.o.servers.length)]!;
    const roll = r();
    const { seq, marker } = this.marker();
    const call = (tool: string, args: Record<string, unknown>, expect: Expect) => ({
      seq,
      tool: `${server}__${tool}`,
      args,
      expect,
    });
    if (roll < 0.45) return call('echo', { text: marker }, { kind: 'text', text: marker });
    if (roll < 0.6) {
      // Sums are unique too: a is the call number in thousands, b below a thousand.
      const a = seq * 1_000;
      const b = Math.floor(r() * 1_000);
      return call('add', { a, b }, { kind: 'text', text: String(a + b) });
    }
    if (roll < 0.85) {
      // Mostly quick; one in five outlives the early-reply window and becomes a job.
      const ms = r() < 0.8 ? Math.floor(r() * 500) : 2_500 + Math.floor(r() * 3_500);
      return call('slow', { ms, text: marker }, { kind: 'text', text: marker });
    }
    if (roll < 0.93) return call('fail', { message: marker }, { kind: 'error', marker });
    return call('fail_rpc', { message: marker }, { kind: 'error', marker });
  }

  private async call(
    seq: number,
    endpoint: string,
    socketId: string,
    tool: string,
    args: Record<string, unknown>,
    expect: Expect,
  ): Promise<CallRecord | undefined> {
    const record: CallRecord = {
      seq,
      endpoint,
      tool,
      args,
      expect,
      sentAt: Date.now(),
      socketId,
      sockets: [socketId],
      jobs: 0,
      trail: [],
    };
    let outcome: CallOutcome;
    try {
      outcome = await this.o.sim.callTool(tool, args, {
        socketId,
        timeoutMs: this.o.callTimeoutMs,
      });
    } catch (error) {
      if (isNoSocket(error)) {
        // The socket went between the check and the send: nothing was sent.
        return undefined;
      }
      this.records.push(record);
      this.failure(record, error);
      return record;
    }
    this.records.push(record);
    const job = this.judge(record, outcome);
    if (job !== undefined) await this.followUp(record, job);
    return record;
  }

  /** Settles the record from one answer, or returns the job id of a "still running" one. */
  private judge(record: CallRecord, outcome: CallOutcome, fetchCut = false): string | undefined {
    const text = outcome.ok ? firstText(outcome.result) : outcome.error.message;
    const isError = !outcome.ok || isErrorResult(outcome.result);
    this.step(record, `${isError ? 'error' : 'answer'} ${JSON.stringify(text?.slice(0, 80))}`);
    const running = !isError && text !== undefined ? STILL_RUNNING.exec(text) : null;
    if (running) {
      record.jobs++;
      return running[1]!;
    }
    const foreign = this.foreignMarker(record, text ?? '');
    if (foreign !== undefined)
      return void this.settle(
        record,
        'misdelivered',
        "carries another call's marker",
        `got ${JSON.stringify(text)} (call #${foreign}'s)`,
      );
    const expect = record.expect;
    if (expect.kind === 'text') {
      if (!isError && text === expect.text) return void this.settle(record, 'answered', 'ok');
      const noJob = isError && /^No job/.test(text ?? '');
      if (noJob && this.hubKills.some((at) => at >= record.sentAt))
        return void this.settle(record, 'failed', 'the job was lost with the killed hub', text);
      if (noJob && fetchCut)
        return void this.settle(
          record,
          'dropped',
          'result taken by a tether__result whose socket closed; the next ask got "No job"',
          text,
        );
      if (isError) return void this.settle(record, 'failed', errorReason(text, outcome), text);
      return void this.settle(
        record,
        'misdelivered',
        'wrong result',
        `expected ${JSON.stringify(expect.text)}, got ${JSON.stringify(text)}`,
      );
    }
    if (expect.kind === 'error') {
      if (isError && text?.includes(expect.marker))
        return void this.settle(record, 'answered', "the tool's own error");
      if (isError) return void this.settle(record, 'failed', errorReason(text, outcome), text);
      return void this.settle(
        record,
        'misdelivered',
        'wrong result',
        `got ${JSON.stringify(text)}`,
      );
    }
    if (isError)
      return void this.settle(record, 'answered', `clear error: ${errorReason(text, outcome)}`);
    return void this.settle(record, 'misdelivered', 'wrong result', `got ${JSON.stringify(text)}`);
  }

  /** `tether__result` until the job answers; on this socket or a later one of the endpoint. */
  private async followUp(record: CallRecord, firstJob: string): Promise<void> {
    let job = firstJob;
    // A fetch whose socket closed before it was answered: the next one should still find the job.
    let fetchCut = false;
    const deadline = Date.now() + this.o.jobDeadlineMs;
    for (;;) {
      await sleep(200);
      if (Date.now() > deadline)
        return this.settle(record, 'failed', 'job not fetched in time', `job ${job}`);
      const socketId = this.readySocket(record.endpoint);
      if (!socketId) continue;
      if (record.sockets.at(-1) !== socketId) record.sockets.push(socketId);
      const sentAt = Date.now();
      this.step(record, `tether__result ${job} on ${socketId}`);
      let outcome: CallOutcome;
      try {
        outcome = await this.o.sim.callTool(
          'tether__result',
          { job },
          { socketId, timeoutMs: this.o.callTimeoutMs },
        );
      } catch (error) {
        this.step(record, `fetch: ${code(error) ?? (error as Error).message}`);
        if (isNoSocket(error) || code(error) === 'SIM_SOCKET_CLOSED') {
          fetchCut = true;
          continue;
        }
        if (code(error) === 'SIM_TIMEOUT') {
          const faults = this.o.network.during(record.endpoint, sentAt, Date.now());
          if (faults.length > 0) continue;
          return this.settle(
            record,
            'lost',
            'tether__result unanswered',
            `job ${job}, socket ${socketId}`,
          );
        }
        return this.settle(record, 'failed', `error: ${(error as Error).message}`);
      }
      const next = this.judge(record, outcome, fetchCut);
      if (next === undefined) return;
      job = next;
      fetchCut = false;
    }
  }

  private step(record: CallRecord, what: string): void {
    record.trail.push(`+${Date.now() - record.sentAt}ms ${what}`);
  }

  private failure(record: CallRecord, error: unknown): void {
    const kind = code(error);
    this.step(record, kind ?? (error as Error).message);
    if (kind === 'SIM_SOCKET_CLOSED')
      return this.settle(record, 'failed', 'socket closed under the call');
    if (kind === 'SIM_TIMEOUT') {
      const faults = this.o.network.during(record.endpoint, record.sentAt, Date.now());
      if (faults.length > 0) return this.settle(record, 'cutoff', [...new Set(faults)].join('+'));
      return this.settle(
        record,
        'lost',
        'no answer on a healthy path',
        `socket ${record.socketId}, ${this.o.callTimeoutMs} ms`,
      );
    }
    this.settle(record, 'failed', `error: ${(error as Error).message}`);
  }

  private foreignMarker(record: CallRecord, text: string): number | undefined {
    for (const match of text.matchAll(MARKER)) {
      const seq = this.markers.get(match[0]);
      if (seq !== undefined && seq !== record.seq) return seq;
    }
    return undefined;
  }

  private settle(record: CallRecord, outcome: Outcome, reason: string, detail?: string): void {
    if (record.outcome !== undefined) return;
    record.outcome = outcome;
    record.reason = reason;
    if (detail !== undefined) record.detail = detail;
    record.endedAt = Date.now();
  }
}

function firstText(result: unknown): string | undefined {
  const content = (result as { content?: Array<{ type?: string; text?: string }> } | null)?.content;
  const first = Array.isArray(content) ? content[0] : undefined;
  return typeof first?.text === 'string' ? first.text : undefined;
}

function isErrorResult(result: unknown): boolean {
  return (result as { isError?: unknown } | null)?.isError === true;
}

function errorReason(text: string | undefined, outcome: CallOutcome): string {
  const prefix = outcome.ok ? 'tool error' : `JSON-RPC ${outcome.error.code}`;
  if (text === undefined) return `${prefix}: (no text)`;
  const upstream = /\((UPSTREAM_[A-Z_]+)\)/.exec(text);
  if (upstream) return `${prefix}: ${upstream[1]}`;
  if (/Unknown tool/i.test(text)) return `${prefix}: unknown tool`;
  if (/No job/.test(text)) return `${prefix}: job unknown`;
  if (/already running \d+ calls/.test(text)) return `${prefix}: call cap`;
  return `${prefix}: ${text.replace(MARKER, 'm…').slice(0, 60)}`;
}

function code(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === 'string' ? value : undefined;
}

function isNoSocket(error: unknown): boolean {
  return error instanceof Error && /no ready provider socket/.test(error.message);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
