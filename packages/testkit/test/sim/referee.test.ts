import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, TestProvider } from '../../src/sim/index.js';
import { waitUntil } from '../../src/wait.js';
import type { ViolationKind } from '../../src/sim/index.js';

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

async function violation(s: EndpointSimulator, kind: ViolationKind) {
  await s.waitFor(() => s.violations.some((v) => v.kind === kind), 2_000, `a ${kind} violation`);
  return s.violations.find((v) => v.kind === kind)!;
}

describe('referee', () => {
  it('catches a reply to notifications/initialized', async () => {
    sim = await EndpointSimulator.start();
    await provider(sim.url(), {
      respond: {}, // answered below by a raw frame: an idless response is what naive servers send
    }).then((p) =>
      p.ws.on('message', (data) => {
        if (JSON.parse(data.toString()).method === 'notifications/initialized')
          p.sendRaw('{"jsonrpc":"2.0","result":{}}');
      }),
    );
    const v = await violation(sim, 'reply-to-notification');
    expect(v.frame).toBe('{"jsonrpc":"2.0","result":{}}');
  });

  it('catches a response with id null as a reply to a notification', async () => {
    sim = await EndpointSimulator.start();
    const p = await provider(sim.url());
    await sim.waitForReady();
    p.sendRaw('{"jsonrpc":"2.0","id":null,"result":{}}');
    await violation(sim, 'reply-to-notification');
  });

  it('catches a reply whose id was never sent, including "0" for 0', async () => {
    sim = await EndpointSimulator.start({ handshakeTimeoutMs: 300 });
    await provider(sim.url(), {
      respond: {
        initialize: (r) => ({
          jsonrpc: '2.0',
          id: String(r.id),
          result: { protocolVersion: '2024-11-05', capabilities: {} },
        }),
      },
    });
    const v = await violation(sim, 'unknown-id');
    expect(v.detail).toContain('"0" (string)');
  });

  it('catches a result computed before a drop and sent on the next socket', async () => {
    sim = await EndpointSimulator.start({ callTimeoutMs: 5_000 });
    const first = await provider(sim.url(), { onCall: () => undefined });
    await sim.waitForReady();
    const call = sim.callTool('echo', { text: 'late' }).catch((e: Error) => e);
    await waitUntil(() => first.received.some((m) => 'method' in m && m.method === 'tools/call'));
    const callId = first.received.find((m) => 'method' in m && m.method === 'tools/call')!;
    sim.closeSockets({ code: 1011, reason: 'gone' });
    expect(await call).toBeInstanceOf(Error);
    const second = await provider(sim.url());
    await sim.waitForReady({ count: 2 });
    second.send({ jsonrpc: '2.0', id: (callId as { id: number }).id, result: { content: [] } });
    const v = await violation(sim, 'wrong-socket');
    expect(v.socketId).toBe('s2');
    expect(v.detail).toContain('s1');
  });

  it('catches a reply sent on another live socket than its request', async () => {
    sim = await EndpointSimulator.start({ secondSocket: 'allow' });
    await provider(sim.url(), { onCall: () => undefined });
    await sim.waitForReady();
    const other = await provider(sim.url());
    await sim.waitForReady({ count: 2 });
    void sim.callTool('echo', {}, { socketId: 's1', timeoutMs: 2_000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
    other.send({ jsonrpc: '2.0', id: 2, result: { content: [] } });
    await violation(sim, 'wrong-socket');
  });

  it('catches a second reply to the same request', async () => {
    sim = await EndpointSimulator.start();
    await provider(sim.url(), {
      onCall: (_n, _a, request) => {
        providers[0]!.send({ jsonrpc: '2.0', id: request.id, result: { content: [] } });
        return { content: [] };
      },
    });
    await sim.waitForReady();
    await sim.callTool('echo');
    await violation(sim, 'duplicate-reply');
  });

  it.each([
    ['text that is not JSON', 'hello'],
    ['a JSON-RPC 1.0 object', '{"jsonrpc":"1.0","id":1,"result":{}}'],
    ['a batch', '[{"jsonrpc":"2.0","method":"x"}]'],
  ])('catches a malformed frame: %s', async (_label, frame) => {
    sim = await EndpointSimulator.start();
    const p = await provider(sim.url());
    await sim.waitForReady();
    p.sendRaw(frame);
    const v = await violation(sim, 'malformed-frame');
    expect(v.frame).toBe(frame);
  });

  it('catches a binary frame as malformed', async () => {
    sim = await EndpointSimulator.start();
    const p = await provider(sim.url());
    await sim.waitForReady();
    p.sendRaw(Buffer.from('{"jsonrpc":"2.0","id":1,"result":{}}'));
    expect((await violation(sim, 'malformed-frame')).detail).toBe('binary frame');
  });

  it('finds nothing to report in a clean session', async () => {
    sim = await EndpointSimulator.start({ jsonRpcPing: { intervalMs: 20 } });
    await provider(sim.url());
    await sim.waitForReady();
    await sim.callTool('echo', { a: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.violations).toEqual([]);
  });
});
