/**
 * Options of the fake MCP server, and their one mapping to and from CLI flags, so that
 * `spawnFakeServer` and `cli.ts` cannot drift apart.
 */

export interface FakeMcpOptions {
  /** serverInfo.name; default `fake-mcp`. */
  name?: string;
  /** The Nth tool call (counting every tool) crashes the server instead of answering. */
  crashAfter?: number;
  /** `slow` sends `notifications/progress` this often when the caller gave a progressToken; 0 = never. */
  progressEveryMs?: number;
  /** Adds tools `tool_000`, `tool_001`, … with an empty input schema. */
  extraTools?: number;
  /** tools/list answers pages of this many tools, linked by `nextCursor`. */
  pageSize?: number;
  /** HTTP/SSE: a session older than this answers 404 (the spec's "re-initialise" signal). */
  sessionTtlMs?: number;
  /** CLI only: SIGTERM and the end of stdin are ignored, so a supervisor has to SIGKILL. */
  ignoreSigterm?: boolean;
  /** CLI only: a line on stderr every this many ms, and one per tool call. */
  noisyStderrMs?: number;
}

export type FakeTransportKind = 'stdio' | 'http' | 'sse';

export interface FakeCliOptions extends FakeMcpOptions {
  transport: FakeTransportKind;
  /** HTTP/SSE listening port; default 0 (any free port). */
  port?: number;
  /** HTTP/SSE listening address; default 127.0.0.1. */
  host?: string;
}

type NumberKey =
  | 'crashAfter'
  | 'progressEveryMs'
  | 'extraTools'
  | 'pageSize'
  | 'sessionTtlMs'
  | 'noisyStderrMs'
  | 'port';

const numberFlags: ReadonlyArray<readonly [flag: string, key: NumberKey]> = [
  ['--crash-after', 'crashAfter'],
  ['--progress-every', 'progressEveryMs'],
  ['--extra-tools', 'extraTools'],
  ['--page-size', 'pageSize'],
  ['--session-ttl', 'sessionTtlMs'],
  ['--noisy-stderr', 'noisyStderrMs'],
  ['--port', 'port'],
];

const transports: readonly FakeTransportKind[] = ['stdio', 'http', 'sse'];

export function toCliArgs(options: FakeCliOptions): string[] {
  const args = ['--transport', options.transport];
  for (const [flag, key] of numberFlags) {
    const value = options[key];
    if (value !== undefined) args.push(flag, String(value));
  }
  if (options.name !== undefined) args.push('--name', options.name);
  if (options.host !== undefined) args.push('--host', options.host);
  if (options.ignoreSigterm === true) args.push('--ignore-sigterm');
  return args;
}

/** Throws a plain Error naming the bad flag; the CLI turns it into exit code 2. */
export function parseCliArgs(argv: readonly string[]): FakeCliOptions {
  const options: FakeCliOptions = { transport: 'stdio' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--ignore-sigterm') {
      options.ignoreSigterm = true;
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`fake-mcp: ${flag} needs a value`);
    i++;
    const numeric = numberFlags.find(([f]) => f === flag);
    if (numeric !== undefined) {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new Error(`fake-mcp: ${flag} wants a whole number`);
      options[numeric[1]] = n;
    } else if (flag === '--transport') {
      const kind = transports.find((t) => t === value);
      if (kind === undefined)
        throw new Error(`fake-mcp: --transport is one of ${transports.join('|')}`);
      options.transport = kind;
    } else if (flag === '--name') {
      options.name = value;
    } else if (flag === '--host') {
      options.host = value;
    } else {
      throw new Error(`fake-mcp: unknown flag ${flag}`);
    }
  }
  return options;
}
