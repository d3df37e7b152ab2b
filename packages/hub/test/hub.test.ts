import { afterEach, describe, expect, it } from 'vitest';
import {
  EndpointSimulator,
  fakeStdioServerParams,
  startFakeHttpServer,
  waitUntil,
} from '@tether/testkit';
import type { FakeHttpServer } from '@tether/testkit';
import { DEFAULT_HUB } from '../src/config/index.js';
import type { TetherConfig } from '../src/config/types.js';
import { Hub } from '../src/hub.js';
import { silentLogger } from '../src/log/logger.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const hubSettings = {
  ...DEFAULT_HUB,
  port: 0,
  callTimeoutMs: 10_000,
  toolChangeDebounceMs: 100,
  earlyReplyMs: 0,
};

async function simulator(options: Parameters<typeof EndpointSimulator.start>[0] = {}) {
  const sim = await EndpointSimulator.start(options);
  cleanups.push(() => sim.close());
  return sim;
}

async function hub(config: TetherConfig) {
  const h = new Hub(config, { logger: silentLogger() });
  cleanups.push(() => h.stop());
  await h.start();
  return h;
}

const endpoint = (
  name: string,
  url: string,
  extra: Partial<TetherConfig['endpoints'][number]> = {},
) => ({
  name,
  url,
  enabled: true,
  tools: { include: ['*'], exclude: [] },
  source: 'file' as const,
  ...extra,
});

const toolNames = (tools: readonly { name: string }[]) => tools.map((t) => t.name);

describe('hub on one node', () => {
  it("serves a stdio server's tools on the endpoint and relays a call", async () => {
    const sim = await simulator();
    const { command, args } = fakeStdioServerParams();
    await hub({
      endpoints: [endpoint('home', sim.url())],
      servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
      hub: hubSettings,
      notifications: [],
    });
    const ready = await sim.waitForReady({ timeoutMs: 10_000 });
    expect(toolNames(ready.tools)).toContain('fake__add');
    expect(await sim.callTool('fake__add', { a: 2, b: 3 })).toMatchObject({
      ok: true,
      result: { content: [{ text: '5' }] },
    });
    expect(sim.violations).toEqual([]);
  });

  it('restarts a crashed upstream, and its tools come back to the endpoint', async () => {
    const sim = await simulator();
    const { command, args } = fakeStdioServerParams();
    const h = await hub({
      endpoints: [endpoint('home', sim.url())],
      servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
      hub: hubSettings,
      notifications: [],
    });
    await sim.waitForReady({ timeoutMs: 10_000 });
    const crash = await sim.callTool('fake__crash', {}, { timeoutMs: 5_000 });
    // The model is told the call failed, and why; the hub does not hang or drop it.
    expect(crash).toMatchObject({ ok: true, result: { isError: true } });
    expect(JSON.stringify(crash)).toMatch(/exit|crash|closed|restart/i);
    await waitUntil(() => h.servers()[0]!.restarts >= 1 && h.servers()[0]!.state === 'ready', {
      timeoutMs: 15_000,
      what: 'the restart',
    });
    await waitUntil(
      async () =>
        (await sim.callTool('fake__echo', { text: 'back' }).catch(() => undefined))?.ok === true,
      {
        timeoutMs: 10_000,
        what: 'the tools to come back',
      },
    );
    expect(sim.accounting().maxOpen).toBe(1);
    expect(sim.violations).toEqual([]);
  });

  it('recovers an HTTP upstream whose session expired (404)', async () => {
    const sim = await simulator();
    const fake: FakeHttpServer = await startFakeHttpServer({ transport: 'http' });
    cleanups.push(() => fake.close());
    await hub({
      endpoints: [endpoint('home', sim.url())],
      servers: [{ name: 'web', type: 'http', url: fake.url, headers: {}, enabled: true }],
      hub: hubSettings,
      notifications: [],
    });
    await sim.waitForReady({ timeoutMs: 10_000 });
    expect(await sim.callTool('web__echo', { text: 'one' })).toMatchObject({ ok: true });
    fake.expireSessions();
    expect(await sim.callTool('web__echo', { text: 'two' })).toMatchObject({
      ok: true,
      result: { content: [{ text: 'two' }] },
    });
  });

  it('applies a configuration change without touching endpoints it does not concern', async () => {
    const sim = await simulator();
    const { command, args } = fakeStdioServerParams();
    const servers = [
      { name: 'fake', type: 'stdio' as const, command, args, env: {}, enabled: true },
    ];
    const h = await hub({
      endpoints: [endpoint('a', sim.url('a')), endpoint('b', sim.url('b'))],
      servers,
      hub: hubSettings,
      notifications: [],
    });
    await sim.waitForReady({ token: 'a', timeoutMs: 10_000 });
    await sim.waitForReady({ token: 'b', timeoutMs: 10_000 });
    await h.apply({
      endpoints: [
        endpoint('a', sim.url('a')),
        endpoint('b', sim.url('b'), { tools: { include: ['fake__echo'], exclude: [] } }),
      ],
      servers,
      hub: hubSettings,
      notifications: [],
    });
    const b = await sim.waitForReady({ token: 'b', count: 2, timeoutMs: 5_000 });
    expect(toolNames(b.tools)).toEqual(['fake__echo']);
    expect(sim.accounting('a')).toMatchObject({ opens: 1, closes: 0 });
    expect(sim.accounting('b').maxOpen).toBe(1);
  });
});
