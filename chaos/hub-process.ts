// One real hub as a child process (`tether start --config FILE --port 0`), so a fault can
// `kill -9` it and a restart finds the same TETHER_HOME (SQLite state, overlays, secret key).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenOf, commandLine } from './procs.js';

const tetherBin = fileURLToPath(new URL('../packages/hub/bin/tether.js', import.meta.url));

export interface HubProcessOptions {
  config: string;
  home: string;
  /** Folder for one log file per start (hub-1.log, hub-2.log, …). */
  logDir: string;
  /** Extra environment for the hub (and, through it, its children). */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export interface HubExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the run asked for it (kill -9, the final SIGTERM). */
  expected: boolean;
  /** `start`: before the API listened (a refused configuration exits with 2 here). */
  phase: 'start' | 'running';
  at: number;
}

/**
 * The hub's lifecycle as the chaos run drives it. `url` is the API of the running instance
 * (each start picks a new port); `undefined` while the hub is down or starting.
 */
export class HubProcess {
  url: string | undefined;
  starts = 0;
  kills = 0;
  readonly exits: HubExit[] = [];
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private expectExit = false;

  constructor(private readonly options: HubProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The hub died while running without being told to. */
  get crashes(): HubExit[] {
    return this.exits.filter((e) => !e.expected && e.phase === 'running');
  }

  async start(): Promise<string> {
    if (this.child) throw new Error('hub already running');
    this.starts++;
    const log = createWriteStream(join(this.options.logDir, `hub-${this.starts}.log`));
    this.log = log;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TETHER_HOME: this.options.home,
      TETHER_LOG_LEVEL: 'info',
      DATABASE_URL: '',
      REDIS_URL: '',
      MCP_ENDPOINT: '',
      ...this.options.env,
    };
    delete env.TETHER_ADMIN_TOKEN;
    delete env.TETHER_URL;
    const child = spawn(
      process.execPath,
      [tetherBin, 'start', '--config', this.options.config, '--port', '0'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.expectExit = false;
    let phase: HubExit['phase'] = 'start';
    child.stderr?.pipe(log, { end: false });
    child.once('exit', (code, signal) => {
      this.exits.push({ code, signal, expected: this.expectExit, phase, at: Date.now() });
      if (this.child === child) {
        this.child = undefined;
        this.url = undefined;
      }
      // Output may still be buffered in the pipes; the log closes once both have ended.
      let open = 2;
      const done = () => {
        if (--open === 0) log.end();
      };
      if (child.stdout?.readableEnded) done();
      else child.stdout?.once('close', done);
      if (child.stderr?.readableEnded) done();
      else child.stderr?.once('close', done);
    });

    const timeoutMs = this.options.startTimeoutMs ?? 20_000;
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      let settled = false;
      const finish = (error: Error | undefined, value?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(value!);
      };
      const timer = setTimeout(
        () => finish(new Error(`hub gave no API URL within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(new Error(`hub exited (${code ?? signal}) before listening`));
      child.once('exit', onExit);
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        log.write(chunk);
        if (settled) return;
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const found = apiUrl(line);
          if (found) return finish(undefined, found);
        }
      });
    });
    phase = 'running';
    if (this.child === child) this.url = url;
    return url;
  }

  /** The fake MCP servers the hub runs now: pid and the `--name` each was given. */
  upstreams(): Array<{ pid: number; name: string }> {
    const pid = this.child?.pid;
    if (pid === undefined) return [];
    return childrenOf(pid).flatMap((child) => {
      const args = commandLine(child);
      const at = args.indexOf('--name');
      const name = at >= 0 ? args[at + 1] : undefined;
      return name === undefined ? [] : [{ pid: child, name }];
    });
  }

  /** `kill -9`: no shutdown, no closes; sockets die with the process. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.kills++;
    this.expectExit = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (graceful: sockets closed with 1001, children reaped), SIGKILL after `graceMs`. */
  async stop(graceMs = 8_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectExit = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** pino's JSON line `{"msg":"API listening on http://…","url":"http://…"}`, or a pretty one. */
function apiUrl(line: string): string | undefined {
  try {
    const record = JSON.parse(line) as { url?: unknown; msg?: unknown };
    if (typeof record.msg === 'string' && record.msg.startsWith('API listening on'))
      return typeof record.url === 'string' ? record.url : record.msg.split(' ').at(-1);
  } catch {
    const match = /API listening on (http:\/\/\S+)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}
