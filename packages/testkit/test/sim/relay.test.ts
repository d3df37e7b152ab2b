import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EndpointSimulator, SimTimeoutError, TestProvider } from '../../src/sim/index.js';
import { waitUntil } from '../../src/wait.js';
import type { Robot } from '../../src/sim/index.js';

let sim: EndpointSimulator | undefined;
const providers: TestProvider[] = [];
const robots: Robot[] = [];

async function provider(url: string, options: Parameters<typeof TestProvider.connect>[1] = {}) {
  const p = await TestProvider.connect(url, options);
  providers.push(p);
  return p;
}

async function robot(s: EndpointSimulator, timeoutMs?: number) {
  const r = await s.robot('test-token', timeoutMs ? { timeoutMs } : {});
  robots.push(r);
  return r;
}

afterEach(async () => {
  for (const r of robots.splice(0)) await r.close();
  for (const p of providers.splice(0)) p.ws.terminate();
  await sim?.close();
  sim = undefined;
});

const requests = (p: TestProvider) =>
  p.received.filter(
    (m): m is { jsonrpc: '2.0'; id: string; method: string } => 'method' in m && 'id' in m,
  );

describe('relay simulator (self-hosted mcp-endpoint-server)', () => {
  it('serves providers on /mcp_endpoint/mcp/ and robots on /mcp_endpoint/call/', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    expect(sim.url('t')).toMatch(/\/mcp_endpoint\/mcp\/\?token=t$/);
    expect(sim.robotUrl('t')).toMatch(/\/mcp_endpoint\/call\/\?token=t$/);
  });

  it("runs each robot's handshake back to back, with ids rewritten to strings and restored", async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    const p = await provider(sim.url(), {
      tools: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
      pageSize: 2,
    });
    await sim.waitForReady();
    const r = await robot(sim);
    expect((await r.ready).map((t) => t.name)).toEqual(['a', 'b', 'c']);

    const methods = sim.frames.filter((f) => f.direction === 'out').map((f) => JSON.parse(f.data));
    // The first three frames went out before the provider could answer any of them.
    expect(methods.slice(0, 3).map((m) => m.method)).toEqual([
      'initialize',
      'notifications/initialized',
      'tools/list',
    ]);
    const firstIn = sim.frames.findIndex((f) => f.direction === 'in');
    expect(firstIn).toBeGreaterThanOrEqual(3);
    const ids = requests(p).map((m) => m.id);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}_n_0$/);
    // A paged tools/list is followed up with the same id.
    expect(ids.slice(1)).toEqual([ids[1], ids[1]]);
    expect(ids[1]).toMatch(/_n_1$/);

    const outcome = await r.callTool('a', { x: 1 });
    expect(outcome).toMatchObject({ ok: true, id: 2 });
  });

  it('gives two robots interleaved handshakes on one provider socket', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    const p = await provider(sim.url());
    await sim.waitForReady();
    const [r1, r2] = await Promise.all([robot(sim), robot(sim)]);
    await Promise.all([r1.ready, r2.ready]);
    expect(requests(p).filter((m) => m.method === 'initialize')).toHaveLength(2);
    expect(sim.violations).toEqual([]);
  });

  it('answers robots with -32001 when no provider is connected', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    const r = await robot(sim);
    await expect(r.ready).rejects.toThrow(/no MCP provider/);
    expect(await r.callTool('x')).toMatchObject({ ok: false, error: { code: -32001 } });
  });

  it('cannot route a reply with id 0: the referee reports it and the robot waits in vain', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    await provider(sim.url(), {
      respond: { initialize: () => ({ jsonrpc: '2.0', id: 0, result: {} }) },
    });
    await sim.waitForReady();
    const r = await robot(sim, 200);
    await expect(r.ready).rejects.toBeInstanceOf(SimTimeoutError);
    expect(sim.violations.map((v) => v.kind)).toContain('unknown-id');
  });

  it('closes with 1011 when WebSocket pings go unanswered', async () => {
    sim = await EndpointSimulator.start({
      mode: 'relay',
      wsPing: { intervalMs: 50, timeoutMs: 50 },
    });
    const deaf = await provider(sim.url(), { ws: { autoPong: false } });
    expect((await deaf.closed).code).toBe(1011);
  });

  it('keeps a provider that answers WebSocket pings', async () => {
    sim = await EndpointSimulator.start({
      mode: 'relay',
      wsPing: { intervalMs: 30, timeoutMs: 30 },
    });
    const p = await provider(sim.url());
    let pings = 0;
    p.ws.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, 200));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes a bad token with 1008 after accepting the upgrade', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay', tokens: ['good'] });
    const p = await provider(sim.url('bad'));
    expect((await p.closed).code).toBe(1008);
  });

  it('replace bug: the new socket stays open but is unregistered and receives nothing', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay', replaceBug: true });
    const first = await provider(sim.url());
    await sim.waitForReady();
    const second = await provider(sim.url());
    expect((await first.closed).code).toBe(1000);
    await sim.waitFor(() => sim!.sockets().some((s) => s.state === 'unregistered'));
    const r = await robot(sim);
    await expect(r.ready).rejects.toThrow(/no MCP provider/);
    expect(second.ws.readyState).toBe(WebSocket.OPEN);
    expect(second.received).toEqual([]);
  });

  it('without the bug, the new socket takes over', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    const first = await provider(sim.url());
    await sim.waitForReady();
    await provider(sim.url());
    expect((await first.closed).code).toBe(1000);
    const r = await robot(sim);
    await r.ready;
  });

  it('gives in-flight calls no error when the provider drops: the robot times out', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    const p = await provider(sim.url(), { onCall: () => undefined });
    await sim.waitForReady();
    const r = await robot(sim, 300);
    await r.ready;
    const call = r.callTool('echo');
    await waitUntil(() => requests(p).some((m) => m.method === 'tools/call'));
    p.ws.terminate();
    await expect(call).rejects.toBeInstanceOf(SimTimeoutError);
  });

  it('lets tests call tools through an in-process robot', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    await provider(sim.url());
    await sim.waitForReady();
    expect(await sim.callTool('echo', { text: 'x' })).toMatchObject({
      ok: true,
      result: { content: [{ text: '{"text":"x"}' }] },
    });
  });
});
