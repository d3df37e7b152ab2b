import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { printable } from '../log/printable.js';
import { HubClientError } from './client.js';

/** What a command finished with (docs/cli.md, "Exit codes"). */
export const EXIT = {
  OK: 0,
  /** The hub or the file refused: not found, read only, a conflict, a bad value, wrong usage. */
  FAILED: 1,
  /** The configuration file is (or would become) invalid, as `tether start` exits. */
  INVALID_CONFIG: 2,
  /** Nothing answered at the hub's address. */
  NO_HUB: 3,
  /** The hub wants an admin token, or another one. */
  TOKEN: 4,
} as const;

/** What one external command printed and how it ended; `failed` when it could not start at all. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started (`ENOENT`: not installed). */
  failed?: string;
}

/**
 * Everything a command reads from or does to the world, so tests run the commands in-process
 * against a hub of their own, with a HOME, a platform and a command runner of their own.
 */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** One line (or block) to stdout, and to stderr. */
  out(text: string): void;
  err(text: string): void;
  colour: boolean;
  /** Sets the exit code the process ends with. */
  exit(code: number): void;
  platform: NodeJS.Platform;
  home: string;
  uid: number | undefined;
  /** Runs a program without a shell; never throws. */
  run(command: string, args: readonly string[]): Promise<RunResult>;
  /** Absolute paths of this Node and of the `tether` launcher (bin/tether.js). */
  node: string;
  bin: string;
}

/** The launcher sits two folders up from dist/cli/ and src/cli/ alike. */
const BIN = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));

export function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    exit: (code) => void (process.exitCode = code),
    platform: process.platform,
    home: homedir(),
    uid: process.getuid?.(),
    run: runProgram,
    node: process.execPath,
    bin: BIN,
  };
}

/** Runs `command` (no shell) to its end, output collected; bounded to 60 s. */
export function runProgram(command: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: null, stdout, stderr, failed: error.code ?? error.message }),
    );
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A failure the CLI explains: a stable code, a message that says what to do, an exit code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code and the code shown for any error a command ends with. */
function classify(error: unknown): { code: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, exitCode: error.exitCode };
  if (error instanceof HubClientError) {
    if (error.code === 'UNREACHABLE') return { code: error.code, exitCode: EXIT.NO_HUB };
    if (error.code === 'UNAUTHORIZED' || error.code === 'BAD_TOKEN')
      return { code: error.code, exitCode: EXIT.TOKEN };
    return { code: error.hubCode ?? error.code, exitCode: EXIT.FAILED };
  }
  const code = (error as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'FAILED', exitCode: EXIT.FAILED };
}

/**
 * Runs one command and ends it: the exit code it returns, or the error printed (as
 * `{"error": {code, message}}` on stderr with --json, the API's error shape) and its exit code.
 * stdout carries only what a command produced, so `--json | jq` never reads an error as data.
 */
export async function finish(
  ctx: CliContext,
  json: boolean | undefined,
  work: () => Promise<number | void>,
): Promise<void> {
  try {
    // No code: the command set its own (`tether call` for a tool's error) or succeeded.
    const code = await work();
    if (code !== undefined) ctx.exit(code);
  } catch (error) {
    const { code, exitCode } = classify(error);
    const message = printable(String((error as Error)?.message ?? error), { lines: true });
    ctx.err(json ? JSON.stringify({ error: { code, message } }) : `tether: ${message}`);
    ctx.exit(exitCode);
  }
}

/**
 * A commander action run through `finish`, with the context made when it runs: its errors
 * printed (as JSON with --json) and its exit code (docs/cli.md).
 */
export function action<A extends unknown[]>(
  work: (ctx: CliContext, ...args: A) => Promise<number | void>,
  context: () => CliContext = processContext,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = context();
    // Commander passes the operands, then the options, then the command itself.
    const flags = args.at(-2) as { json?: boolean } | undefined;
    await finish(ctx, flags?.json, () => work(ctx, ...args));
  };
}
