/**
 * Compiles and runs the Unity client's C# under Mono, for the vitest suites of clients/unity.
 *
 * Mono's `mcs` stops at C# 7.2, a subset of Unity's 7.3, so whatever compiles here compiles in
 * Unity too. Every output goes where the caller says or to a fresh temp directory: the suites
 * compile in parallel (vitest forks), and nothing may share a file between them.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NEWTONSOFT =
  '/usr/lib/mono/gac/Newtonsoft.Json/6.0.0.0__b9a188c8922137c6/Newtonsoft.Json.dll';
export const NUNIT =
  '/usr/lib/mono/gac/nunit.framework/2.6.4.0__96d09a1eb7f44a77/nunit.framework.dll';

/** The repository's clients/unity folder. */
export const UNITY_PACKAGE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../clients/unity',
);

const INSTALL =
  'apt-get install -y mono-devel nunit-console libnunit-cil-dev libnewtonsoft-json-cil-dev';

/**
 * Warnings that are not errors here. Empty on purpose: the core and its tests compile clean,
 * and a warning in Unity's console is a bug report waiting to happen. Add a code only with the
 * reason next to it.
 */
const NOWARN: string[] = [];

let installed: boolean | undefined;

function onPath(command: string): boolean {
  const probe = spawnSync(command, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  return !probe.error && probe.status === 0;
}

/**
 * True when mcs, mono and Newtonsoft.Json are installed. Without them a test can skip (the
 * caller gives the reason), except under CI=true, where a missing Mono must fail the run: CI
 * never skips these tests silently.
 */
export function requireMono(env: NodeJS.ProcessEnv = process.env): boolean {
  installed ??= onPath('mcs') && onPath('mono') && existsSync(NEWTONSOFT);
  if (installed) return true;
  if (env.CI === 'true' || env.CI === '1') {
    throw new Error(`Mono (mcs, mono, Newtonsoft.Json) is required when CI=true: ${INSTALL}`);
  }
  return false;
}

/** A new empty directory under the system temp directory. */
export function freshDir(prefix = 'tether-cs-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface CompileOptions {
  out: string;
  /** Files, or directories searched recursively for *.cs. */
  sources: string[];
  references?: string[];
  target: 'library' | 'exe';
  defines?: string[];
}

/** Every .cs file under the sources, sorted so builds are reproducible. */
async function expand(sources: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const source of sources) {
    if ((await stat(source)).isDirectory()) {
      const entries = await readdir(source, { recursive: true, withFileTypes: true });
      for (const entry of entries) {
        if (entry.isFile() && entry.name.endsWith('.cs'))
          files.push(join(entry.parentPath, entry.name));
      }
    } else files.push(source);
  }
  return [...new Set(files.map((f) => resolve(f)))].sort();
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    timer.unref();
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`${command} could not start (${error.message}); ${INSTALL}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, output, timedOut });
    });
  });
}

/** mcs at C# 7.2 with warnings as errors; rejects with the compiler's output. */
export async function compile(options: CompileOptions): Promise<void> {
  const files = await expand(options.sources);
  if (files.length === 0) throw new Error(`no C# sources in ${options.sources.join(', ')}`);
  await mkdir(dirname(options.out), { recursive: true });
  const args = [
    '-langversion:7.2',
    '-warnaserror+',
    '-debug',
    '-nologo',
    `-target:${options.target}`,
    `-out:${options.out}`,
    ...(NOWARN.length > 0 ? [`-nowarn:${NOWARN.join(',')}`] : []),
    ...(options.defines?.length ? [`-define:${options.defines.join(';')}`] : []),
    ...(options.references ?? []).map((r) => `-r:${r}`),
    ...files,
  ];
  const result = await run('mcs', args, { timeoutMs: 120_000 });
  if (result.code !== 0 || result.timedOut) {
    const why = result.timedOut ? 'timed out' : `exit ${result.code ?? result.signal}`;
    throw new Error(`mcs ${why} building ${basename(options.out)}:\n${result.output.trim()}`);
  }
}

/** Compiles clients/unity/Runtime/Core into <outDir>/Tether.Session.dll, Newtonsoft beside it. */
export async function buildCore(outDir: string): Promise<string> {
  const out = join(outDir, 'Tether.Session.dll');
  await compile({
    out,
    sources: [join(UNITY_PACKAGE, 'Runtime/Core')],
    references: ['System.dll', 'System.Core.dll', NEWTONSOFT],
    target: 'library',
  });
  await copyFile(NEWTONSOFT, join(outDir, 'Newtonsoft.Json.dll'));
  return out;
}

export interface NUnitResult {
  total: number;
  passed: number;
  failed: number;
  ignored: number;
  failures: string[];
}

