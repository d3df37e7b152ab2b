import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  SdkError,
  SdkErrorCode,
  deserializeMessage,
  serializeMessage,
} from '@modelcontextprotocol/client';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import { classifyMessage } from '@tether/protocol';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';
import { childEnvironment } from './child-env.js';
import { loggable } from './errors.js';
import { LineSplitter } from './lines.js';
import type { Oversized } from './lines.js';
import { ResultTooLarge, refuseLargeArguments, responseIdOf, tooLargeResponse } from './limits.js';
import { signalGroup, trackGroup, untrackGroup } from './process-groups.js';

export interface ChildTransportOptions {
  command: string;
  args: string[];
  /** The server's own variables, on top of the hub's minus its secrets (childEnvironment). */
  env: Record<string, string>;
  /** Variables the configuration expanded outside this server's entry: not inherited either. */
  expandedElsewhere?: readonly string[];
  cwd?: string;
  /** How long SIGTERM has before SIGKILL. */
  stopGraceMs: number;
  /** The longest stdout line read; a longer one fails the call it answers. */
  maxResultBytes: number;
  /** The longest message written; a longer one is refused before it is sent. */
  maxArgumentsBytes: number;
  logger: Logger;
  onStderrLine(line: string): void;
  /** Times the steps of a stop and the stderr drain. Default systemClock. */
  clock?: Clock;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** After the end of stdin, how long a well-behaved server has to leave before SIGTERM. */
const STDIN_GRACE_MS = 100;
/** After SIGKILL: only a process stuck in the kernel survives this long. */
const KILL_WAIT_MS = 2000;
/** After the leader exits, how long its stderr may take to drain (its last words). */
const STDERR_DRAIN_MS = 100;
const STDERR_MAX_LINE = 64 * 1024;

/**
 * An MCP client transport over a child's stdio, with the child leading its own process group
 * (the SDK's StdioClientTransport cannot spawn `detached`), so that stopping it reaches
 * everything it started.
 *
 *   start:  spawn (detached) ─▶ 'spawn' ✓ | 'error' ✗
 *   close:  end stdin ─(100 ms)─▶ SIGTERM −pgid ─(stopGraceMs)─▶ SIGKILL −pgid ─(2 s)─▶ done
 *   kill:   SIGKILL −pgid ─▶ close (it is gone within the first step)
 *   exit:   leader gone ─▶ SIGKILL −pgid (orphans) ─▶ stderr drained (≤100 ms) ─▶ onclose
 *
 * Framing is newline-delimited JSON; a line that is not a JSON-RPC message is logged and
 * skipped, never fatal. A line over maxResultBytes is never held whole: the id at one of its
 * ends names the request it answers, which fails at once with UPSTREAM_RESULT_TOO_LARGE while
 * the server carries on.
 */
export class ChildProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child?: ChildProcess;
  private exitInfo?: ChildExit;
  private closing?: Promise<void>;
  private finished = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly clock: Clock;

