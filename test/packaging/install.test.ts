import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  brokenSourceMaps,
  manifestProblems,
  readManifest,
  tarballProblems,
  undeclaredImports,
} from './manifest.js';
import type { Packed } from './manifest.js';
import { launch, run, runAllowingFailure, stop, waitFor } from './processes.js';
import type { Launched } from './processes.js';

/**
 * Installs Tether as a user would without the repository (issue #16): `npm pack` of every
 * workspace, then `npm install -g --prefix` of the tarballs into an empty folder, then the
 * installed `tether` run from an empty folder with an environment that cannot see the
 * workspace. It packs what `npm test`'s pretest built (tsc -b and the dashboard) and builds
 * nothing itself.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const workspaces = (readManifest(root) as { workspaces?: string[] }).workspaces ?? [];

// The install compiles better-sqlite3 with node-gyp: its prebuilt binaries are downloaded from
// outside the npm registry, which this machine and CI cannot reach. That alone takes about
// 90 s on an idle 2-core machine, and up to three minutes beside the other test files at a
// lower priority (below), hence 6 minutes.
const INSTALL_MS = 360_000;
const STEP_MS = 60_000;

/** PATH less the entries that would let a command find the workspace's packages or binaries. */
const outsidePath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((entry) => entry !== '' && !entry.includes('node_modules') && !entry.startsWith(root));

/**
 * npm's environment: the user's npm configuration (cache, registry, certificates) stays; what
 * `npm test` itself adds (the workspace's prefix, package and lifecycle variables, its .bin
 * folders on PATH) goes, as do NODE_PATH and NODE_OPTIONS.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_package_|npm_lifecycle_|VITEST)/.test(key)) continue;
    if (/^npm_config_(local_prefix|prefix|global_prefix)$/.test(key)) continue;
    if (['INIT_CWD', 'NODE_PATH', 'NODE_OPTIONS', 'NODE_ENV', 'TEST'].includes(key)) continue;
    env[key] = value;
  }
  env.PATH = [dirname(process.execPath), ...outsidePath].join(delimiter);
  return env;
}

let tmp: string;
let prefix: string;
let cwd: string;
let tetherEnv: NodeJS.ProcessEnv;
let packed: Packed[] = [];
let installMs = 0;
const running = new Set<Launched>();

/** The installed packages' folder (the layout of `npm install -g --prefix` on Linux and macOS). */
const installed = (name: string) => join(prefix, 'lib', 'node_modules', name);
const tether = () => join(prefix, 'bin', 'tether');

function start(args: string[]): Launched {
  const child = launch(tether(), args, { cwd, env: tetherEnv });
  running.add(child);
  const forget = () => void running.delete(child);
  child.exited.then(forget, forget);
  return child;
}

beforeAll(async () => {
  // Built by pretest; without it the tarballs would be empty shells, so say so plainly.
  for (const built of ['packages/hub/dist/cli/main.js', 'packages/dashboard/dist/index.html'])
    if (!existsSync(join(root, built)))
      throw new Error(`${built} is missing: run \`npm run build\` (npm test's pretest does)`);

  tmp = mkdtempSync(join(tmpdir(), 'tether-install-'));
  prefix = join(tmp, 'prefix');
  cwd = join(tmp, 'cwd');
  const tarballs = join(tmp, 'tarballs');
  const home = join(tmp, 'home');
  for (const dir of [prefix, cwd, tarballs, home]) mkdirSync(dir);
  // Nothing of the workspace or of the test's own environment: a home of its own (the demo's
  // SQLite file goes under TETHER_HOME), no DATABASE_URL or REDIS_URL, no NODE_PATH.
  tetherEnv = {
    PATH: [join(prefix, 'bin'), dirname(process.execPath), ...outsidePath].join(delimiter),
    HOME: home,
    TETHER_HOME: join(home, '.tether'),
    LANG: 'C.UTF-8',
    TMPDIR: tmp,
  };

  // Every workspace is a package a user installs (the hub's dependencies, or the hub); a private
  // one would fail the manifest check below rather than be left out here.
  const pack = await run(
    'npm',
    [
      'pack',
      '--json',
      '--pack-destination',
      tarballs,
      ...workspaces.flatMap((dir) => ['--workspace', dir]),
    ],
    { cwd: root, env: npmEnv(), timeoutMs: STEP_MS },
  );
  packed = JSON.parse(pack.stdout) as Packed[];

  // All tarballs in one command: the @tether/* packages depend on each other at their exact
  // versions, which the registry does not have, so npm must take them from these tarballs.
  // At a lower priority (nice 10), so that the compiler does not take the CPU from the
  // timing-bound tests that run beside this file.
  const began = Date.now();
  await run(
    'nice',
    [
      '-n',
      '10',
      'npm',
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel',
      'error',
      ...packed.map((p) => join(tarballs, p.filename)),
    ],
    { cwd, env: npmEnv(), timeoutMs: INSTALL_MS - 30_000 },
  );
  installMs = Date.now() - began;
}, INSTALL_MS);

