import { readFileSync } from 'node:fs';
import { fakeStdioServerParams, waitUntil } from '@tether/testkit';
import type { FakeMcpOptions, ManualClock } from '@tether/testkit';
import type { HttpServerConfig, StdioServerConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { Upstream } from '../../src/upstream/index.js';
import type { ToolResult, UpstreamError, UpstreamOptions } from '../../src/upstream/index.js';
import type { ServerConfig } from '../../src/config/types.js';

export function stdioConfig(
  fields: Pick<StdioServerConfig, 'command' | 'args'> & Partial<StdioServerConfig>,
): StdioServerConfig {
  return { name: 'fake', type: 'stdio', enabled: true, env: {}, ...fields };
}

/** The testkit's fake MCP server as a stdio upstream; `cli` adds CLI-only flags. */
export function fakeStdio(options: FakeMcpOptions = {}, cli: string[] = []): StdioServerConfig {
  const { command, args } = fakeStdioServerParams(options);
  return stdioConfig({ command, args: [...args, ...cli] });
}

export function httpConfig(
  url: string,
  type: 'http' | 'sse',
  headers: Record<string, string> = {},
): HttpServerConfig {
  return { name: `fake-${type}`, type, enabled: true, url, headers };
}

/** Upstreams made in a test, all stopped afterwards whatever happened. */
export class Fleet {
  private readonly upstreams: Upstream[] = [];

  make(config: ServerConfig, options: Partial<UpstreamOptions> = {}): Upstream {
    const upstream = new Upstream(config, {
      logger: silentLogger(),
      restart: { initialMs: 50, maxMs: 400, stableMs: 60_000 },
      stopGraceMs: 500,
      listTimeoutMs: 5000,
      ...options,
    });
    this.upstreams.push(upstream);
    return upstream;
  }

  async started(config: ServerConfig, options: Partial<UpstreamOptions> = {}): Promise<Upstream> {
    const upstream = this.make(config, options);
    await upstream.start();
    if (upstream.status.state !== 'ready') {
      throw new Error(`upstream not ready: ${JSON.stringify(upstream.status)}`);
    }
    return upstream;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.upstreams.splice(0).map((u) => u.stop()));
  }
}

export function textOf(result: ToolResult): string {
  const first = result.content[0] as { type?: string; text?: string } | undefined;
  if (first?.type !== 'text' || first.text === undefined) {
    throw new Error(`expected text content, got ${JSON.stringify(result.content)}`);
  }
  return first.text;
}

/** The UpstreamError a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    return error as UpstreamError;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** Whether a process exists and is not a zombie (pid 1 here may not reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lets the continuations of settled promises run: a few turns of the event loop. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves `clock` on by `ms` one due timer at a time, letting what each timer started (promise
 * continuations, which may set the next timer) run before the next one is due: ManualClock's
 * own advance() runs them all in one synchronous sweep. For code whose steps are promises that
 * settle without I/O; waits on a child or a socket still need waitUntil.
 */
export async function advance(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await settle();
  for (let at = clock.nextAt; at !== undefined && at <= target; at = clock.nextAt) {
    clock.advance(at - clock.now());
    await settle();
  }
  clock.advance(target - clock.now());
  await settle();
}

/** Resolves once `clock` has a timer due exactly `ms` from now (what a step waits for). */
export function timerDueIn(clock: ManualClock, ms: number, what: string): Promise<void> {
  return waitUntil(() => clock.nextAt === clock.now() + ms, { what });
}

/**
 * Records every timer set through the global setTimeout until `restore()`; `pending()` lists
 * those neither fired nor cleared. Unref'd timers are invisible to getActiveResourcesInfo, so
 * this is how a test sees that a stopped upstream left none behind.
 */
export function trackTimers(): { pending(): string[]; restore(): void } {
  const live = new Map<NodeJS.Timeout, string>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const where = new Error().stack?.split('\n')[2]?.trim() ?? '?';
    const handle = realSet(
      (...a: unknown[]) => {
        live.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    live.set(handle, `${ms} ms ${where}`);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle: NodeJS.Timeout | undefined) => {
    if (handle !== undefined) live.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout;
  return {
    pending: () => [...live.values()],
    restore: () => {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}
