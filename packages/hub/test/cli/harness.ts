import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import type { CliContext, RunResult } from '../../src/cli/context.js';
import { registerChangeCommands } from '../../src/cli/register.js';
import { startHub } from '../../src/cli/start.js';
import type { RunningHub } from '../../src/cli/start.js';
import { silentLogger } from '../../src/log/logger.js';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TetherOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  platform?: NodeJS.Platform;
  home?: string;
  uid?: number;
  run?: (command: string, args: readonly string[]) => Promise<RunResult>;
  /** The `tether` launcher's path, as `tether service install` writes it into the unit. */
  bin?: string;
}

/**
 * `tether ARGS…` in this process: the commands as main.ts registers them, with a context of the
 * test's own (environment, folder, HOME, platform, command runner) and the output collected.
 * The environment starts empty, so the developer's TETHER_URL or token never decides a test.
 */
export async function tether(args: string[], options: TetherOptions = {}): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const ctx: CliContext = {
    env: options.env ?? {},
    cwd: options.cwd ?? tmpdir(),
    out: (text) => void out.push(text),
    err: (text) => void err.push(text),
    colour: false,
    exit: (c) => void (code = c),
    platform: options.platform ?? 'linux',
    home: options.home ?? mkdtempSync(join(tmpdir(), 'tether-cli-home-')),
    uid: options.uid ?? 501,
    run: options.run ?? (() => Promise.reject(new Error('this test runs no programs'))),
    node: '/opt/node/bin/node',
    bin: options.bin ?? '/opt/tether/packages/hub/bin/tether.js',
  };
  const program = new Command()
    .name('tether')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  registerChangeCommands(program, () => ctx);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    code = error.exitCode;
  }
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The error a command printed with --json. */
export function jsonError(outcome: Outcome): { code: string; message: string } {
  return (JSON.parse(outcome.stderr) as { error: { code: string; message: string } }).error;
}

export interface TestHub {
  running: RunningHub;
  url: string;
  sim: EndpointSimulator;
  /** The hub's config file, and its folder (where `tether config` finds it by default). */
  file: string;
  dir: string;
  stop(): Promise<void>;
}

export const LIVING_ROOM_TOKEN = 'living-room-token-4f1b9c2e';

/**
 * `tether start` as a user runs it, on port 0 with its state in a fresh folder: one endpoint
 * (living-room, on a simulator) and one server (fake) from its file, an admin token when asked.
 */
export async function startTestHub(options: { adminToken?: string } = {}): Promise<TestHub> {
  const sim = await EndpointSimulator.start();
  const dir = mkdtempSync(join(tmpdir(), 'tether-cli-hub-'));
  const file = join(dir, 'tether.config.json');
  const { command, args } = fakeStdioServerParams();
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        endpoints: [{ name: 'living-room', url: sim.url(LIVING_ROOM_TOKEN) }],
        mcpServers: { fake: { command, args } },
        // A tool switched off reaches the endpoint after this quiet time (a reconnect).
        hub: { toolChangeDebounceMs: 50 },
      },
      null,
      2,
    )}\n`,
  );
  const running = await startHub({
    config: file,
    port: 0,
    logger: silentLogger(),
    env: {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL: '',
      MCP_ENDPOINT: '',
      TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-cli-state-')),
      // Empty counts as unset: the developer's own token never protects the open hub.
      TETHER_ADMIN_TOKEN: options.adminToken ?? '',
    },
  });
  await sim.waitForReady({ token: LIVING_ROOM_TOKEN, timeoutMs: 10_000 });
  await waitUntil(() => running.hub.tools().some((t) => t.name === 'fake__add'), {
    timeoutMs: 10_000,
    what: 'the fake server to be ready',
  });
  return {
    running,
    url: running.api.url,
    sim,
    file,
    dir,
    async stop() {
      await running.stop();
      await sim.close();
    },
  };
}
