import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** Runs a command to its end (bounded) and fails with its output unless it exits 0. */
export async function run(command: string, args: string[], options: RunOptions): Promise<Ran> {
  const ran = await runAllowingFailure(command, args, options);
  if (ran.code !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}`.trim(),
    );
  return ran;
}

/** Runs a command to its end (bounded), whatever its exit code. */
export function runAllowingFailure(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<Ran> {
  const child = launch(command, args, options);
  const timer = setTimeout(() => kill(child.process, 'SIGKILL'), options.timeoutMs);
  return child.exited.then((code) => {
    clearTimeout(timer);
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  });
}

export interface Launched {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/**
 * Starts a command in its own process group (detached), so that stopping it reaches whatever it
 * started in that group, and collects what it prints.
 */
export function launch(
  command: string,
  args: string[],
  options: Omit<RunOptions, 'timeoutMs'>,
): Launched {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return { process: child, stdout: () => stdout, stderr: () => stderr, exited };
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * SIGTERM to the process group, then SIGKILL if it has not exited within `graceMs`. Resolves
 * with the exit code, or null when it had to be killed.
 */
export async function stop(child: Launched, graceMs = 10_000): Promise<number | null> {
  kill(child.process, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>(
    (resolve) => (timer = setTimeout(() => resolve('late'), graceMs)),
  );
  const outcome = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  if (outcome !== 'late') return outcome;
  kill(child.process, 'SIGKILL');
  await child.exited;
  return null;
}

/** Polls `probe` until it gives a value, for at most `ms`; the error says what was awaited. */
export async function waitFor<T>(
  what: string,
  ms: number,
  probe: () => T | undefined | Promise<T | undefined>,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `gave up after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${context()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
