// Start-up benchmark (issue #13): from spawning `tether start` (one endpoint, one stdio server) to
// the endpoint's first handshake done (initialize and tools/list answered), against a baseline in
// the same run: bench/bridge.mjs, the least any Node bridge can do (spawn the server, dial with
// ws, answer initialize and tools/list itself). Also the CPU each used until then, and the
// resident memory of both once idle. Alone: `npx tsc -b && npx tsx bench/run.ts start`.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EndpointSimulator, fakeStdioServerParams } from '@tether/testkit';
import { cpuOf, percentile, rssOf, sleep } from './lib.js';
import type { Row } from './lib.js';

const tetherBin = fileURLToPath(new URL('../packages/hub/bin/tether.js', import.meta.url));
const bridge = fileURLToPath(new URL('./bridge.mjs', import.meta.url));

interface Launch {
  /** Spawn → the simulator's handshake done (initialize and tools/list answered). */
  ms: number;
  /**
   * CPU time the process (its own, not its children's) had used by then: less at the mercy of
   * a busy machine than the wall time, at the kernel's 10 ms resolution.
   */
  cpuMs: number;
  /** Resident memory after `idleMs` idle. */
  rss?: number;
  tools: number;
}

/** Which process to start against `url`, with `dir` its own fresh home. */
type Command = (url: string, dir: string) => { args: string[]; env?: NodeJS.ProcessEnv };

/** `tether start` of the built hub at `bin` (default: this checkout's). */
export const tetherAt =
  (bin = tetherBin): Command =>
  (url, dir) => {
    const file = join(dir, 'tether.config.json');
    const server = fakeStdioServerParams();
    writeFileSync(
      file,
      JSON.stringify({
        endpoints: [{ name: 'e0', url }],
        mcpServers: { fake: { command: server.command, args: server.args } },
      }),
    );
    return {
      args: [bin, 'start', '--config', file, '--port', '0'],
      // A fresh home: never ~/.tether or a shared database.
      env: {
        TETHER_LOG_LEVEL: 'warn',
        TETHER_HOME: dir,
        DATABASE_URL: '',
        REDIS_URL: '',
      },
    };
  };

export const tether = tetherAt();

export const baseline: Command = (url) => {
  const server = fakeStdioServerParams();
  return { args: [bridge, url, server.command, ...server.args] };
};

/** One start: spawn, wait for the handshake, optionally sit idle and read the RSS, stop. */
export async function launch(
  command: Command,
  idleMs = 0,
  extraArgs: string[] = [],
): Promise<Launch> {
  const sim = await EndpointSimulator.start({ maxFrames: 1_000 });
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-start-'));
  const { args, env } = command(sim.url('test-token'), dir);
  let child: ChildProcess | undefined;
  try {
    const started = performance.now();
    child = spawn(process.execPath, [...extraArgs, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      cwd: dir,
      env: { ...process.env, ...env },
    });
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code, signal) =>
        reject(new Error(`bench: ${args[0]} exited (${code ?? signal}) before the handshake`)),
      ),
    );
    exited.catch(() => {}); // once stopped below, its exit is no longer news
    const ready = await Promise.race([sim.waitForReady({ timeoutMs: 20_000 }), exited]);
    const ms = performance.now() - started;
    const cpuMs = cpuOf(child.pid!);
    let rss: number | undefined;
    if (idleMs > 0) {
      await sleep(idleMs);
      rss = rssOf(child.pid!);
    }
    return { ms, cpuMs, tools: ready.tools.length, ...(rss !== undefined ? { rss } : {}) };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MB`;
const median = (xs: number[]) => percentile(xs, 50);

/**
 * `runs` starts of each, interleaved (tether, bridge, tether, …) so that a busy moment of a shared
 * machine falls on both; the last start of each also sits idle for `idleMs` and gives its RSS.
 */
export async function startBench(runs = 5, idleMs = 5_000): Promise<Row[]> {
  // One start of each first, not counted: the file system cache is then warm for both.
  await launch(tether);
  await launch(baseline);
  const t: Launch[] = [];
  const b: Launch[] = [];
  for (let i = 0; i < runs; i++) {
    const idle = i === runs - 1 ? idleMs : 0;
    t.push(await launch(tether, idle));
    b.push(await launch(baseline, idle));
  }
  // A first tools/list answered before the server was up would look like a faster start.
  const served = Math.min(...b.map((x) => x.tools));
  if (t.some((x) => x.tools < served))
    throw new Error(`bench: tether's first handshake listed fewer tools than the bridge's`);
  const ms = (xs: Launch[]) => median(xs.map((x) => x.ms));
  const cpu = (xs: Launch[]) => median(xs.map((x) => x.cpuMs));
  const list = (xs: Launch[]) => xs.map((x) => x.ms.toFixed(0)).join(', ');
  return [
    {
      what: `start: spawn → first endpoint handshake done (initialize and tools/list answered), \`tether start\` with one endpoint and one stdio server, median of ${runs}; against a minimal Node bridge (bench/bridge.mjs: spawns the server, dials with ws, answers the handshake itself) in the same run`,
      result:
        `${ms(t).toFixed(0)} ms (${list(t)}; CPU ${cpu(t)} ms); ` +
        `bridge ${ms(b).toFixed(0)} ms (${list(b)}; CPU ${cpu(b)} ms): +${(ms(t) - ms(b)).toFixed(0)} ms`,
      target: '≤ 250 ms',
      met: ms(t) <= 250,
    },
    {
      // The main table's idle RSS is hub-memory's; this one is for the Start-up section.
      what: `start: resident memory ${idleMs / 1000} s after the handshake, same processes`,
      result: `${mb(t.at(-1)!.rss!)}; bridge ${mb(b.at(-1)!.rss!)}`,
      target: '≤ 50 MB',
      met: t.at(-1)!.rss! <= 50 * 2 ** 20,
      detail: true,
    },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await startBench(Number(process.argv[2] ?? 5))) console.log(row.result);
  process.exit(0);
}
