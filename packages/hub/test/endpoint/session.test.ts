import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '@tether/link';
import { EndpointSimulator, ManualClock, waitUntil } from '@tether/testkit';
import { JOB_TTL_MS } from '../../src/endpoint/jobs.js';
import type { ToolResult } from '../../src/upstream/types.js';
import { session, text } from './harness.js';
import type { Handler, SessionDeps } from './harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  options: Parameters<typeof EndpointSimulator.start>[0],
  tools: Record<string, Handler>,
  overrides = {},
  deps: SessionDeps = {},
) {
  const sim = await EndpointSimulator.start(options);
  cleanups.push(() => sim.close());
  const harness = session(sim.url(), tools, overrides, deps);
  harness.session.start();
  cleanups.push(() => harness.session.stop());
  return { sim, ...harness };
}

const echo: Handler = async (args) => text(JSON.stringify(args ?? {}));

/** A tool whose call runs until the test finishes it. */
function blocked() {
  let finish: ((value: string) => void) | undefined;
  return {
    handler: (() =>
      new Promise<ToolResult>((resolve) => (finish = (value) => resolve(text(value))))) as Handler,
    finish: (value: string) => finish!(value),
  };
}

/** The job id in an early reply ("still running, ask for job …"). */
function jobOf(outcome: unknown): string {
  const early = outcome as { ok: true; result: { content: Array<{ text: string }> } };
  return /"job": "([0-9a-f]+)"/.exec(early.result.content[0]!.text)![1]!;
}

