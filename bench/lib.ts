import { fork, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ephemeralLow } from '../packages/hub/test/cluster/harness.js';

/** One row of the main table of docs/benchmarks.md. */
export interface Row {
  what: string;
  result: string;
  /** The target, in words ('none' when there is none). */
  target: string;
  /** Whether the result meets the target; undefined when there is no target to meet. */
  met: boolean | undefined;
  /**
   * Printed by the run but kept out of the main table: a detail the scenario's own section of
   * docs/benchmarks.md shows (the storm's other harnesses, the start-up's memory).
   */
  detail?: true;
}

export interface SimProcess {
  child: ChildProcess;
  port: number;
  /** When the simulator listened (Date.now() in the child: the same clock as this process's). */
  listeningAt: number;
  request<T>(command: object, reply: string): Promise<T>;
  kill(): Promise<void>;
}

/** The endpoint simulator in a child process (bench/sim-process.ts), on `port` (0: any). */
export async function startSimProcess(port = 0): Promise<SimProcess> {
  const child = fork(fileURLToPath(new URL('./sim-process.ts', import.meta.url)), {
    env: { ...process.env, SIM_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const first = await Promise.race([
    once(child, 'message') as Promise<[{ type: string; port: number; at: number; code?: string }]>,
    once(child, 'exit').then(([code, signal]) => {
      throw new Error(`bench: the simulator exited (${code ?? signal}) before it listened`);
    }),
  ]);
  const [message] = first;
  if (message.type === 'error') {
    await once(child, 'exit');
    throw Object.assign(new Error(`bench: the simulator could not listen: ${message.code}`), {
      code: message.code,
    });
  }
  return {
    child,
    port: message.port,
    listeningAt: message.at,
    request<T>(command: object, reply: string): Promise<T> {
      return new Promise((resolve) => {
        const onMessage = (m: { type: string }) => {
          if (m.type !== reply) return;
          child.off('message', onMessage);
          resolve(m as T);
        };
        child.on('message', onMessage);
        child.send(command);
      });
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

/**
 * The simulator on a port below the kernel's ephemeral range. While it is away, thousands of
 * reconnecting clients each take an ephemeral source port; one of them handed the simulator's
 * own port would connect to itself (TCP simultaneous open) and hold the port, and the
 * simulator could not come back on it.
 */
export async function startSimProcessBelowEphemeral(): Promise<SimProcess> {
  const low = ephemeralLow();
  for (let attempt = 0; ; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
    try {
      return await startSimProcess(port);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
    }
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export const median = (values: number[]) => percentile(values, 50);

export function summary(values: number[]): { n: number; p50: number; p99: number; max: number } {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: Math.max(...values),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------------------
// What /proc and the OS say

/** Resident memory (VmRSS) of a process, in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** CPU time (user + system) a process has used itself, not its children, in ms (10 ms ticks). */
export function cpuOf(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name: utime and stime in ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The 1, 5 and 15 minute load averages, as "1.2 / 0.8 / 0.4". */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
}

/**
 * Which code was measured: the commit, and whether the packages' sources differ from it (on a
 * working tree others edit at the same time, the build holds their unfinished changes too).
 */
export function buildOf(dir = fileURLToPath(new URL('..', import.meta.url))): string {
  const git = (...args: string[]) =>
    spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD');
  if (!commit) return 'build of no known commit';
  const changed = new Set(
    git('status', '--porcelain', '--', ':(glob)packages/*/src/**')
      .split('\n')
      .filter(Boolean)
      .map((line) => /packages\/[^/]+\/src/.exec(line)?.[0]),
  );
  changed.delete(undefined);
  return changed.size
    ? `build of ${commit} with uncommitted changes in ${[...changed].join(', ')}`
    : `build of ${commit}`;
}
