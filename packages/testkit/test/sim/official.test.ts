import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EndpointSimulator, SimTimeoutError, TestProvider } from '../../src/sim/index.js';

let sim: EndpointSimulator | undefined;
const providers: TestProvider[] = [];

async function provider(url: string, options: Parameters<typeof TestProvider.connect>[1] = {}) {
  const p = await TestProvider.connect(url, options);
  providers.push(p);
  return p;
}

afterEach(async () => {
  for (const p of providers.splice(0)) p.ws.terminate();
  await sim?.close();
  sim = undefined;
});

function outgoing(s: EndpointSimulator) {
  return s.frames.filter((f) => f.direction === 'out').map((f) => JSON.parse(f.data));
}

describe('official endpoint simulator: handshake', () => {
  it('sends initialize with id 0, waits for the reply, then notifications/initialized and tools/list with id 1', async () => {
    sim = await EndpointSimulator.start();
    await provider(sim.url(), { tools: [{ name: 'calc__add', inputSchema: { type: 'object' } }] });
    const ready = await sim.waitForReady();

    const sequence = sim.frames.map((f) => {
      const m = JSON.parse(f.data);
      return `${f.direction} ${m.method ?? 'reply'} ${m.id ?? '-'}`;
    });
    expect(sequence).toEqual([
      'out initialize 0',
      'in reply 0',
      'out notifications/initialized -',
      'out tools/list 1',
      'in reply 1',
    ]);
    const init = outgoing(sim)[0];
    expect(init.params).toMatchObject({
      protocolVersion: '2024-11-05',
      clientInfo: { name: 'xz-mcp-broker' },
    });
    expect(ready.tools.map((t) => t.name)).toEqual(['calc__add']);
    expect(sim.violations).toEqual([]);
  });

  it('follows nextCursor until every page of tools is read', async () => {
    sim = await EndpointSimulator.start();
    const tools = Array.from({ length: 5 }, (_, i) => ({ name: `t${i}` }));
    await provider(sim.url(), { tools, pageSize: 2 });
    const ready = await sim.waitForReady();
    expect(ready.tools.map((t) => t.name)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    const lists = outgoing(sim).filter((m) => m.method === 'tools/list');
    expect(lists.map((m) => [m.id, m.params.cursor])).toEqual([
      [1, undefined],
      [2, '2'],
      [3, '4'],
    ]);
  });

  it('closes with 4004 when the provider answers initialize with an error', async () => {
    sim = await EndpointSimulator.start();
    const p = await provider(sim.url(), {
      respond: {
        initialize: (r) => ({ jsonrpc: '2.0', id: r.id, error: { code: -32603, message: 'nope' } }),
      },
    });
    expect((await p.closed).code).toBe(4004);
    await sim.waitFor(() => sim!.accounting().closes === 1);
    expect(sim.accounting().timeline.at(-1)).toMatchObject({
      type: 'close',
      code: 4004,
      by: 'simulator',
    });
  });

  it('closes with 4004 when initialize goes unanswered past the handshake timeout', async () => {
    sim = await EndpointSimulator.start({ handshakeTimeoutMs: 100 });
    const p = await provider(sim.url(), { ignore: ['initialize'] });
    expect((await p.closed).code).toBe(4004);
  });
});

describe('official endpoint simulator: calls, pings and closes', () => {
  it('sends tool calls with the extra keys and the next id of the socket counter', async () => {
    sim = await EndpointSimulator.start({ agentId: 42 });
    const p = await provider(sim.url());
    await sim.waitForReady();
    const outcome = await sim.callTool('echo', { text: 'hi' });
    expect(outcome).toMatchObject({
      ok: true,
      id: 2,
      result: { content: [{ type: 'text', text: '{"text":"hi"}' }] },
    });
    const call = p.received.find((m) => 'method' in m && m.method === 'tools/call');
    expect(call).toEqual({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'echo',
        arguments: { text: 'hi' },
        clientId: null,
        serialNumber: null,
        _meta: { agentId: 42 },
      },
    });
  });

  it('gives up on a call after the call timeout, and a late reply is no violation', async () => {
    sim = await EndpointSimulator.start({ callTimeoutMs: 100 });
    let late: (() => void) | undefined;
    await provider(sim.url(), {
      onCall: (_name, _args, request) =>
        new Promise(
          (resolve) => (late = () => resolve({ content: [], isError: false, id: request.id })),
        ),
    });
    await sim.waitForReady();
    await expect(sim.callTool('echo')).rejects.toBeInstanceOf(SimTimeoutError);
    late?.();
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.violations).toEqual([]);
  });

  it('pings with JSON-RPC and closes 4004 after N unanswered pings', async () => {
    sim = await EndpointSimulator.start({ jsonRpcPing: { intervalMs: 40, maxMissed: 2 } });
    const p = await provider(sim.url(), { ignore: ['ping'] });
    const closed = await p.closed;
    expect(closed.code).toBe(4004);
    expect(
      p.received.filter((m) => 'method' in m && m.method === 'ping').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('keeps a provider that answers its pings', async () => {
    sim = await EndpointSimulator.start({ jsonRpcPing: { intervalMs: 30, maxMissed: 2 } });
    const p = await provider(sim.url());
    await sim.waitForReady();
    await new Promise((r) => setTimeout(r, 250));
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
    expect(
      p.received.filter((m) => 'method' in m && m.method === 'ping').length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('closes a socket with any code on demand', async () => {
    sim = await EndpointSimulator.start();
    const p = await provider(sim.url());
    await sim.waitForReady();
    expect(sim.closeSockets({ code: 4004, reason: 'Internal server error' })).toBe(1);
    expect(await p.closed).toEqual({ code: 4004, reason: 'Internal server error' });
  });

  it('rejects a bad token with the configured close code', async () => {
    sim = await EndpointSimulator.start({
      tokens: ['good'],
      badToken: { code: 4401, reason: 'bad token' },
    });
    const bad = await provider(sim.url('evil'));
    expect(await bad.closed).toEqual({ code: 4401, reason: 'bad token' });
    await provider(sim.url('good'));
    await sim.waitForReady({ token: 'good' });
  });
});

describe('official endpoint simulator: second socket on one token', () => {
  it('replace: closes the old socket with 1000 and handshakes the new one', async () => {
    sim = await EndpointSimulator.start({ secondSocket: 'replace' });
    const first = await provider(sim.url());
    await sim.waitForReady();
    await provider(sim.url());
    expect((await first.closed).code).toBe(1000);
    await sim.waitForReady({ count: 2 });
    const acc = sim.accounting();
    expect(acc).toMatchObject({ openNow: 1, maxOpen: 2, opens: 2, closes: 1, handshakes: 2 });
    expect(acc.timeline.map((e) => e.type)).toEqual(['open', 'ready', 'open', 'close', 'ready']);
  });

  it('reject: closes the newcomer and keeps the first', async () => {
    sim = await EndpointSimulator.start({
      secondSocket: 'reject',
      rejectClose: { code: 4009, reason: 'busy' },
    });
    const first = await provider(sim.url());
    await sim.waitForReady();
    const second = await provider(sim.url());
    expect((await second.closed).code).toBe(4009);
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    await sim.waitFor(() => sim!.accounting().closes === 1);
    expect(sim.accounting()).toMatchObject({ openNow: 1, maxOpen: 2 });
  });

  it('allow: both stay open and the most ever open is counted', async () => {
    sim = await EndpointSimulator.start({ secondSocket: 'allow' });
    await provider(sim.url());
    await provider(sim.url());
    await sim.waitForReady({ count: 2 });
    expect(sim.accounting()).toMatchObject({ openNow: 2, maxOpen: 2 });
    expect(sim.sockets().filter((s) => s.state === 'ready')).toHaveLength(2);
  });

  it('counts sockets per token, apart from other tokens', async () => {
    sim = await EndpointSimulator.start();
    await provider(sim.url('a'));
    const b = await provider(sim.url('b'));
    await sim.waitForReady({ token: 'a' });
    await sim.waitForReady({ token: 'b' });
    await b.close();
    await sim.waitFor(() => sim!.accounting('b').openNow === 0);
    expect(sim.accounting('a')).toMatchObject({ openNow: 1, opens: 1 });
    expect(sim.accounting('b')).toMatchObject({ openNow: 0, opens: 1, closes: 1 });
    expect(sim.accounting('b').timeline.at(-1)).toMatchObject({
      type: 'close',
      code: 1000,
      by: 'provider',
    });
  });
});