describe('endpoint session against the official endpoint', () => {
  it('completes the handshake, lists the tools and answers a call', async () => {
    const { sim, session: s } = await start(
      {},
      { calc__add: async (a) => text(String(Number(a?.a) + Number(a?.b))) },
    );
    const ready = await sim.waitForReady();
    expect(ready.tools.map((t) => t.name)).toEqual(['calc__add']);
    expect(await sim.callTool('calc__add', { a: 1, b: 2 })).toMatchObject({
      ok: true,
      result: { content: [{ text: '3' }] },
    });
    await waitUntil(() => s.status.state === 'ready');
    expect(sim.violations).toEqual([]);
  });

  it('echoes id 0, never answers notifications, and answers unknown methods with -32601', async () => {
    const { sim } = await start({}, { echo });
    await sim.waitForReady();
    const initReply = sim.frames.find((f) => f.direction === 'in' && JSON.parse(f.data).id === 0);
    expect(JSON.parse(initReply!.data)).toMatchObject({
      id: 0,
      result: { protocolVersion: '2024-11-05', serverInfo: { name: 'tether' } },
    });
    sim.notify('notifications/initialized');
    expect(await sim.request('resources/templates/unknown', {})).toMatchObject({
      ok: false,
      error: { code: -32601 },
    });
    // Answered after the notification on the same socket: anything said to it has arrived.
    expect(await sim.request('ping', {})).toMatchObject({ ok: true });
    expect(sim.violations).toEqual([]);
  });

  it('answers a repeated handshake on the same socket', async () => {
    const { sim } = await start({}, { echo });
    await sim.waitForReady();
    const again = await sim.request('initialize', {
      protocolVersion: '2024-11-05',
      capabilities: {},
      clientInfo: { name: 'x', version: '1' },
    });
    expect(again).toMatchObject({ ok: true, result: { protocolVersion: '2024-11-05' } });
    expect(await sim.request('tools/list', {})).toMatchObject({
      ok: true,
      result: { tools: [{ name: 'echo' }] },
    });
  });

  it('answers a ping while 20 calls are still running', async () => {
    // The calls finish only when released: a ping queued behind them would never be answered.
    const releases: Array<() => void> = [];
    const { sim, calls } = await start(
      {},
      {
        slow: () =>
          new Promise<ToolResult>((resolve) => releases.push(() => resolve(text('done')))),
      },
    );
    await sim.waitForReady();
    const running = Array.from({ length: 20 }, () => sim.callTool('slow'));
    await waitUntil(() => calls.length === 20, { what: 'the 20 calls to reach the tool' });
    const ping = await sim.request('ping', {}, { timeoutMs: 2_000 });
    expect(ping.ok).toBe(true);
    for (const release of releases) release();
    expect((await Promise.all(running)).every((c) => c.ok)).toBe(true);
  });

  it('cancels the upstream call when its socket dies, and sends nothing on the next socket', async () => {
    let release: (() => void) | undefined;
    const { sim, calls, records } = await start(
      { callTimeoutMs: 5_000 },
      {
        slow: (_a, o) =>
          new Promise((resolve) => {
            // Finishes only when released — after its socket is gone — to tempt a misdelivery.
            release = () => resolve(text('late'));
            void o;
          }),
      },
    );
    await sim.waitForReady();
    const call = sim.callTool('slow').catch((e: Error) => e);
    await waitUntil(() => calls.length === 1);
    sim.terminateSockets();
    expect(await call).toBeInstanceOf(Error);
    await waitUntil(() => calls[0]!.signal!.aborted, { what: 'the upstream call to be cancelled' });
    await sim.waitForReady({ count: 2, timeoutMs: 3_000 });
    release!();
    await waitUntil(() => records.some((r) => r.outcome === 'dropped'), {
      what: 'the late result to be dropped',
    });
    // Answered after it on the new socket: a misdelivered result would have arrived first.
    expect(await sim.request('ping', {})).toMatchObject({ ok: true });
    expect(sim.violations).toEqual([]);
    expect(sim.frames.filter((f) => f.direction === 'in' && f.data.includes('late'))).toEqual([]);
    expect(sim.accounting().maxOpen).toBe(1);
  });

  it('cancels the upstream call when the endpoint sends notifications/cancelled for it, and keeps the socket', async () => {
    const { sim, calls } = await start(
      {},
      {
        slow: (_a, o) =>
          new Promise((resolve) =>
            o.signal?.addEventListener('abort', () => resolve(text('stopped'))),
          ),
        echo,
      },
    );
    await sim.waitForReady();
    sim.sendRaw(
      '{"jsonrpc":"2.0","id":"call-7","method":"tools/call","params":{"name":"slow","arguments":{}}}',
    );
    await waitUntil(() => calls.length === 1, { what: 'the call to reach its server' });
    // Another id is not this call: nothing is cancelled, and nothing is answered.
    sim.notify('notifications/cancelled', { requestId: 'call-8', reason: 'not this one' });
    sim.notify('notifications/cancelled', { requestId: 'call-7', reason: 'user stopped' });
    await waitUntil(() => calls[0]!.signal!.aborted, { what: 'the upstream call to be cancelled' });
    expect(String(calls[0]!.signal!.reason)).toMatch(/cancelled by the endpoint: user stopped/);
    // Same socket, still serving.
    expect(await sim.callTool('echo', { a: 1 })).toMatchObject({
      ok: true,
      result: { content: [{ text: '{"a":1}' }] },
    });
    expect(sim.accounting().handshakes).toBe(1);
    // A cancelled request gets no answer (MCP: the receiver should not send one); the echo's
    // answer came after the cancelled call had ended, so one would have arrived by now.
    expect(sim.frames.filter((f) => f.direction === 'in' && f.data.includes('call-7'))).toEqual([]);
  });

  it('reconnects once, debounced, when its tool set changes, and the endpoint sees the new tools', async () => {
    // The session's timers (and its link's) move only with this clock; the sockets are real.
    const clock = new ManualClock();
    const { sim, session: s, setTools } = await start({}, { echo }, {}, { clock });
    await sim.waitForReady();
    // toolChangeDebounceMs is 50: a second change 30 ms after the first starts the wait again.
    setTools({ echo, add: echo });
    clock.advance(30);
    setTools({ echo, add: echo, sub: echo });
    clock.advance(20);
    expect(s.status.state).toBe('ready');
    clock.advance(29);
    expect(s.status.state).toBe('ready');
    clock.advance(1);
    expect(s.status.state).toBe('reconnecting');
    const ready = await sim.waitForReady({ count: 2, timeoutMs: 3_000 });
    expect(ready.tools.map((t) => t.name)).toEqual(['add', 'echo', 'sub']);
    await waitUntil(() => s.status.state === 'ready', { what: 'the session to be ready again' });
    // Nothing else is due: no second reconnect, however long it waits.
    clock.advance(1_000);
    expect(s.status.state).toBe('ready');
    expect(sim.accounting()).toMatchObject({ handshakes: 2, maxOpen: 1 });
  });

  it('drops a socket on which the endpoint never sends initialize, at handshakeTimeoutMs', async () => {
    // The relay says nothing until a device session starts: nothing ever clears the watchdog.
    const clock = new ManualClock();
    const { session: s } = await start(
      { mode: 'relay' },
      { echo },
      {},
      { clock, handshakeTimeoutMs: 1_000 },
    );
    await waitUntil(() => s.status.state === 'open', { what: 'the socket to open' });
    clock.advance(999);
    expect(s.status.state).toBe('open');
    clock.advance(1);
    expect(s.status).toMatchObject({
      state: 'backoff',
      lastError: 'no initialize within 1000 ms',
    });
  });

  it('keeps a socket on which the endpoint sent initialize in time', async () => {
    const clock = new ManualClock();
    const { sim, session: s } = await start({}, { echo }, {}, { clock, handshakeTimeoutMs: 1_000 });
    await sim.waitForReady();
    await waitUntil(() => s.status.state === 'ready', { what: 'the session to be ready' });
    clock.advance(2_000);
    expect(s.status).toMatchObject({ state: 'ready', lastError: null });
    expect(sim.accounting()).toMatchObject({ opens: 1, closes: 0 });
  });

  it('truncates an oversize result with a clear note', async () => {
    const { sim } = await start(
      {},
      { huge: async () => text('x'.repeat(100_000)) },
      { resultBudgetBytes: 2_000 },
    );
    await sim.waitForReady();
    const outcome = await sim.callTool('huge');
    const result = (outcome as { result: { content: Array<{ text: string }> } }).result;
    expect(JSON.stringify(result).length).toBeLessThanOrEqual(2_000);
    expect(result.content.at(-1)!.text).toMatch(/truncated/);
  });

  it('relays a tool result exactly as the server sent it, content of a kind the SDK does not know included', async () => {
    const sent = {
      content: [
        { type: 'text', text: 'a', annotations: { audience: ['user'] } },
        { type: 'future_kind', payload: { any: ['thing'] } },
      ],
      structuredContent: { n: 1 },
      _meta: { trace: 'x' },
      vendorField: [1, 2, 3],
    };
    const { sim } = await start({}, { odd: async () => sent as never });
    await sim.waitForReady();
    const outcome = await sim.callTool('odd');
    expect(outcome.ok).toBe(true);
    expect(outcome).toHaveProperty('result', sent);
  });

  it('answers an unknown tool with a clear error', async () => {
    const { sim } = await start({}, { echo });
    await sim.waitForReady();
    expect(await sim.callTool('nope')).toMatchObject({
      ok: false,
      error: { code: -32602, message: expect.stringContaining('Unknown tool: nope') },
    });
  });

  it('answers a long call early with a job id, and hands the result over through tether__result', async () => {
    // The early-reply window, tether__result's wait and the results' expiry run on this clock;
    // the link keeps real time, so that minutes can pass here without its heartbeat noticing.
    const clock = new ManualClock();
    const slow = blocked();
    const { sim, calls } = await start(
      {},
      { slow: slow.handler },
      { earlyReplyMs: 100 },
      { clock, linkOptions: { clock: systemClock } },
    );
    await sim.waitForReady();
    const early = sim.callTool('slow');
    await waitUntil(() => calls.length === 1, { what: 'the call to reach the tool' });
    clock.advance(100);
    const job = jobOf(await early);

    // Asked while it still runs: told so at the end of another early-reply window.
    const timers = clock.pending;
    const asked = sim.callTool('tether__result', { job });
    await waitUntil(() => clock.pending > timers, { what: 'tether__result to wait' });
    clock.advance(100);
    expect(JSON.stringify(await asked)).toContain(job);
    expect(JSON.stringify(await asked)).not.toContain('finally');

    slow.finish('finally');
    expect(JSON.stringify(await sim.callTool('tether__result', { job }))).toContain('finally');
    // Taken, it does not wait for its whole time to live (JOB_TTL_MS) as a result never asked for does.
    clock.advance(JOB_TTL_MS / 2);
    expect(JSON.stringify(await sim.callTool('tether__result', { job }))).toContain('No job');
  });
});

