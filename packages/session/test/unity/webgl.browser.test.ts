/**
 * The WebGL half of clients/unity: TetherSession.jslib over tether-session.jspre (the browser
 * SessionClient, bundled), in headless Chromium against a real SessionServer on loopback.
 *
 * No Unity build exists here, so the page gets a small fake of what a Unity WebGL player gives a
 * .jslib: Emscripten's library merge (mergeInto, `$` dependencies, functions re-created from
 * their source text in the runtime's scope, `{{{ makeDynCall }}}` expanded), a heap with
 * _malloc/_free, UTF8ToString/stringToUTF8/lengthBytesUTF8, and a function table. The
 * "C# side" is a function in that table that reads its argument the way the IL2CPP callback in
 * WebGLSessionClient.cs does; C# strings are passed as the UTF-8 pointers IL2CPP marshals. The
 * event shapes pinned here are the ones adapter.test.ts feeds the C# client.
 *
 * Two checks need no browser: the committed bundle matches the sources, and the .jslib's
 * functions match the C# DllImport declarations.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumLaunchOptions } from '@tether/testkit';
import { JSPRE, bundleUnityWebGL } from '../../scripts/build-unity-webgl.mjs';
import { SessionServer } from '../../src/server/index.js';
import { settle } from '../helpers.js';
import { UNITY_PACKAGE } from './csharp.js';

const JSLIB = join(UNITY_PACKAGE, 'Runtime/Unity/Plugins/WebGL/TetherSession.jslib');
const CLIENT_CS = join(UNITY_PACKAGE, 'Runtime/Unity/WebGLSessionClient.cs');

// Skipped only on a machine without Debian's Chromium; under CI a missing browser is a failure.
const run = existsSync(CHROMIUM) || process.env.CI === 'true';

type Library = Record<string, unknown>;

/** What Unity's build does with a .jslib, as far as this one needs: the merged library. */
async function loadLibrary(): Promise<Library> {
  // Emscripten expands {{{ }}} before it evaluates the file; makeDynCall(sig, ptr) is a function
  // that calls the table entry at ptr.
  const text = (await readFile(JSLIB, 'utf8')).replace(
    /\{\{\{\s*makeDynCall\('(\w+)',\s*'([^']+)'\)\s*\}\}\}/g,
    (_, sig: string, ptr: string) => `dynCall('${sig}', ${ptr})`,
  );
  const library: Library = {};
  const mergeInto = (target: Library, entries: Library) => Object.assign(target, entries);
  new Function('mergeInto', 'LibraryManager', text)(mergeInto, { library });
  return library;
}

/**
 * The library as Emscripten links it: each C-callable function becomes `_name`, re-created from
 * its source in the runtime's scope (so nothing from the .jslib's own top level survives), and a
 * `$dep` becomes a global `dep` only when a function lists it in its `__deps`.
 */
function link(library: Library): string {
  const source = (value: unknown): string => {
    if (typeof value === 'function') return value.toString();
    if (value && typeof value === 'object') {
      const fields = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${source(v)}`);
      return `{${fields.join(',\n')}}`;
    }
    return JSON.stringify(value);
  };
  const used = new Set<string>();
  const out: string[] = [];
  for (const [name, value] of Object.entries(library)) {
    if (name.startsWith('$') || name.endsWith('__deps') || typeof value !== 'function') continue;
    for (const dep of (library[`${name}__deps`] as string[] | undefined) ?? []) used.add(dep);
    out.push(`Module._${name} = ${source(value)};`);
  }
  for (const dep of used) {
    if (!(dep in library)) throw new Error(`${dep} is a dependency the library does not define`);
    out.unshift(`var ${dep.slice(1)} = ${source(library[dep])};`);
  }
  return out.join('\n');
}

/** Emscripten's runtime, as far as the library uses it, and the "C# side" of the bridge. */
const RUNTIME = String.raw`
var Module = {};
var HEAPU8 = new Uint8Array(4 << 20);
var heapTop = 16;
var live = new Map();
function _malloc(size) {
  var at = heapTop;
  heapTop += (size + 7) & ~7;
  if (heapTop > HEAPU8.length) throw new Error('fake heap exhausted');
  live.set(at, size);
  return at;
}
function _free(at) {
  if (!live.delete(at)) throw new Error('free of ' + at + ', which is not allocated');
}
function lengthBytesUTF8(text) {
  return new TextEncoder().encode(text).length;
}
function stringToUTF8(text, at, max) {
  var written = new TextEncoder().encodeInto(text, HEAPU8.subarray(at, at + max - 1)).written;
  HEAPU8[at + written] = 0;
  return written;
}
function UTF8ToString(at) {
  var end = at;
  while (HEAPU8[end] !== 0) end++;
  return new TextDecoder().decode(HEAPU8.subarray(at, end));
}
var table = [null];
function dynCall(sig, ptr) {
  var f = table[ptr];
  if (typeof f !== 'function') throw new Error('no function at ' + ptr + ' (' + sig + ')');
  if (f.length !== sig.length - 1) throw new Error('signature ' + sig + ' for a function of ' + f.length);
  return f;
}
`;

/** The C# side: IL2CPP marshals a string argument as a UTF-8 copy it frees after the call. */
const CSHARP = String.raw`
var csharp = { events: [], live: function () { return live.size; } };
// WebGLSessionClient's [MonoPInvokeCallback] OnEvent(int handle, IntPtr utf8Json): copies the
// string at once (the page frees it when the call returns).
var onEvent = table.push(function (handle, json) {
  csharp.events.push({ handle: handle, event: JSON.parse(UTF8ToString(json)) });
}) - 1;
function withString(text, call) {
  var size = lengthBytesUTF8(text) + 1;
  var at = _malloc(size);
  stringToUTF8(text, at, size);
  try { return call(at); } finally { _free(at); }
}
csharp.create = function (handle, options) {
  withString(JSON.stringify(options), function (p) { Module._TetherSession_Create(handle, p, onEvent); });
};
csharp.connect = function (h) { Module._TetherSession_Connect(h); };
csharp.send = function (h, body) {
  return withString(JSON.stringify(body), function (p) { return Module._TetherSession_Send(h, p); });
};
csharp.pause = function (h) { Module._TetherSession_Pause(h); };
csharp.resume = function (h) { Module._TetherSession_Resume(h); };
csharp.close = function (h, end) { Module._TetherSession_Close(h, end ? 1 : 0); };
csharp.pending = function (h) { return Module._TetherSession_Pending(h); };
csharp.destroy = function (h) { Module._TetherSession_Destroy(h); };
window.csharp = csharp;
`;

interface BridgeEvent {
  handle: number;
  event: { type: string; [key: string]: unknown };
}
interface CSharp {
  events: BridgeEvent[];
  live(): number;
  create(handle: number, options: unknown): void;
  connect(handle: number): void;
  send(handle: number, body: unknown): number;
  pause(handle: number): void;
  resume(handle: number): void;
  close(handle: number, end: boolean): void;
  pending(handle: number): number;
  destroy(handle: number): void;
}
declare const csharp: CSharp;

/** The keys of each event, as WebGLSessionClient.cs reads them. */
const SHAPES: Record<string, string[]> = {
  state: ['from', 'to', 'type'],
  message: ['body', 'seq', 'type'],
  resumed: ['missed', 'resent', 'resumeToken', 'sessionId', 'type'],
  newSession: ['previousSessionId', 'reason', 'resumeToken', 'sessionId', 'type', 'undelivered'],
  dropped: ['bodies', 'type'],
  closed: ['reason', 'type'],
};

describe('the WebGL bridge files', () => {
  it('tether-session.jspre is the bundle of the current sources', async () => {
    const committed = await readFile(JSPRE, 'utf8').catch(() => '');
    const fresh = await bundleUnityWebGL();
    expect(
      committed === fresh,
      'clients/unity/Runtime/Unity/Plugins/WebGL/tether-session.jspre is out of date with ' +
        'packages/session/src: run `npm run build:unity -w @tether/session` and commit it',
    ).toBe(true);
  });

  it('the .jslib defines exactly the functions WebGLSessionClient imports, with their arity', async () => {
    const library = await loadLibrary();
    const functions = Object.entries(library)
      .filter(([name, value]) => !name.startsWith('$') && typeof value === 'function')
      .map(([name, value]) => `${name}/${(value as (...a: unknown[]) => unknown).length}`)
      .sort();
    const cs = await readFile(CLIENT_CS, 'utf8');
    const imports = [
      ...cs.matchAll(/\[DllImport\("__Internal"\)\]\s*static extern \w+ (\w+)\(([^)]*)\);/g),
    ]
      .map(([, name, params]) => `${name}/${params!.trim() === '' ? 0 : params!.split(',').length}`)
      .sort();
    expect(imports.length).toBeGreaterThan(0);
    expect(functions).toEqual(imports);
    for (const name of Object.keys(library).filter((n) => n.startsWith('TetherSession_'))) {
      if (name.endsWith('__deps')) continue;
      expect(library[`${name}__deps`], `${name} lists its dependencies`).toEqual([
        '$TetherSessionBridge',
      ]);
    }
    expect(link(library)).toContain('var TetherSessionBridge = ');
  });
});

describe.skipIf(!run)('the WebGL bridge in a real browser (Chromium)', () => {
  let browser: Browser;
  let script: string;
  const cleanups: Array<() => Promise<void> | void> = [];
  /** Uncaught errors of every page of the test. */
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch(chromiumLaunchOptions);
    script = [RUNTIME, await readFile(JSPRE, 'utf8'), link(await loadLibrary()), CSHARP].join(
      '\n;\n',
    );
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    errors.length = 0;
  });

  /** A page with the player's fake runtime, the bundle, the linked library and the C# side. */
  async function player(): Promise<Page> {
    const page = await browser.newPage();
    cleanups.push(() => page.close());
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setContent('<!doctype html><title>player</title>');
    // One script, as Unity concatenates them: a `var` of one is visible to the others.
    await page.addScriptTag({ content: `(function () {\n${script}\n})();` });
    return page;
  }

  async function server() {
    const seen = { contexts: [] as unknown[], received: [] as unknown[], connections: 0 };
    const s = await SessionServer.listen<{ n: number }>({
      heartbeatMs: 200,
      // Ping frames are answered by the browser, which a loaded machine can delay past 400 ms:
      // at 200 ms the server cut healthy sockets and the tests counted a reconnect too many.
      pingIntervalMs: 1_000,
      tickMs: 20,
      onNewSession: (session, info) => {
        seen.contexts.push(info.context);
        session.send({
          kind: 'greeting',
          language: (info.context as { language?: string })?.language,
        });
        return { n: 0 };
      },
      onMessage: (session, body) => {
        seen.received.push(body);
        session.setState({ n: session.state.n + 1 });
        session.send({ echo: body, n: session.state.n });
      },
    });
    s.on('connection', () => seen.connections++);
    cleanups.push(() => s.close());
    return { s, seen, url: `ws://127.0.0.1:${s.port}/session` };
  }

  /** The options JSON WebGLSessionClient.OptionsJson builds (the C# defaults). */
  const options = (url: string, extra: Record<string, unknown> = {}) => ({
    url,
    context: { language: 'fr' },
    welcomeTimeoutMs: 10_000,
    outbox: { maxMessages: 1000, maxBytes: 1_048_576, overflow: 'reject' },
    acks: { ackDelayMs: 20, ackEvery: 32 },
    link: {
      connectTimeoutMs: 10_000,
      backoff: { firstRetryMaxMs: 250, floorMs: 500, capMs: 30_000 },
    },
    ...extra,
  });

  const eventsOf = (page: Page, handle: number) =>
    page.evaluate((h) => csharp.events.filter((e) => e.handle === h).map((e) => e.event), handle);

  async function waitEvent(page: Page, handle: number, type: string, nth = 1, timeout = 10_000) {
    await page.waitForFunction(
      ([h, t, n]) =>
        csharp.events.filter((e) => e.handle === h && e.event.type === t).length >= (n as number),
      [handle, type, nth] as const,
      { timeout },
    );
    const all = (await eventsOf(page, handle)).filter((e) => e.type === type);
    return all[nth - 1]!;
  }

  it('creates, connects, gets the welcome, sends and receives, pauses and resumes, and closes resumable, as the C# side calls it', async () => {
    const { s, seen, url } = await server();
    const page = await player();
    await page.evaluate((o) => csharp.create(1, o), options(url));
    expect(await eventsOf(page, 1)).toEqual([]);

    await page.evaluate(() => csharp.connect(1));
    const welcome = await waitEvent(page, 1, 'newSession');
    expect(welcome).toMatchObject({ reason: 'new', previousSessionId: null, undelivered: [] });
    expect(typeof welcome.sessionId).toBe('string');
    expect(typeof welcome.resumeToken).toBe('string');
    expect(seen.contexts).toEqual([{ language: 'fr' }]);
    const greeting = await waitEvent(page, 1, 'message');
    expect(greeting).toEqual({
      type: 'message',
      seq: 1,
      body: { kind: 'greeting', language: 'fr' },
    });

    expect(await page.evaluate(() => csharp.send(1, { text: 'salut', n: [1, 2] }))).toBe(1);
    const echo = await waitEvent(page, 1, 'message', 2);
    expect(echo).toEqual({
      type: 'message',
      seq: 2,
      body: { echo: { text: 'salut', n: [1, 2] }, n: 1 },
    });
    expect(seen.received).toEqual([{ text: 'salut', n: [1, 2] }]);
    await page.waitForFunction(() => csharp.pending(1) === 0);

    const session = () => [...s.sessions.values()][0]!;
    // Recorded as it happens: the page keeps running and its next app ping (every 200 ms)
    // makes the session active again, sometimes before a poll could see it paused.
    const statuses: string[] = [];
    s.on('status', (paused, to) => statuses.push(`${to}:${paused.pausedBy}`));
    await page.evaluate(() => csharp.pause(1));
    await settle('the server to take the pausing hint', () => statuses.includes('paused:hint'));
    await page.evaluate(() => csharp.resume(1));
    await settle('the app to be heard again', () => session().status === 'active');

    await page.evaluate(() => csharp.close(1, false));
    const closed = await waitEvent(page, 1, 'closed');
    expect(closed).toEqual({ type: 'closed', reason: 'closed' });
    await settle('the session to wait for a resume', () => session().status === 'detached');
    const states = (await eventsOf(page, 1))
      .filter((e) => e.type === 'state')
      .map((e) => `${e.from}>${e.to}`);
    expect(states).toEqual([
      'idle>connecting',
      'connecting>handshaking',
      'handshaking>active',
      'active>closed',
    ]);
    for (const e of await eventsOf(page, 1))
      expect(Object.keys(e).sort(), e.type).toEqual(SHAPES[e.type]);
    await page.evaluate(() => csharp.destroy(1));
    // Every string the bridge allocated for the C# side was freed after its call.
    expect(await page.evaluate(() => csharp.live())).toBe(0);
    expect(errors).toEqual([]);
  });

  it('starts from the stored session: a reload resumes it, and one past its end gets a new session that names it', async () => {
    const { s, seen, url } = await server();
    const first = await player();
    await first.evaluate((o) => csharp.create(1, o), options(url));
    await first.evaluate(() => csharp.send(1, { text: 'one' })); // a send connects too
    const welcome = await waitEvent(first, 1, 'newSession');
    await waitEvent(first, 1, 'message', 2);
    // What the C# side stores at the welcome and keeps up to date (lastSeq from the messages).
    const stored = { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastSeq: 2 };
    await first.close(); // the tab goes away with the socket

    const reloaded = await player();
    await reloaded.evaluate((o) => csharp.create(7, o), options(url, { resume: stored }));
    await reloaded.evaluate(() => csharp.connect(7));
    const resumed = await waitEvent(reloaded, 7, 'resumed');
    expect(resumed).toMatchObject({ sessionId: welcome.sessionId, resent: 0, missed: 0 });
    expect(resumed.resumeToken).not.toBe(welcome.resumeToken);
    expect(await reloaded.evaluate(() => csharp.send(7, { text: 'two' }))).toBe(1);
    // The same session's state: the second message of the conversation, numbered on from 2.
    expect(await waitEvent(reloaded, 7, 'message')).toEqual({
      type: 'message',
      seq: 3,
      body: { echo: { text: 'two' }, n: 2 },
    });
    expect(seen.contexts).toHaveLength(1);

    await reloaded.evaluate(() => csharp.close(7, true)); // end: the server forgets it
    await waitEvent(reloaded, 7, 'closed');
    await settle(
      'the session to end',
      () => s.sessions.size === 0 || [...s.sessions.values()].every((x) => x.status === 'expired'),
    );

    const late = await player();
    const stale = { ...stored, resumeToken: resumed.resumeToken, lastSeq: 3 };
    await late.evaluate((o) => csharp.create(9, o), options(url, { resume: stale }));
    await late.evaluate(() => csharp.connect(9));
    const fresh = await waitEvent(late, 9, 'newSession');
    expect(fresh).toMatchObject({ reason: 'expired', previousSessionId: welcome.sessionId });
    expect(fresh.sessionId).not.toBe(welcome.sessionId);
    expect(seen.connections).toBe(3);
    expect(errors).toEqual([]);
  });

  it('reports the older of two pages resuming one session as replaced, and stops it', async () => {
    const { url } = await server();
    const a = await player();
    await a.evaluate((o) => csharp.create(1, o), options(url));
    await a.evaluate(() => csharp.connect(1));
    const welcome = await waitEvent(a, 1, 'newSession');
    const stored = { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastSeq: 1 };
    const b = await player();
    await b.evaluate((o) => csharp.create(1, o), options(url, { resume: stored }));
    await b.evaluate(() => csharp.connect(1));
    await waitEvent(b, 1, 'resumed');
    // The older page is told 4409 and stops. On a loaded machine the server may cut its socket
    // (2 s after the close, docs/session-protocol.md §6) before the page read the close frame:
    // it then sees a plain loss, resumes once with the token both pages hold, and the other
    // page is the one replaced. Either way one page ends replaced and stopped, one keeps it.
    const closed = await Promise.race([
      waitEvent(a, 1, 'closed', 1, 20_000).then((e) => ({ page: a, other: b, e })),
      waitEvent(b, 1, 'closed', 1, 20_000).then((e) => ({ page: b, other: a, e })),
    ]);
    expect(closed.e).toEqual({ type: 'closed', reason: 'replaced' });
    expect(await closed.page.evaluate(() => csharp.send(1, { text: 'late' }))).toBe(0);
    expect(await closed.other.evaluate(() => csharp.send(1, { text: 'kept' }))).toBe(1);
    expect(errors).toEqual([]);
  });
});
