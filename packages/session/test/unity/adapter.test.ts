/**
 * The Unity-specific half of clients/unity, without a Unity Editor: Runtime/Unity and the
 * samples compiled against the UnityEngine stub (clients/unity/Stubs~), once as a desktop or
 * mobile build and once as WebGL; then the adapter driven the way the player drives it — Awake,
 * Start, Update, OnApplicationPause/Focus/Quit, OnDestroy called by a small C# program on its
 * own main thread (PROGRAM below) — against a real SessionServer on loopback. The stub's
 * PlayerPrefs throws off the main thread, as Unity's does, so a store that touched it from the
 * client's threads would fail here.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startConversationServer } from '../../../../examples/conversation/app.mjs';
import { SessionServer } from '../../src/server/index.js';
import type { SessionStatus } from '../../src/server/index.js';
import { settle } from '../helpers.js';
import {
  NEWTONSOFT,
  UNITY_PACKAGE,
  buildCore,
  compile,
  freshDir,
  requireMono,
  spawnMono,
} from './csharp.js';

const mono = requireMono();
const STUB = join(UNITY_PACKAGE, 'Stubs~/UnityEngine.cs');
const ADAPTER = join(UNITY_PACKAGE, 'Runtime/Unity');
const SAMPLE = join(UNITY_PACKAGE, 'Samples~/Conversation');
const CONSOLE = join(UNITY_PACKAGE, 'Samples~/Console');
const SYSTEM = ['System.dll', 'System.Core.dll', NEWTONSOFT];

let dir: string;
let core: string;
let engine: string;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The core and the stub, built once: every compile below references them. */
beforeAll(async () => {
  if (!mono) return;
  dir = await freshDir('tether-unity-adapter-');
  core = await buildCore(dir);
  engine = join(dir, 'UnityEngine.dll');
  await compile({ out: engine, sources: [STUB], references: SYSTEM, target: 'library' });
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runtime/Unity as Unity builds it (its own assembly), then the sample against it. */
async function buildAdapter(out: string, defines: string[] = []) {
  const adapter = join(out, 'Tether.Session.Unity.dll');
  const references = [...SYSTEM, core, engine];
  await compile({ out: adapter, sources: [ADAPTER], references, target: 'library', defines });
  const sample = join(out, 'Tether.Session.Samples.dll');
  await compile({
    out: sample,
    sources: [SAMPLE],
    references: [...references, adapter],
    target: 'library',
    defines,
  });
}

let program: Promise<string> | undefined;

/**
 * PROGRAM and Runtime/Unity in one exe, so it can reach the WebGL client's internal bridge
 * seam; the core and the stub beside it as their own assemblies.
 */
function buildProgram(): Promise<string> {
  program ??= (async () => {
    const source = join(dir, 'AdapterProgram.cs');
    await writeFile(source, PROGRAM);
    const exe = join(dir, 'AdapterProgram.exe');
    await compile({
      out: exe,
      sources: [ADAPTER, source],
      references: [...SYSTEM, core, engine],
      target: 'exe',
    });
    return exe;
  })();
  return program;
}

interface Line {
  event: string;
  [key: string]: unknown;
}

/** One run of PROGRAM: JSON lines out, commands in; other lines (Debug.Log) kept as logs. */
class App {
  readonly lines: Line[] = [];
  readonly logs: string[] = [];
  private waiters: Array<{ test: (l: Line) => boolean; done: (l: Line) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        this.logs.push(text);
        return;
      }
      this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (!w.test(line)) continue;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.done(line);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.logs.push(text));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async launch(args: string[], env: Record<string, string> = {}): Promise<App> {
    const app = new App(spawnMono(await buildProgram(), args, { env }));
    cleanups.push(() => app.kill());
    return app;
  }

  /** The first line, seen or to come, that passes the test; bounded. */
  waitFor(test: (l: Line) => boolean, what: string, ms = 10_000): Promise<Line> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.done !== done);
        const tail = [
          ...this.lines.slice(-8).map((l) => JSON.stringify(l)),
          ...this.logs.slice(-12),
        ];
        reject(new Error(`waited ${ms} ms for ${what}; last output:\n${tail.join('\n')}`));
      }, ms);
      const done = (l: Line) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ test, done });
    });
  }

  /** A command for the main loop, and its answer. */
  async command(text: string): Promise<Line> {
    const name = text.split(' ')[0];
    const count = this.of('done').length;
    this.child.stdin!.write(`${text}\n`);
    return this.waitFor(
      (l) => l.event === 'done' && l.command === name && this.of('done').indexOf(l) >= count,
      `"${text}" to be done`,
    );
  }

  of(event: string): Line[] {
    return this.lines.filter((l) => l.event === event);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A session server whose application greets every new session (seq 1), answers {"burst": n}
 * with n numbered messages and records the hints: short timers, so a pause shows in ms.
 */
async function server() {
  let setups = 0;
  let connections = 0;
  const hints: SessionStatus[] = [];
  const s = await SessionServer.listen<{ setups: number }>({
    heartbeatMs: 200,
    pingIntervalMs: 200,
    tickMs: 20,
    onNewSession: (session) => {
      session.send({ kind: 'greeting' });
      return { setups: ++setups };
    },
    onMessage: (session, body) => {
      const burst = (body as { burst?: number }).burst ?? 0;
      for (let n = 1; n <= burst; n++) session.send({ n });
    },
  });
  s.on('connection', () => connections++);
  s.on('status', (session, to) => {
    if (to === 'paused' && session.pausedBy === 'hint') hints.push(to);
  });
  cleanups.push(() => s.close());
  const only = () => {
    const all = [...s.sessions.values()];
    if (all.length !== 1) throw new Error(`${all.length} sessions`);
    return all[0]!;
  };
  return {
    url: `ws://127.0.0.1:${s.port}/session`,
    only,
    hints,
    setups: () => setups,
    connections: () => connections,
  };
}

const welcomed = (l: Line) => l.event === 'newSession' || l.event === 'resumed';

describe.skipIf(!mono)('the Unity adapter, compiled against the UnityEngine stub', () => {
  it('compiles Runtime/Unity and the Conversation sample as a desktop or mobile build', async () => {
    await buildAdapter(join(dir, 'player'));
  }, 60_000);

  it('compiles the WebGL path (UNITY_WEBGL: SessionBehaviour creates the WebGLSessionClient)', async () => {
    await buildAdapter(join(dir, 'webgl'), ['UNITY_WEBGL']);
  }, 60_000);

  it('compiles the console sample', async () => {
    const exe = join(dir, 'ConversationConsole.exe');
    await compile({ out: exe, sources: [CONSOLE], references: [...SYSTEM, core], target: 'exe' });
  }, 60_000);

  it('keeps PlayerPrefs on the main thread: saves and clears from other threads wait for the main thread', async () => {
    const app = await App.launch(['store']);
    expect(await app.exited, app.logs.join('\n')).toBe(0);
    expect(app.of('ok')).toHaveLength(1);
  }, 60_000);

  it('runs the client’s events on the main thread in Update, a bounded number per frame, none lost while it is not pumped', async () => {
    const s = await server();
    const app = await App.launch(['launch', s.url, 'events', '5']);
    const first = await app.waitFor(welcomed, 'the welcome');
    expect(first).toMatchObject({ event: 'newSession', reason: 'New', main: true });
    await app.waitFor((l) => l.event === 'message' && l.seq === 1, 'the greeting');

    // The main thread stops pumping (a long frame, a window without focus); the client does
    // not need it: the burst is received, acked and queued.
    await app.command('freeze');
    await app.command('send {"burst":20}');
    const queued = await waitQueued(app, 20);
    expect(queued).toBeGreaterThanOrEqual(20);
    expect(app.of('message')).toHaveLength(1);

    // One frame runs five (maxEventsPerFrame), the next frames the rest, in order.
    expect(await app.command('frame')).toMatchObject({ delivered: 5 });
    await app.command('thaw');
    await app.waitFor((l) => l.event === 'message' && l.seq === 21, 'the last of the burst');
    const messages = app.of('message');
    expect(messages.map((l) => l.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(messages.every((l) => l.main === true)).toBe(true);
    expect(app.lines.filter((l) => 'main' in l).every((l) => l.main === true)).toBe(true);

    // The welcome's save came from the client's thread: the store recorded it and Update wrote it.
    const stored = await app.command('stored');
    expect(JSON.parse(stored.value as string)).toMatchObject({ sessionId: first.sessionId });
    expect(app.logs.join('\n')).not.toMatch(
      /UnityException|can only be called from the main thread/,
    );
    expect(s.connections()).toBe(1);
  }, 60_000);

  it('pauses with the hint, resumes when the app comes back, sends nothing on a desktop focus loss, and quits resumable', async () => {
    const s = await server();
    const prefs = join(dir, 'quit.prefs');
    const env = { TETHER_STUB_PLAYERPREFS: prefs };
    const app = await App.launch(['launch', s.url, 'quit', '64'], env);
    const first = await app.waitFor(welcomed, 'the welcome');
    expect(first).toMatchObject({ event: 'newSession', reason: 'New' });

    await app.command('pause');
    await settle('the server to take the hint', () => s.hints.length === 1);
    expect(s.only()).toMatchObject({ status: 'paused', pausedBy: 'hint' });
    await app.command('unpause');
    await settle('the app to be heard again', () => s.only().status === 'active');

    await app.command('focus false');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(s.hints).toHaveLength(1);
    expect(s.only().status).toBe('active');
    await app.command('focus true');

    await app.command('quit');
    expect(await app.exited, app.logs.join('\n')).toBe(0);
    await settle('the quit to leave the session detached', () => s.only().status === 'detached');

    // The next launch reads the session from PlayerPrefs (written at quit) and continues it.
    const next = await App.launch(['launch', s.url, 'quit', '64'], env);
    const again = await next.waitFor(welcomed, 'the welcome of the next launch');
    expect(again).toMatchObject({ event: 'resumed', sessionId: first.sessionId, missed: 0 });
    expect(s.setups()).toBe(1);
    expect(s.connections()).toBe(2);
  }, 60_000);

  it('on mobile writes the session to disk at the pause: an app killed while suspended resumes at its next launch', async () => {
    const s = await server();
    const prefs = join(dir, 'mobile.prefs');
    const env = { TETHER_STUB_PLAYERPREFS: prefs, TETHER_STUB_PLATFORM: 'Android' };
    const app = await App.launch(['launch', s.url, 'mobile', '64'], env);
    const first = await app.waitFor(welcomed, 'the welcome');
    expect(first).toMatchObject({ event: 'newSession', reason: 'New' });
    await app.command('send {"burst":3}');
    await app.waitFor((l) => l.event === 'message' && l.seq === 4, 'the burst');

    await app.command('pause');
    await settle('the server to take the hint', () => s.hints.length === 1);
    await app.kill(); // the OS reclaims a suspended app: no OnApplicationQuit

    const stored = await readFile(prefs, 'utf8');
    expect(stored.length).toBeGreaterThan(0);
    const next = await App.launch(['launch', s.url, 'mobile', '64'], env);
    const again = await next.waitFor(welcomed, 'the welcome of the next launch');
    // missed 0: the stored lastSeq is the one at the pause (4), not an older one.
    expect(again).toMatchObject({ event: 'resumed', sessionId: first.sessionId, missed: 0 });
    expect(s.setups()).toBe(1);
  }, 60_000);

  it('maps the page’s events to the C# API in the WebGL client (a fake of the .jslib bridge)', async () => {
    const app = await App.launch(['webgl']);
    expect(await app.exited, app.logs.join('\n')).toBe(0);
    expect(app.of('ok')).toHaveLength(1);
  }, 60_000);

  it('runs the console sample against the conversation example: a new conversation in the language asked for, then a resumed one', async () => {
    const exe = join(dir, 'console', 'ConversationConsole.exe');
    await compile({ out: exe, sources: [CONSOLE], references: [...SYSTEM, core], target: 'exe' });
    await copyFile(core, join(dir, 'console', 'Tether.Session.dll'));
    const example = await startConversationServer({ port: 0 });
    cleanups.push(() => example.close());
    const url = `ws://127.0.0.1:${example.port}/session`;
    const store = join(dir, 'console', 'session.json');

    const first = consoleRun(exe, ['--url', url, '--lang', 'fr', '--store', store]);
    await first.line(/^\* new session \S+: a new conversation$/);
    await first.line(/^\[conversation \w+, fr\] Nouvelle conversation/);
    first.say('bonjour');
    expect(await first.line(/^< /)).toBe('< (n° 1) Vous avez dit : bonjour');
    first.say('/quit');
    expect(await first.exit()).toBe(0);
    expect(first.out).toContain('* left the session resumable');

    const second = consoleRun(exe, ['--url', url, '--store', store]);
    expect(await second.line(/^\* resumed the same conversation/)).toMatch(
      /0 of the server's lost/,
    );
    second.say('encore');
    // The second line of the same conversation (its count and its language went on).
    expect(await second.line(/^< /)).toBe('< (n° 2) Vous avez dit : encore');
    second.say('/end');
    expect(await second.exit()).toBe(0);
    expect(example.stats().connections).toBe(2);
  }, 60_000);
});

/** Asks the app how many events wait for Update until there are `atLeast`; bounded. */
async function waitQueued(app: App, atLeast: number): Promise<number> {
  let count = 0;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    count = (await app.command('queued')).count as number;
    if (count >= atLeast) return count;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return count;
}

/** The console sample, line by line. */
function consoleRun(exe: string, args: string[]) {
  const child = spawnMono(exe, args);
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => out.push(`stderr: ${l}`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let from = 0;
  return {
    out,
    say: (text: string) => child.stdin!.write(`${text}\n`),
    /** The next line (after the last one found) that matches; bounded. */
    async line(pattern: RegExp, ms = 10_000): Promise<string> {
      const deadline = Date.now() + ms;
      for (;;) {
        const at = out.findIndex((l, i) => i >= from && pattern.test(l));
        if (at >= 0) {
          from = at + 1;
          return out[at]!;
        }
        if (Date.now() > deadline)
          throw new Error(`no line matching ${pattern} in ${ms} ms:\n${out.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async exit(ms = 10_000): Promise<number | null> {
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

const PROGRAM = String.raw`
// Drives SessionBehaviour as the Unity player does, on this program's main thread, and prints
// what the app sees as JSON lines; or checks the PlayerPrefs store's thread rule ("store"), or
// the WebGL client over a fake of the page ("webgl").
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Threading;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Tether.Session;
using Tether.Session.Unity;
using UnityEngine;

static class AdapterProgram
{
    static int mainThread;

    static int Main(string[] args)
    {
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true });
        mainThread = Thread.CurrentThread.ManagedThreadId;
        // The stub's main thread is the first to touch PlayerPrefs: this one.
        PlayerPrefs.HasKey("main thread");
        try
        {
            if (args[0] == "launch") return Launch(args[1], args[2], int.Parse(args[3]));
            if (args[0] == "store") Store();
            else if (args[0] == "webgl") WebGL();
            else throw new ArgumentException(args[0]);
            Emit(new JObject { { "event", "ok" } });
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            return 1;
        }
    }

    static bool OnMain() { return Thread.CurrentThread.ManagedThreadId == mainThread; }

    static void Emit(JObject line) { Console.WriteLine(line.ToString(Formatting.None)); }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new Exception("failed: " + what);
    }

    static Exception OffMain(Action action)
    {
        Exception caught = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { caught = e; }
        });
        thread.Start();
        thread.Join();
        return caught;
    }

    static StoredSession Session(string id, string token, long seq)
    {
        return new StoredSession { SessionId = id, ResumeToken = token, LastSeq = seq };
    }

    static void Store()
    {
        Check(OffMain(() => PlayerPrefs.SetString("x", "y")) is UnityException,
            "the stub refuses PlayerPrefs off the main thread, as Unity does");
        var store = new PlayerPrefsSessionStore("t.store");
        Check(store.Load() == null, "nothing stored at first");

        Check(OffMain(() => store.Save(Session("s1", "s1.a", 3))) == null, "a save off the main thread does not throw");
        Check(!PlayerPrefs.HasKey("t.store") && store.HasPendingWrite, "it is recorded, not written");
        StoredSession seen = null;
        Check(OffMain(() => seen = store.Load()) == null, "a load off the main thread does not throw");
        Check(seen != null && seen.ResumeToken == "s1.a" && seen.LastSeq == 3, "and sees the latest value");
        store.Flush();
        Check(PlayerPrefs.GetString("t.store").Contains("s1.a") && !store.HasPendingWrite, "Flush writes it");

        store.Save(Session("s1", "s1.b", 4));
        Check(PlayerPrefs.GetString("t.store").Contains("s1.b") && !store.HasPendingWrite, "a save on the main thread writes at once");

        OffMain(() => store.Save(Session("s1", "s1.c", 5)));
        store.Save(Session("s1", "s1.d", 6));
        store.Flush();
        Check(PlayerPrefs.GetString("t.store").Contains("s1.d"), "a later save wins over an earlier one owed");
        store.Save(Session("s1", "s1.e", 7));
        OffMain(() => store.Save(Session("s1", "s1.f", 8)));
        store.Flush();
        Check(PlayerPrefs.GetString("t.store").Contains("s1.f"), "and so does a later one off the main thread");

        OffMain(() => store.Clear());
        Check(PlayerPrefs.HasKey("t.store") && store.Load() == null, "a clear off the main thread waits, Load sees it");
        store.Flush();
        Check(!PlayerPrefs.HasKey("t.store"), "Flush deletes the key");

        store.Save(Session("s2", "s2.a", 9));
        var next = new PlayerPrefsSessionStore("t.store").Load();
        Check(next != null && next.SessionId == "s2" && next.ResumeToken == "s2.a" && next.LastSeq == 9,
            "the next launch's store reads it back");
        PlayerPrefs.SetString("t.bad", "{not json");
        Check(new PlayerPrefsSessionStore("t.bad").Load() == null, "an unreadable value is no session");
    }

    // ---- the adapter, as the player runs it ----

    static void Call(object target, string message, params object[] args)
    {
        var types = new Type[args.Length];
        for (var i = 0; i < args.Length; i++) types[i] = args[i].GetType();
        var method = target.GetType().GetMethod(message,
            BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, types, null);
        if (method == null) throw new MissingMethodException(target.GetType().Name, message);
        try { method.Invoke(target, args); }
        catch (TargetInvocationException e) { throw e.InnerException; }
    }

    // What Unity's serializer does before Awake: the Inspector's values into the fields.
    static void Serialize(object target, string field, object value)
    {
        var f = target.GetType().GetField(field, BindingFlags.Instance | BindingFlags.NonPublic);
        if (f == null || f.GetCustomAttributes(typeof(SerializeField), false).Length == 0)
            throw new MissingFieldException(target.GetType().Name, field);
        f.SetValue(target, value);
    }

    static int Launch(string url, string key, int perFrame)
    {
        var b = new SessionBehaviour();
        Serialize(b, "url", url);
        Serialize(b, "storeKey", key);
        Serialize(b, "maxEventsPerFrame", perFrame);
        Serialize(b, "logDiagnostics", true);
        var delivered = 0;
        b.Message += (body, seq) =>
        {
            delivered++;
            Emit(new JObject { { "event", "message" }, { "seq", seq }, { "body", body }, { "main", OnMain() } });
        };
        b.NewSession += e =>
        {
            delivered++;
            Emit(new JObject { { "event", "newSession" }, { "sessionId", e.SessionId }, { "reason", e.Reason.ToString() }, { "main", OnMain() } });
        };
        b.Resumed += e =>
        {
            delivered++;
            Emit(new JObject { { "event", "resumed" }, { "sessionId", e.SessionId }, { "missed", e.Missed }, { "resent", e.Resent }, { "main", OnMain() } });
        };
        b.StateChanged += (to, from) =>
        {
            delivered++;
            Emit(new JObject { { "event", "state" }, { "to", to.ToString() }, { "from", from.ToString() }, { "main", OnMain() } });
        };

        var commands = new BlockingCollection<string>();
        var reader = new Thread(() =>
        {
            string line;
            while ((line = Console.In.ReadLine()) != null) commands.Add(line);
            commands.CompleteAdding();
        });
        reader.IsBackground = true;
        reader.Start();

        Call(b, "Awake");
        Call(b, "OnApplicationFocus", true);
        Call(b, "Start");
        var frozen = false;
        for (;;)
        {
            string command;
            if (commands.TryTake(out command, 10))
            {
                var space = command.IndexOf(' ');
                var name = space < 0 ? command : command.Substring(0, space);
                var arg = space < 0 ? "" : command.Substring(space + 1);
                var done = new JObject { { "event", "done" }, { "command", name } };
                switch (name)
                {
                    case "send": done["ok"] = b.Send(JToken.Parse(arg)); break;
                    case "freeze": frozen = true; break;
                    case "thaw": frozen = false; break;
                    case "queued": done["count"] = b.QueuedEvents; break;
                    case "frame":
                        delivered = 0;
                        Call(b, "Update");
                        done["delivered"] = delivered;
                        break;
                    case "pause": Call(b, "OnApplicationPause", true); break;
                    case "unpause": Call(b, "OnApplicationPause", false); break;
                    case "focus": Call(b, "OnApplicationFocus", arg == "true"); break;
                    case "stored": done["value"] = PlayerPrefs.GetString(key, ""); break;
                    case "quit":
                        Call(b, "OnApplicationQuit");
                        Call(b, "OnDestroy");
                        Emit(done);
                        return 0;
                    default: throw new ArgumentException(command);
                }
                Emit(done);
            }
            else if (commands.IsCompleted) return 0;
            if (!frozen) Call(b, "Update");
        }
    }

    // ---- the WebGL client over a fake page ----

    sealed class FakeBridge : IWebGLBridge
    {
        public int Handle;
        public string Options;
        public bool Accept = true;
        public readonly List<string> Calls = new List<string>();
        public void Create(int handle, string optionsJson) { Handle = handle; Options = optionsJson; Calls.Add("create"); }
        public void Connect(int handle) { Calls.Add("connect"); }
        public bool Send(int handle, string bodyJson) { Calls.Add("send " + bodyJson); return Accept; }
        public void Pause(int handle) { Calls.Add("pause"); }
        public void Resume(int handle) { Calls.Add("resume"); }
        public void Close(int handle, bool end) { Calls.Add("close " + end); }
        public int Pending(int handle) { return 3; }
        public void Destroy(int handle) { Calls.Add("destroy"); }
    }

    sealed class MemoryStore : ISessionStore
    {
        public StoredSession Value;
        public StoredSession Load() { return Value; }
        public void Save(StoredSession s) { Value = s; }
        public void Clear() { Value = null; }
    }

    static void WebGL()
    {
        var bridge = new FakeBridge();
        var store = new MemoryStore { Value = Session("old", "old.t", 7) };
        var queue = new MainThreadQueue();
        var logs = new List<string>();
        var options = new SessionClientOptions
        {
            Url = new Uri("ws://example.test/session?x=1"),
            Context = JObject.Parse("{\"language\":\"fr\"}"),
            Store = store,
            Dispatch = queue.Post,
            Overflow = OverflowPolicy.DropOldest,
            Log = logs.Add,
        };
        var client = new WebGLSessionClient(options, bridge);
        var o = JObject.Parse(bridge.Options);
        Check((string)o["url"] == "ws://example.test/session?x=1", "the url reaches the page");
        Check((string)o["context"]["language"] == "fr", "the context reaches the page");
        Check((string)o["outbox"]["overflow"] == "drop-oldest" && (int)o["outbox"]["maxMessages"] == 1000, "the outbox limits");
        Check((int)o["acks"]["ackDelayMs"] == 20 && (int)o["acks"]["ackEvery"] == 32, "the ack policy");
        Check((string)o["resume"]["sessionId"] == "old" && (string)o["resume"]["resumeToken"] == "old.t" && (long)o["resume"]["lastSeq"] == 7,
            "the stored session is handed to the page");
        Check(client.SessionId == "old" && client.State == SessionState.Idle, "the stored id before any welcome");
        Check(client.Pending == 3, "Pending asks the page");

        var seen = new List<string>();
        client.StateChanged += (to, from) => seen.Add("state " + from + ">" + to + (OnMain() ? "" : " off main"));
        client.Resumed += e => seen.Add("resumed " + e.SessionId + " " + e.Resent + " " + e.Missed);
        client.NewSession += e => seen.Add("new " + e.SessionId + " " + e.Reason + " " + e.PreviousSessionId + " " + e.Undelivered.Count + " " + e.Undelivered[0]["text"]);
        client.Message += (body, seq) => seen.Add("message " + seq + " " + body.ToString(Formatting.None));
        client.Dropped += bodies => seen.Add("dropped " + bodies.Count);
        client.Closed += reason => seen.Add("closed " + reason);

        var connecting = client.ConnectAsync();
        Check(bridge.Calls.Contains("connect") && !connecting.IsCompleted, "ConnectAsync asks the page and waits for the welcome");
        var h = bridge.Handle;
        // The events exactly as TetherSession.jslib emits them (webgl.browser.test.ts pins those).
        WebGLSessionClient.Deliver(h, "{\"type\":\"state\",\"to\":\"connecting\",\"from\":\"idle\"}");
        WebGLSessionClient.Deliver(h, "{\"type\":\"state\",\"to\":\"handshaking\",\"from\":\"connecting\"}");
        WebGLSessionClient.Deliver(h, "{\"type\":\"state\",\"to\":\"active\",\"from\":\"handshaking\"}");
        WebGLSessionClient.Deliver(h, "{\"type\":\"resumed\",\"sessionId\":\"old\",\"resent\":1,\"missed\":2,\"resumeToken\":\"old.u\"}");
        Check(connecting.Status == System.Threading.Tasks.TaskStatus.RanToCompletion, "ConnectAsync completes at the welcome");
        Check(client.State == SessionState.Active, "the state follows at once");
        Check(store.Value.ResumeToken == "old.u" && store.Value.LastSeq == 9, "the rotated token is saved at the welcome, lastSeq past the missed ones");
        Check(seen.Count == 0, "events wait for the dispatcher");
        queue.Pump();
        Check(string.Join("|", seen) == "state Idle>Connecting|state Connecting>Handshaking|state Handshaking>Active|resumed old 1 2",
            "in order: " + string.Join("|", seen));
        seen.Clear();

        WebGLSessionClient.Deliver(h, "{\"type\":\"message\",\"seq\":10,\"body\":{\"text\":\"hi\"}}");
        WebGLSessionClient.Deliver(h, "{\"type\":\"message\",\"seq\":11,\"body\":[1,\"two\"]}");
        queue.Pump();
        Check(string.Join("|", seen) == "message 10 {\"text\":\"hi\"}|message 11 [1,\"two\"]", "messages: " + string.Join("|", seen));
        seen.Clear();

        Check(client.Send(new JObject { { "text", "yo" } }) && bridge.Calls.Contains("send {\"text\":\"yo\"}"), "Send hands the body's JSON to the page");
        bridge.Accept = false;
        Check(!client.Send(new JValue(1)), "a refusal by the page is false");
        client.Pause();
        Check(bridge.Calls.Contains("pause") && store.Value.LastSeq == 11, "Pause asks the page and saves the session");
        client.Resume();
        Check(bridge.Calls.Contains("resume"), "Resume asks the page");

        WebGLSessionClient.Deliver(h, "{\"type\":\"newSession\",\"sessionId\":\"new\",\"reason\":\"expired\",\"previousSessionId\":\"old\",\"undelivered\":[{\"text\":\"lost\"}],\"resumeToken\":\"new.t\"}");
        WebGLSessionClient.Deliver(h, "{\"type\":\"dropped\",\"bodies\":[1,2]}");
        queue.Pump();
        Check(string.Join("|", seen) == "new new Expired old 1 lost|dropped 2", "a new session and a drop: " + string.Join("|", seen));
        Check(client.SessionId == "new" && store.Value.ResumeToken == "new.t" && store.Value.LastSeq == 0, "the new session is saved");
        seen.Clear();

        WebGLSessionClient.Deliver(h, "not json");
        Check(logs.Count == 1 && logs[0].Contains("bad event"), "a bad event is logged, not thrown into the page");

        WebGLSessionClient.Deliver(h, "{\"type\":\"state\",\"to\":\"closed\",\"from\":\"active\"}");
        WebGLSessionClient.Deliver(h, "{\"type\":\"closed\",\"reason\":\"replaced\"}");
        queue.Pump();
        Check(string.Join("|", seen) == "state Active>Closed|closed Replaced", "replaced: " + string.Join("|", seen));
        Check(!client.Send(new JValue(2)) && client.ConnectAsync().IsFaulted, "a closed client sends and connects no more");
        client.Dispose();
        Check(bridge.Calls[bridge.Calls.Count - 1] == "destroy", "Dispose frees the page's client");
        seen.Clear();
        WebGLSessionClient.Deliver(h, "{\"type\":\"message\",\"seq\":12,\"body\":1}");
        queue.Pump();
        Check(seen.Count == 0, "nothing reaches a disposed client");

        // CloseAsync: end forgets the stored session, end:false keeps it.
        var second = new FakeBridge();
        var kept = new MemoryStore();
        var other = new WebGLSessionClient(new SessionClientOptions { Url = new Uri("ws://example.test/"), Store = kept }, second);
        Check(JObject.Parse(second.Options)["resume"] == null, "no stored session, no resume");
        WebGLSessionClient.Deliver(second.Handle, "{\"type\":\"newSession\",\"sessionId\":\"a\",\"reason\":\"new\",\"previousSessionId\":null,\"undelivered\":[],\"resumeToken\":\"a.t\"}");
        Check(kept.Value != null && kept.Value.SessionId == "a", "saved at the welcome (no dispatcher: inline)");
        other.CloseAsync(false).Wait(1000);
        Check(second.Calls.Contains("close False") && kept.Value != null, "close without end keeps the session");
        WebGLSessionClient.Deliver(second.Handle, "{\"type\":\"state\",\"to\":\"closed\",\"from\":\"active\"}");
        other.Dispose();
        var third = new FakeBridge();
        var ended = new MemoryStore { Value = Session("b", "b.t", 1) };
        var last = new WebGLSessionClient(new SessionClientOptions { Url = new Uri("ws://example.test/"), Store = ended }, third);
        last.CloseAsync(true).Wait(1000);
        Check(third.Calls.Contains("close True") && ended.Value == null, "close with end clears the session");
        last.Dispose();
    }
}
`;
