import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import type { CallOutcome } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { HubSettings } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';
import { session, sleepFor, text } from '../endpoint/harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator() {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  return sim;
}

const endpoint = (name: string, url: string) => ({
  name,
  url,
  enabled: true,
  tools: { include: ['*'], exclude: [] },
  source: 'file' as const,
});

async function hubWith(sim: EndpointSimulator, hub: Partial<HubSettings> = {}) {
  const { command, args } = fakeStdioServerParams();
  const h = new Hub(
    {
      endpoints: [endpoint('a', sim.url('token-a')), endpoint('b', sim.url('token-b'))],
      servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
      hub: { ...DEFAULT_HUB, port: 0, callTimeoutMs: 10_000, earlyReplyMs: 0, ...hub },
      notifications: [],
    },
    { logger: silentLogger() },
  );
  cleanups.push(() => h.stop());
  await h.start();
  await sim.waitForReady({ token: 'token-a', timeoutMs: 10_000 });
  await sim.waitForReady({ token: 'token-b', timeoutMs: 10_000 });
  return h;
}

/** The first text of a call's result; a JSON-RPC error shows as its message, to fail clearly. */
const firstText = (outcome: CallOutcome) =>
  outcome.ok
    ? (outcome.result as { content: Array<{ text: string }> }).content[0]!.text
    : `JSON-RPC error ${outcome.error.code}: ${outcome.error.message}`;

describe('oversize input from an endpoint', () => {
  it('refuses a 50 MB frame while the upstream stays up and other calls keep answering', async () => {
    const sim = await simulator();
    const hub = await hubWith(sim);
    const pid = hub.servers().find((s) => s.name === 'fake')!.pid;

    const huge = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'fake__echo', arguments: { text: 'x'.repeat(50 * 2 ** 20) } },
    });
    sim.sendRaw(huge, { token: 'token-a' });
    // The other endpoint is not disturbed while that happens.
    expect(
      firstText(await sim.callTool('fake__echo', { text: 'still here' }, { token: 'token-b' })),
    ).toBe('still here');
    await waitUntil(
      () => /byte limit/.test(hub.endpoints().find((e) => e.name === 'a')!.lastError ?? ''),
      {
        timeoutMs: 5_000,
        what: 'endpoint a refusing the frame',
      },
    );
    expect(hub.endpoints().find((e) => e.name === 'a')!.lastError).toMatch(
      /over the 4194304-byte limit/,
    );
    // Never forwarded: the upstream saw no such call and is the same process.
    const server = hub.servers().find((s) => s.name === 'fake')!;
    expect(server.state).toBe('ready');
    expect(server.pid).toBe(pid);
    await sim.waitForReady({ token: 'token-a', count: 2, timeoutMs: 5_000 });
    expect(
      firstText(await sim.callTool('fake__echo', { text: 'back' }, { token: 'token-a' })),
    ).toBe('back');
  });

  it('refuses arguments over hub.limits.argumentsBytes without reaching the upstream', async () => {
    const sim = await simulator();
    const hub = await hubWith(sim, {
      limits: { ...DEFAULT_HUB.limits, frameBytes: 32 * 2 ** 20, argumentsBytes: 2 ** 20 },
    });
    const pid = hub.servers().find((s) => s.name === 'fake')!.pid;
    const outcome = await sim.callTool(
      'fake__echo',
      { text: 'x'.repeat(11 * 2 ** 20) },
      {
        token: 'token-a',
        timeoutMs: 5_000,
      },
    );
    expect(firstText(outcome)).toMatch(/UPSTREAM_ARGUMENTS_TOO_LARGE/);
    expect(firstText(await sim.callTool('fake__echo', { text: 'ok' }, { token: 'token-a' }))).toBe(
      'ok',
    );
    expect(hub.servers().find((s) => s.name === 'fake')!.pid).toBe(pid);
  });
});

