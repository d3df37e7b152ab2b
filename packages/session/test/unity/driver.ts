/**
 * The C# session client in a process of its own (Driver.cs), driven line by line, and a real
 * SessionServer that records what it sees: the pieces of the Mono integration tests.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { MemorySessionStore, SessionServer } from '../../src/server/index.js';
import type {
  NewSessionInfo,
  Session,
  SessionServerOptions,
  SessionStore,
} from '../../src/server/index.js';
import { buildCore, compile, freshDir, NEWTONSOFT, spawnMono } from './csharp.js';

const DRIVER_SOURCE = fileURLToPath(new URL('./Driver.cs', import.meta.url));

let built: Promise<string> | undefined;

/** Builds the core and the driver once per test file; returns the driver's exe. */
export function buildDriver(): Promise<string> {
  built ??= (async () => {
    const dir = await freshDir('tether-driver-');
    const core = await buildCore(dir);
    const exe = join(dir, 'Driver.exe');
    await compile({
      out: exe,
      sources: [DRIVER_SOURCE],
      references: ['System.dll', 'System.Core.dll', NEWTONSOFT, core],
      target: 'exe',
    });
    return exe;
  })();
  return built;
}

export interface DriverEvent {
  event: string;
  [key: string]: unknown;
}

/** One C# client process: commands in, the app's view out. */
export class Driver {
  readonly events: DriverEvent[] = [];
  readonly stderr: string[] = [];
  private waiters: Array<{ test: (e: DriverEvent) => boolean; resolve: (e: DriverEvent) => void }> =
    [];
  private exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: DriverEvent;
      try {
        event = JSON.parse(line) as DriverEvent;
      } catch {
        this.stderr.push(`stdout: ${line}`);
        return;
      }
      this.events.push(event);
      for (const waiter of [...this.waiters])
        if (waiter.test(event)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(args: string[]): Promise<Driver> {
    const driver = new Driver(spawnMono(await buildDriver(), args));
    await driver.waitFor((e) => e.event === 'ready', 20_000, 'the driver to start');
    return driver;
  }

  /** The first event, past or future, that passes the test; rejects after `ms` saying what. */
  waitFor(test: (e: DriverEvent) => boolean, ms: number, what: string): Promise<DriverEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return this.next(test, ms, what);
  }

  /** The next event from now on that passes the test. */
  next(test: (e: DriverEvent) => boolean, ms: number, what: string): Promise<DriverEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        const tail = this.events.slice(-12).map((e) => JSON.stringify(e));
        reject(
          new Error(
            `waited ${ms} ms for ${what}; last events:\n${tail.join('\n')}\nstderr:\n${this.stderr.slice(-10).join('\n')}`,
          ),
        );
      }, ms);
      const done = (e: DriverEvent) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  /** Sends a command and waits for its `done` line. */
  async command(line: string, ms = 10_000): Promise<DriverEvent> {
    const name = line.split(' ')[0];
    const done = this.next((e) => e.event === 'done' && e.command === name, ms, `"${line}"`);
    this.child.stdin!.write(`${line}\n`);
    return done;
  }

  /** Message bodies the app was handed, in order. */
  messages(): unknown[] {
    return this.events.filter((e) => e.event === 'message').map((e) => e.body);
  }

  of(event: string): DriverEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** Ends the process: `exit` when it still answers, SIGKILL otherwise. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.stdin!.write('exit\n');
    const quit = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5_000)),
    ]);
    if (!quit) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  async killed(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface Conversation {
  conversationId: string;
  language: string;
}

/** A real SessionServer on port 0 that remembers everything the application layer sees. */
export async function startRecordingServer(
  options: SessionServerOptions<Conversation> & { port?: number; store?: SessionStore } = {},
) {
  const store = options.store ?? new MemorySessionStore();
  const record = {
    connections: 0,
    setups: [] as Array<NewSessionInfo<Conversation> & { id: string }>,
    resumes: [] as string[],
    /** What each session received, in order. */
    received: new Map<string, unknown[]>(),
    /** Welcomes and messages in the order the application saw them. */
    timeline: [] as string[],
  };
  let n = 0;
  const server = await SessionServer.listen<Conversation>({
    ...options,
    store,
    onNewSession: (session, info) => {
      n++;
      record.setups.push({ ...info, request: undefined, id: session.id });
      record.timeline.push(`new ${session.id}`);
      const context = info.context as { language?: string } | undefined;
      return { conversationId: `c${n}`, language: context?.language ?? 'en' };
    },
    onResume: (session) => {
      record.resumes.push(session.id);
      record.timeline.push(`resumed ${session.id}`);
    },
    onMessage: (session, body) => {
      const list = record.received.get(session.id) ?? [];
      list.push(body);
      record.received.set(session.id, list);
      record.timeline.push(`message ${session.id} ${JSON.stringify(body)}`);
    },
  });
  server.on('connection', () => record.connections++);
  const session = (id?: string): Session<Conversation> => {
    const found = id ? server.sessions.get(id) : [...server.sessions.values()][0];
    if (!found) throw new Error(`no session ${id ?? ''} on the server`);
    return found;
  };
  return {
    server,
    store,
    record,
    session,
    url: `ws://127.0.0.1:${server.port}/session`,
    port: server.port,
  };
}

/** Resolves after `ms` of wall time: for tests whose subject is real elapsed time (a 60 s pause). */
export const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
