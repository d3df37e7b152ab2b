import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ToolCallEntry } from '../../src/store/types.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A hub with one stdio server of 40 tools and one endpoint with a budget of 10. */
async function started() {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const { command, args } = fakeStdioServerParams({ extraTools: 30 });
  const config: TetherConfig = {
    endpoints: [
      {
        name: 'home',
        url: sim.url('home'),
        enabled: true,
        tools: { include: ['*'], exclude: [], budget: 10, pinned: ['fake__add'] },
        source: 'file',
      },
    ],
    servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
    hub: { ...DEFAULT_HUB, port: 0, earlyReplyMs: 0, toolChangeDebounceMs: 50 },
    notifications: [],
  };
  const hub = new Hub(config, { logger: silentLogger() });
  cleanups.push(() => hub.stop());
  const calls: ToolCallEntry[] = [];
  hub.on('call', (entry) => void calls.push(entry));
  await hub.start();
  const ready = await sim.waitForReady({ token: 'home', timeoutMs: 10_000 });
  return { sim, hub, calls, config, served: ready.tools.map((t) => t.name) };
}

const text = (outcome: unknown) =>
  (outcome as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;

describe('a hub endpoint with tools.budget', () => {
  it('gets its pinned tool and the router, and reaches every other tool through it', async () => {
    const { sim, hub, calls, served } = await started();
    expect(served).toEqual(['fake__add', 'tether__find_tools', 'tether__call_tool']);
    expect(hub.tools().length).toBeGreaterThan(10);
    const search = await sim.callTool(
      'tether__find_tools',
      { query: 'returns text' },
      { token: 'home' },
    );
    expect(text(search)).toContain('"name":"fake__echo"');
    const outcome = await sim.callTool(
      'tether__call_tool',
      { name: 'fake__echo', arguments: { text: 'hello' } },
      { token: 'home' },
    );
    expect(text(outcome)).toBe('hello');
    await waitUntil(() => calls.some((c) => c.tool === 'fake__echo'), { what: 'the call log row' });
    expect(calls.find((c) => c.tool === 'fake__echo')).toMatchObject({
      endpointId: 'home',
      server: 'fake',
      outcome: 'ok',
      meta: { via: 'router' },
    });
    expect(calls.find((c) => c.tool === 'tether__find_tools')).toMatchObject({
      meta: { via: 'router', query: 'returns text', found: expect.arrayContaining(['fake__echo']) },
    });
  });

  it('refuses through the router a tool switched off for the endpoint', async () => {
    const { sim, hub } = await started();
    await hub.setTool('home', 'fake__echo', false);
    const outcome = await sim.callTool(
      'tether__call_tool',
      { name: 'fake__echo', arguments: { text: 'hello' } },
      { token: 'home' },
    );
    expect(text(outcome)).toMatch(/^No tool "fake__echo" on this endpoint/);
  });

  it('takes a reload of the budget and the pinned tools live: the endpoint is sent the new set', async () => {
    const { sim, hub, config } = await started();
    const home = config.endpoints[0]!;
    await hub.apply({
      ...config,
      endpoints: [{ ...home, tools: { ...home.tools, pinned: ['fake__add', 'fake__echo'] } }],
    });
    const pinned = await sim.waitForReady({ token: 'home', count: 2, timeoutMs: 10_000 });
    expect(pinned.tools.map((t) => t.name)).toEqual([
      'fake__add',
      'fake__echo',
      'tether__find_tools',
      'tether__call_tool',
    ]);
    await hub.apply({
      ...config,
      endpoints: [{ ...home, tools: { include: ['*'], exclude: [] } }],
    });
    const all = await sim.waitForReady({ token: 'home', count: 3, timeoutMs: 10_000 });
    expect(all.tools.length).toBe(hub.tools().length);
  });
});