describe('every request gets an answer', () => {
  it('answers unusable ids with -32600 to id null and bad params with -32602 to the id', async () => {
    const sim = await simulator();
    const s = session(sim.url(), { echo: async () => text('hi') });
    cleanups.push(() => s.session.stop());
    s.session.start();
    await sim.waitForReady({ timeoutMs: 5_000 });

    const sent = sim.frames.length;
    const raw = [
      '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1e308,"method":"ping"}',
      '{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}',
      '{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":"hello"}',
      '{"jsonrpc":"2.0","method":"notifications/initialized","params":"hello"}',
    ];
    for (const frame of raw) sim.sendRaw(frame);
    const answers = () =>
      sim.frames
        .slice(sent)
        .filter((f) => f.direction === 'in')
        .map(
          (f) => JSON.parse(f.data) as { id: unknown; error?: { code: number; message: string } },
        );
    await waitUntil(() => answers().length >= 4, { timeoutMs: 5_000, what: 'four answers' });
    await sleepFor(100);
    const got = answers();
    // Four requests, four answers; the notification is never answered.
    expect(got).toHaveLength(4);
    expect(got.slice(0, 3).map((a) => [a.id, a.error?.code])).toEqual([
      [null, -32600],
      [null, -32600],
      [null, -32600],
    ]);
    expect(got[0]!.error!.message).toMatch(/integer/);
    expect(got[3]).toMatchObject({ id: 's-1', error: { code: -32602 } });
    expect(got[3]!.error!.message).toMatch(/params must be an object/);
    // The socket stays up and answers the next call.
    expect(firstText(await sim.callTool('echo', {}))).toBe('hi');
  });

  it('answers array params and a bad progress token with -32602 to the request, and keeps serving', async () => {
    const sim = await simulator();
    const s = session(sim.url(), { echo: async () => text('hi') });
    cleanups.push(() => s.session.stop());
    s.session.start();
    await sim.waitForReady({ timeoutMs: 5_000 });

    const sent = sim.frames.length;
    const call = (id: unknown, params: unknown) =>
      JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });
    const echo = (meta: unknown) => ({ name: 'echo', arguments: {}, _meta: meta });
    const raw = [
      call(21, [1, 2]),
      '{"jsonrpc":"2.0","id":"s-22","method":"ping","params":[]}',
      '{"jsonrpc":"2.0","id":23,"method":"tools/list","params":["cursor"]}',
      call(24, echo({ progressToken: 1.5 })),
      call('s-25', echo({ progressToken: { a: 1 } })),
      call(26, echo({ progressToken: null })),
      call(27, echo({ progressToken: true })),
      call(28, echo('meta')),
      call(29, echo([])),
    ];
    for (const frame of raw) sim.sendRaw(frame);
    const answers = () =>
      sim.frames
        .slice(sent)
        .filter((f) => f.direction === 'in')
        .map(
          (f) => JSON.parse(f.data) as { id: unknown; error?: { code: number; message: string } },
        );
    await waitUntil(() => answers().length >= raw.length, {
      timeoutMs: 2_000,
      what: `${raw.length} answers`,
    }).catch(() => {});
    await sleepFor(100);
    // Exactly one answer each, to its own id, saying what was wrong.
    expect(answers().map((a) => [a.id, a.error?.code])).toEqual(
      [21, 's-22', 23, 24, 's-25', 26, 27, 28, 29].map((id) => [id, -32602]),
    );
    expect(answers()[0]!.error!.message).toMatch(/params must be an object/);
    expect(answers()[3]!.error!.message).toMatch(/progressToken/);
    expect(answers()[7]!.error!.message).toMatch(/_meta/);
    // The hub stays up: the same socket answers the next call, with a good progress token too.
    expect(firstText(await sim.callTool('echo', {}))).toBe('hi');
    expect(
      await sim.request('tools/call', {
        name: 'echo',
        arguments: {},
        _meta: { progressToken: 'p' },
      }),
    ).toMatchObject({ ok: true, result: { content: [{ text: 'hi' }] } });
    expect(sim.sockets()).toHaveLength(1);
  });

  it('never answers a response, good or bad, so the two sides cannot ping-pong', async () => {
    const sim = await simulator();
    const s = session(sim.url(), { echo: async () => text('hi') });
    cleanups.push(() => s.session.stop());
    s.session.start();
    await sim.waitForReady({ timeoutMs: 5_000 });

    const sent = sim.frames.length;
    const raw = [
      '{"jsonrpc":"2.0","id":5,"result":1}',
      '{"jsonrpc":"2.0","id":5,"result":{}}',
      '{"jsonrpc":"2.0","id":1.5,"result":{}}',
      '{"jsonrpc":"2.0","id":{},"error":{"code":-32600,"message":"x"}}',
      '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}',
      '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}',
      '{"jsonrpc":"2.0","id":6,"error":"bad"}',
      '{"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1,"message":"x"}}',
      '{"jsonrpc":"1.0","id":8,"result":{}}',
      '{"jsonrpc":"2.0","id":9}',
    ];
    for (const frame of raw) sim.sendRaw(frame);
    // A request after them: its answer is the only one that comes back.
    expect(await sim.request('ping', {})).toMatchObject({ ok: true });
    await sleepFor(100);
    const answers = sim.frames
      .slice(sent)
      .filter((f) => f.direction === 'in')
      .map((f) => JSON.parse(f.data) as { id: unknown });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ result: {} });
    expect(firstText(await sim.callTool('echo', {}))).toBe('hi');
  });

  it('refuses calls past hub.limits.callsPerEndpoint at once, with a clear error', async () => {
    const sim = await simulator();
    const s = session(
      sim.url(),
      { slow: async (_args, options) => (await sleepFor(1_000, options.signal), text('done')) },
      { limits: { ...DEFAULT_HUB.limits, callsPerEndpoint: 2 } },
    );
    cleanups.push(() => s.session.stop());
    s.session.start();
    await sim.waitForReady({ timeoutMs: 5_000 });
    const running = [sim.callTool('slow'), sim.callTool('slow')];
    await waitUntil(() => s.calls.length === 2, { timeoutMs: 2_000, what: 'two calls running' });
    const started = Date.now();
    const third = await sim.callTool('slow');
    expect(Date.now() - started).toBeLessThan(500);
    expect(firstText(third)).toMatch(/already running 2 calls for this endpoint/);
    expect((await Promise.all(running)).map(firstText)).toEqual(['done', 'done']);
  });
});