afterAll(async () => {
  await Promise.all([...running].map((child) => stop(child, 5_000)));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 30_000);

describe('installing the packed workspaces with npm install -g', () => {
  it('packs every workspace but the root, each publishable as it is', () => {
    expect(readManifest(root).private).toBe(true);
    expect(packed.map((p) => p.name).sort()).toEqual(
      workspaces.map((dir) => readManifest(join(root, dir)).name).sort(),
    );
    const problems = packed.flatMap((p) => {
      const dir = installed(p.name);
      return [
        ...tarballProblems(p, readManifest(dir)),
        ...manifestProblems(dir),
        ...brokenSourceMaps(dir),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('takes every @tether package from the tarballs, and each declares what its code imports', () => {
    console.log(`npm install -g of ${packed.length} tarballs took ${installMs} ms`);
    for (const p of packed) {
      expect(readManifest(installed(p.name)).version).toBe(p.version);
      // A copy of one nested under another would be a second download (from the registry).
      expect(existsSync(join(installed(p.name), 'node_modules', '@tether'))).toBe(false);
    }
    expect(packed.flatMap((p) => undeclaredImports(installed(p.name)))).toEqual([]);
  });

  it('runs `tether --version` from an empty folder: the hub package version', async () => {
    const { stdout } = await run(tether(), ['--version'], {
      cwd,
      env: tetherEnv,
      timeoutMs: STEP_MS,
    });
    expect(stdout.trim()).toBe(readManifest(join(root, 'packages/hub')).version);
  });

  it(
    'runs `tether start --demo` until its endpoint is ready, serves the dashboard, stops on SIGTERM',
    async () => {
      const hub = start(['start', '--demo', '--port', '0']);
      const output = () => `${hub.stdout()}\n${hub.stderr()}`;
      // The log line says where the API listens (JSON lines when not on a terminal).
      const api = await waitFor(
        'the API to listen',
        30_000,
        () => /API listening on (http:\/\/[^\s"]+)/.exec(output())?.[1],
        output,
      );
      const endpoint = await waitFor(
        'an endpoint to be ready',
        30_000,
        async () => {
          const endpoints = (await (await fetch(`${api}/api/endpoints`)).json()) as Array<{
            name: string;
            state: string;
          }>;
          return endpoints.find((e) => e.state === 'ready');
        },
        output,
      );
      expect(endpoint.name).toBe('demo-device');

      // The dashboard comes from the installed @tether/dashboard, not from a workspace path.
      const page = await fetch(`${api}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app">');
      expect((await fetch(`${api}/app.js`)).status).toBe(200);

      expect(await stop(hub)).toBe(0);
    },
    STEP_MS,
  );

  it(
    'runs `tether sim`, and `tether doctor` finds the simulated endpoint working',
    async () => {
      const sim = start(['sim', '--port', '0']);
      const url = await waitFor(
        'the simulator to listen',
        30_000,
        () => /provider URL: (ws:\/\/\S+)/.exec(sim.stdout())?.[1],
        () => `${sim.stdout()}\n${sim.stderr()}`,
      );
      const doctor = await runAllowingFailure(tether(), ['doctor', url, '--json'], {
        cwd,
        env: tetherEnv,
        timeoutMs: 30_000,
      });
      expect(doctor.stderr).toBe('');
      expect(JSON.parse(doctor.stdout)).toMatchObject({ ok: true });
      expect(doctor.code).toBe(0);
      expect(await stop(sim)).toBe(0);
    },
    STEP_MS,
  );
});