  constructor(private readonly options: ChildTransportOptions) {
    this.clock = options.clock ?? systemClock;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get pid(): number | undefined {
    return this.exitInfo === undefined ? this.child?.pid : undefined;
  }

  /** How the child ended, once it has. */
  get exit(): ChildExit | undefined {
    return this.exitInfo;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('ChildProcessTransport already started');
    const { command, args, env, cwd, expandedElsewhere } = this.options;
    const child = spawn(command, args, {
      cwd,
      env: childEnvironment(process.env, env, expandedElsewhere),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const onSpawn = (): void => {
        child.off('error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        child.off('spawn', onSpawn);
        this.finish();
        reject(error);
      };
      child.once('spawn', onSpawn);
      child.once('error', onError);
    });
    const pid = child.pid as number;
    trackGroup(pid);
    this.wire(child, pid);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin == null || !stdin.writable || this.exitInfo !== undefined) {
      throw new SdkError(SdkErrorCode.NotConnected, 'the stdio server is not running');
    }
    const line = serializeMessage(message);
    refuseLargeArguments(line, this.options.maxArgumentsBytes);
    // Messages sent in the same tick leave in one write: under load this halves the syscalls.
    if (!this.corked) {
      this.corked = true;
      stdin.cork();
      process.nextTick(() => {
        this.corked = false;
        stdin.uncork();
      });
    }
    await new Promise<void>((resolve, reject) => {
      stdin.write(line, (error) => (error ? reject(error) : resolve()));
    });
  }

  private corked = false;

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  /**
   * SIGKILL to the whole group at once, then close(): for a child that no longer answers
   * (stopped, wedged), which would only sit out the gentle steps; a stopped process cannot act
   * on SIGTERM, while SIGKILL ends it all the same.
   */
  kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid !== undefined && this.exitInfo === undefined) signalGroup(pid, 'SIGKILL');
    return this.close();
  }

  private wire(child: ChildProcess, pid: number): void {
    const { logger } = this.options;
    // EPIPE and friends arrive here when the child dies mid-write; the exit path handles it.
    child.stdin?.on('error', (error) => logger.debug({ err: loggable(error) }, 'stdin error'));
    child.on('error', (error) => this.onerror?.(error));

    const stdout = new LineSplitter(this.options.maxResultBytes, (line) => this.oversized(line));
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of stdout.push(chunk)) this.receive(line);
    });

    const stderr = new LineSplitter(STDERR_MAX_LINE);
    const stderrEnded = new Promise<void>((resolve) => {
      if (child.stderr === null) resolve();
      child.stderr?.once('end', resolve);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of stderr.push(chunk)) this.options.onStderrLine(line);
    });

    child.once('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      // Anything the leader left behind in its group has nobody else to end it.
      signalGroup(pid, 'SIGKILL');
      untrackGroup(pid);
      void settles(stderrEnded, STDERR_DRAIN_MS, this.clock).then(() => {
        const last = stderr.flush();
        if (last !== undefined) this.options.onStderrLine(last);
        this.finish();
      });
    });
  }

  private receive(line: string): void {
    if (line.trim() === '') return;
    let message: JSONRPCMessage;
    try {
      message = readMessage(line);
    } catch (error) {
      this.options.logger.warn(
        { line: redact(line.slice(0, 200)), err: loggable(error) },
        'skipped a stdout line that is not JSON-RPC',
      );
      return;
    }
    this.onmessage?.(message);
  }

  /** A line over the limit: fail the request it answers, as if the server had said so. */
  private oversized(line: Oversized): void {
    const id = responseIdOf(line.head, line.tail);
    const { logger, maxResultBytes } = this.options;
    if (id === undefined) {
      logger.warn({ bytes: line.bytes }, 'dropped a stdout line over the size limit');
      return;
    }
    logger.warn(
      { bytes: line.bytes, id },
      'dropped a result over the size limit; failing its call',
    );
    this.onmessage?.(tooLargeResponse(id, new ResultTooLarge(maxResultBytes, line.bytes)));
  }

  private async stop(): Promise<void> {
    const child = this.child;
    const pid = child?.pid;
    if (child === undefined || pid === undefined || this.exitInfo !== undefined) {
      await settles(this.done, STDERR_DRAIN_MS * 2, this.clock);
      this.finish();
      return;
    }
    child.stdin?.end();
    const stdinGraceMs = Math.min(STDIN_GRACE_MS, this.options.stopGraceMs);
    if (await settles(this.done, stdinGraceMs, this.clock)) return;
    signalGroup(pid, 'SIGTERM');
    if (await settles(this.done, this.options.stopGraceMs, this.clock)) return;
    this.options.logger.warn({ serverPid: pid }, 'server ignored SIGTERM; sending SIGKILL');
    signalGroup(pid, 'SIGKILL');
    if (await settles(this.done, KILL_WAIT_MS, this.clock)) return;
    this.options.logger.error({ serverPid: pid }, 'server survived SIGKILL; giving up on it');
    untrackGroup(pid);
    this.finish();
  }

  /** The one place the transport ends: onclose exactly once. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone();
    this.onclose?.();
  }
}

/** Describes how a child ended, for status.lastError. */
export function describeExit(exit: ChildExit, lastStderr: string | undefined): string {
  const how = exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return lastStderr === undefined || lastStderr.trim() === '' ? how : `${how}: ${lastStderr}`;
}

/** Whether `promise` settles within `ms` on `clock`; the timer is cleared either way. */
async function settles(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  let timer: unknown;
  const timeout = new Promise<false>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clock.clearTimeout(timer);
  }
}

/**
 * A line as a message. A response — what every call gets back — is checked by the hub's own
 * classifier, which builds the message from the members it reads; anything else (the server's
 * requests and notifications) by the SDK's schema, as before.
 */
function readMessage(line: string): JSONRPCMessage {
  const value: unknown = JSON.parse(line);
  const read = classifyMessage(value, line);
  if (read.kind === 'response') return read.message as JSONRPCMessage;
  return deserializeMessage(line);
}
