import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FakeCliOptions, FakeMcpOptions } from './options.js';
import { toCliArgs } from './options.js';

/** The built CLI; the same path whether this module runs from src (vitest) or dist. */
export const fakeServerCliPath = fileURLToPath(new URL('../../dist/mcp/cli.js', import.meta.url));

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedFakeServer {
  child: ChildProcess;
  /** HTTP/SSE only: the URL the child printed. */
  url?: string;
  /** The child's stderr so far, by line (the last 1000). */
  stderrLines: string[];
  exited: Promise<ChildExit>;
  /**
   * Ends stdin (stdio), then SIGTERM, then SIGKILL after `graceMs`, to the child's whole process
   * group. Bounded: rejects if the child survives SIGKILL for 5 s.
   */
  stop(graceMs?: number): Promise<ChildExit>;
}

export interface SpawnFakeServerOptions extends FakeCliOptions {
  /** HTTP/SSE: how long to wait for the URL line; default 10 s. */
  startTimeoutMs?: number;
}

const STDERR_KEEP = 1000;

/** Parameters for an MCP stdio client (e.g. the SDK's StdioClientTransport) to spawn the fake. */
export function fakeStdioServerParams(options: FakeMcpOptions = {}): {
  command: string;
  args: string[];
} {
  return {
    command: process.execPath,
    args: [cliPath(), ...toCliArgs({ ...options, transport: 'stdio' })],
  };
}

export async function spawnFakeServer(options: SpawnFakeServerOptions): Promise<SpawnedFakeServer> {
  const { startTimeoutMs = 10_000, ...cli } = options;
  // Its own process group, so stop() reaches anything the child may start.
  const child = spawn(process.execPath, [cliPath(), ...toCliArgs(cli)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stderrLines = collectLines(child);
  const stop = (graceMs = 1000): Promise<ChildExit> =>
    stopChild(child, exited, cli.transport, graceMs);

  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const url =
      cli.transport === 'stdio'
        ? undefined
        : await readUrl(child, exited, startTimeoutMs, stderrLines);
    return { child, url, stderrLines, exited, stop };
  } catch (error) {
    await stop(0).catch(() => {});
    throw error;
  }
}

function cliPath(): string {
  if (!existsSync(fakeServerCliPath)) {
    throw new Error(
      `fake MCP CLI not built (${fakeServerCliPath}): run npx tsc -b packages/testkit`,
    );
  }
  return fakeServerCliPath;
}

function collectLines(child: ChildProcess): string[] {
  const lines: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > STDERR_KEEP) lines.splice(0, lines.length - STDERR_KEEP);
  });
  return lines;
}

/** The first stdout line is `{"url": …}`; afterwards stdout is drained so the child never blocks. */
function readUrl(
  child: ChildProcess,
  exited: Promise<ChildExit>,
  timeoutMs: number,
  stderrLines: string[],
): Promise<string> {
  const stdout = child.stdout;
  if (stdout === null) return Promise.reject(new Error('fake MCP child has no stdout'));
  return new Promise<string>((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const finish = (error: Error | undefined, url?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stdout.off('data', onData);
      stdout.resume();
      if (error !== undefined) reject(error);
      else resolve(url ?? '');
    };
    const onData = (chunk: string): void => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      try {
        const { url } = JSON.parse(buffered.slice(0, newline)) as { url?: unknown };
        if (typeof url !== 'string') throw new Error('no url');
        finish(undefined, url);
      } catch {
        finish(new Error(`fake MCP child printed ${JSON.stringify(buffered.slice(0, newline))}`));
      }
    };
    const timer = setTimeout(() => {
      finish(
        new Error(
          `fake MCP child gave no URL in ${timeoutMs} ms; stderr: ${stderrLines.join('\n')}`,
        ),
      );
    }, timeoutMs);
    stdout.setEncoding('utf8');
    stdout.on('data', onData);
    void exited.then(({ code, signal }) =>
      finish(
        new Error(
          `fake MCP child exited (${code ?? signal}) before listening: ${stderrLines.join('\n')}`,
        ),
      ),
    );
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal); // no group (already gone, or not a group leader)
  }
}

async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** end stdin ─▶ (100 ms) ─▶ SIGTERM ─▶ (graceMs) ─▶ SIGKILL ─▶ (5 s) ─▶ give up loudly */
async function stopChild(
  child: ChildProcess,
  exited: Promise<ChildExit>,
  transport: FakeCliOptions['transport'],
  graceMs: number,
): Promise<ChildExit> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  if (transport === 'stdio') {
    child.stdin?.end();
    const done = await settlesWithin(exited, 100);
    if (done !== undefined) return done;
  }
  signalGroup(child, 'SIGTERM');
  const termed = await settlesWithin(exited, graceMs);
  if (termed !== undefined) return termed;
  signalGroup(child, 'SIGKILL');
  const killed = await settlesWithin(exited, 5000);
  if (killed === undefined) throw new Error(`fake MCP child ${child.pid} survived SIGKILL`);
  return killed;
}