describe('results of long calls across a reconnect', () => {
  it('keeps the result for the new socket when the one waiting for it closes', async () => {
    const clock = new ManualClock();
    const slow = blocked();
    const {
      sim,
      calls,
      session: s,
    } = await start({}, { slow: slow.handler }, { earlyReplyMs: 500 }, { clock });
    await sim.waitForReady();
    const early = sim.callTool('slow');
    await waitUntil(() => calls.length === 1, { what: 'the call to reach the tool' });
    clock.advance(500);
    const job = jobOf(await early);
    // Asked again, and the socket closes while that ask waits; the call finishes in its wait,
    // once the session knows the socket that asked is gone.
    const timers = clock.pending;
    const waiting = sim.callTool('tether__result', { job }).catch(() => undefined);
    await waitUntil(() => clock.pending > timers, { what: 'tether__result to wait' });
    sim.closeSockets({ code: 1000, reason: 'bye' });
    await waiting;
    await waitUntil(() => s.status.state === 'backoff', { what: 'the socket to be gone' });
    slow.finish('finally');
    // The link waits out its backoff on the same clock.
    clock.advance(s.status.nextRetryAt! - clock.now());
    await sim.waitForReady({ count: 2, timeoutMs: 5_000 });
    // The model asks on the new socket, as it was told to, and gets the answer.
    const fetched = await sim.callTool('tether__result', { job });
    expect(JSON.stringify(fetched)).toContain('finally');
  });
});

describe('endpoint session against the self-hosted relay', () => {
  it('echoes string ids exactly and serves interleaved handshakes from several robots', async () => {
    const { sim } = await start({ mode: 'relay' }, { echo });
    await sim.waitForReady();
    const robots = await Promise.all([sim.robot(), sim.robot(), sim.robot()]);
    cleanups.push(() => Promise.all(robots.map((r) => r.close())));
    const lists = await Promise.all(robots.map((r) => r.ready));
    expect(lists.map((l) => l.map((t) => t.name))).toEqual([['echo'], ['echo'], ['echo']]);
    expect(await robots[0]!.callTool('echo', { a: 1 })).toMatchObject({
      ok: true,
      result: { content: [{ text: '{"a":1}' }] },
    });
    expect(sim.violations).toEqual([]);
    expect(sim.accounting().maxOpen).toBe(1);
  });
});
