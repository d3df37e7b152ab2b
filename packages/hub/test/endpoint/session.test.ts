import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, waitUntil } from '@tether/testkit';
import { session, sleepFor, text } from './harness.js';
import type { Handler } from './harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  options: Parameters<typeof EndpointSimulator.start>[0],
  tools: Record<string, Handler>,
  overrides = {},
) {
  const sim = await EndpointSimulator.start(options);
  cleanups.push(() => sim.close());
  const harness = session(sim.url(), tools, overrides);
  harness.session.start();
  cleanups.push(() => harness.session.stop());
  return { sim, ...harness };
}

const echo: Handler = async (args) => text(JSON.stringify(args ?? {}));

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
    await new Promise((r) => setTimeout(r, 50));
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

  it('answers a ping within 50 ms while 20 slow calls run', async () => {
    const { sim } = await start(
      {},
      { slow: async (_a, o) => (await sleepFor(1_000, o.signal), text('done')) },
    );
    await sim.waitForReady();
    const calls = Array.from({ length: 20 }, () => sim.callTool('slow'));
    await new Promise((r) => setTimeout(r, 50));
    const ping = await sim.request('ping', {});
    expect(ping.ok).toBe(true);
    expect(ping.ms).toBeLessThan(50);
    expect((await Promise.all(calls)).every((c) => c.ok)).toBe(true);
  });

  it('cancels the upstream call when its socket dies, and sends nothing on the next socket', async () => {
    let release: (() => void) | undefined;
    const { sim, calls } = await start(
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
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.violations).toEqual([]);
    expect(sim.frames.filter((f) => f.direction === 'in' && f.data.includes('late'))).toEqual([]);
    expect(sim.accounting().maxOpen).toBe(1);
  });

  it('reconnects once, debounced, when its tool set changes, and the endpoint sees the new tools', async () => {
    const { sim, setTools } = await start({}, { echo });
    await sim.waitForReady();
    setTools({ echo, add: echo });
    setTools({ echo, add: echo, sub: echo });
    const ready = await sim.waitForReady({ count: 2, timeoutMs: 3_000 });
    expect(ready.tools.map((t) => t.name)).toEqual(['add', 'echo', 'sub']);
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.accounting()).toMatchObject({ handshakes: 2, maxOpen: 1 });
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

  it('answers an unknown tool with a clear error', async () => {
    const { sim } = await start({}, { echo });
    await sim.waitForReady();
    expect(await sim.callTool('nope')).toMatchObject({
      ok: false,
      error: { code: -32602, message: expect.stringContaining('Unknown tool: nope') },
    });
  });

  it('answers a long call early with a job id, and hands the result over through tether__result', async () => {
    const { sim } = await start(
      {},
      { slow: async () => (await sleepFor(300), text('finally')) },
      { earlyReplyMs: 100 },
    );
    await sim.waitForReady();
    const early = (await sim.callTool('slow')) as {
      ok: true;
      result: { content: Array<{ text: string }> };
    };
    const job = /"job": "([0-9a-f]+)"/.exec(early.result.content[0]!.text)![1]!;
    const fetched = await sim.callTool('tether__result', { job });
    const texts = (r: unknown) => JSON.stringify(r);
    // Within the early-reply window again: still running, or the result if it finished meanwhile.
    const final = texts(fetched).includes('finally')
      ? fetched
      : await sim.callTool('tether__result', { job });
    expect(texts(final)).toContain('finally');
    expect(texts(await sim.callTool('tether__result', { job }))).toContain('No job');
  });
});

describe('results of long calls across a reconnect', () => {
  it('keeps the result for the new socket when the one waiting for it closes', async () => {
    const { sim } = await start(
      {},
      { slow: async () => (await sleepFor(800), text('finally')) },
      { earlyReplyMs: 500 },
    );
    await sim.waitForReady();
    const early = (await sim.callTool('slow')) as {
      ok: true;
      result: { content: Array<{ text: string }> };
    };
    const job = /"job": "([0-9a-f]+)"/.exec(early.result.content[0]!.text)![1]!;
    // Asked again, and the socket closes while that ask waits; the call finishes in its wait.
    const waiting = sim.callTool('tether__result', { job }).catch(() => undefined);
    await sleepFor(50);
    sim.closeSockets({ code: 1000, reason: 'bye' });
    await waiting;
    await sim.waitForReady({ count: 2, timeoutMs: 5_000 });
    await sleepFor(500);
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