/** The attributes of the first `<name ...>` start tag in the text, or undefined. */
function startTag(xml: string, name: string): Record<string, string> | undefined {
  const at = xml.indexOf(`<${name} `);
  if (at < 0) return undefined;
  const end = xml.indexOf('>', at);
  return attributes(xml.slice(at + name.length + 2, end));
}

function attributes(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [, key, value] of text.matchAll(/([\w:-]+)="([^"]*)"/g))
    found[key!] = unescape(value!);
  return found;
}

function unescape(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The text of the first `<name>` element's CDATA (or plain text) in a fragment. */
function inner(fragment: string, name: string): string {
  const open = fragment.indexOf(`<${name}>`);
  if (open < 0) return '';
  const close = fragment.indexOf(`</${name}>`, open);
  const body = fragment.slice(open + name.length + 2, close < 0 ? undefined : close).trim();
  const cdata = /^<!\[CDATA\[([\s\S]*)\]\]>$/.exec(body);
  return cdata ? cdata[1]! : unescape(body);
}

/**
 * Reads nunit-console 2.6's result file, test case by test case: `total` is every test the
 * runner found (its own `total` leaves out those not run), `ignored` those it did not run
 * (ignored, skipped, inconclusive), and `failed` the rest that did not pass, with a not-runnable
 * test (a bad signature) among them, since it is a test that silently does nothing.
 */
export function parseNUnitXml(xml: string): NUnitResult {
  if (!startTag(xml, 'test-results'))
    throw new Error('not an NUnit 2 result file (no <test-results>)');
  const result: NUnitResult = { total: 0, passed: 0, failed: 0, ignored: 0, failures: [] };
  let from = 0;
  for (;;) {
    const at = xml.indexOf('<test-case ', from);
    if (at < 0) break;
    const tagEnd = xml.indexOf('>', at);
    const selfClosing = xml[tagEnd - 1] === '/';
    const end = selfClosing ? tagEnd + 1 : xml.indexOf('</test-case>', tagEnd);
    const tag = attributes(xml.slice(at, tagEnd));
    const body = selfClosing ? '' : xml.slice(tagEnd + 1, end < 0 ? undefined : end);
    from = end < 0 ? xml.length : end + 1;
    result.total++;
    const outcome = tag.result ?? 'unknown';
    if (tag.success === 'True') result.passed++;
    else if (outcome === 'Ignored' || outcome === 'Skipped' || outcome === 'Inconclusive')
      result.ignored++;
    else {
      result.failed++;
      // NUnit's and reflection's frames say nothing about the test; keep the test's own.
      const stack = inner(body, 'stack-trace')
        .split('\n')
        .filter((line) => !/\(wrapper |System\.Reflection\.|NUnit\.Framework\./.test(line))
        .slice(0, 8)
        .join('\n');
      result.failures.push(
        `${tag.name}: ${outcome}: ${inner(body, 'message').trim()}\n${stack}`.trim(),
      );
    }
  }
  return result;
}

/**
 * Runs nunit-console on a test dll (in one process, no shadow copy, the result XML in a fresh
 * temp directory) and returns the counts and the failure messages. Bounded by `timeoutMs`:
 * a hung test kills the runner and rejects with what it printed.
 */
export async function runNUnit(
  dll: string,
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<NUnitResult> {
  if (!existsSync(NUNIT)) throw new Error(`NUnit 2.6.4 is not installed: ${INSTALL}`);
  const dir = await freshDir('tether-nunit-');
  try {
    const xml = join(dir, 'result.xml');
    const args = [resolve(dll), '-nologo', '-noshadow', '-nodots', `-xml=${xml}`, `-work=${dir}`];
    const result = await run('nunit-console', args, {
      cwd: dir,
      // --debug: file and line numbers in the stack traces of failures.
      env: { ...process.env, ...monoPath(dll), MONO_ENV_OPTIONS: '--debug', ...options.env },
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    if (result.timedOut)
      throw new Error(
        `nunit-console timed out after ${options.timeoutMs ?? 60_000} ms:\n${result.output}`,
      );
    if (!existsSync(xml))
      throw new Error(`nunit-console wrote no result (exit ${result.code}):\n${result.output}`);
    return parseNUnitXml(await readFile(xml, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** MONO_PATH with the exe's own folder and Newtonsoft's, so references resolve anywhere. */
function monoPath(exe: string): Record<string, string> {
  const paths = [dirname(resolve(exe)), dirname(NEWTONSOFT), process.env.MONO_PATH];
  return { MONO_PATH: paths.filter(Boolean).join(':') };
}

/**
 * Runs `mono --debug exe args` (line numbers in stack traces) with MONO_PATH set so Newtonsoft
 * resolves. The child is the caller's: its stdin and stdout carry line protocols, and the
 * caller ends it (stdin end, then signals).
 */
export function spawnMono(
  exe: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): ChildProcess {
  return spawn('mono', ['--debug', exe, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...monoPath(exe), ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
