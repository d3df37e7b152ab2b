import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { ServerConfig, TetherConfig } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { createLogger } from '../../src/log/logger.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { command, args } = fakeStdioServerParams();

function setup(sim: EndpointSimulator, server: Partial<ServerConfig>, include = ['*']) {
  return {
    endpoints: [
      {
        name: 'home',
        url: sim.url('home'),
        enabled: true,
        tools: { include, exclude: [] },
        source: 'file',
      },
    ],
    servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true, ...server }],
    hub: {
      ...DEFAULT_HUB,
      port: 0,
      earlyReplyMs: 0,
      callTimeoutMs: 10_000,
      toolChangeDebounceMs: 50,
    },
    notifications: [],
  } as TetherConfig;
}

/** A hub on the configuration `make` gives for a fresh simulator, with its log lines. */
async function started(make: (sim: EndpointSimulator) => TetherConfig) {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const lines: string[] = [];
  const logger = createLogger({
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
    pretty: false,
  });
  const config = make(sim);
  const hub = new Hub(config, { logger });
  cleanups.push(() => hub.stop());
  await hub.start();
  return { sim, hub, lines, config };
}

const served = async (sim: EndpointSimulator, count = 1) =>
  (await sim.waitForReady({ token: 'home', count, timeoutMs: 10_000 })).tools.map((t) => t.name);

describe('the names an endpoint is served', () => {
  it('start with the server’s toolPrefix, and a call by that name reaches the server’s own tool', async () => {
    const { sim } = await started((s) => setup(s, { toolPrefix: 'f' }));
    const names = await served(sim);
    expect(names).toContain('f__add');
    expect(names.some((n) => n.startsWith('fake__'))).toBe(false);
    expect(await sim.callTool('f__add', { a: 2, b: 3 }, { token: 'home' })).toMatchObject({
      ok: true,
      result: { content: [{ text: '5' }] },
    });
    expect(await sim.callTool('fake__add', { a: 2, b: 3 }, { token: 'home' })).toMatchObject({
      ok: false,
      error: { message: 'Unknown tool: fake__add' },
    });
  });

  it('are the tools’ own names with toolPrefix "", and the include globs select by them', async () => {
    const { sim } = await started((s) => setup(s, { toolPrefix: '' }, ['add', 'echo']));
    expect(await served(sim)).toEqual(['add', 'echo']);
  });

  it('are what a tool switch names: switched off by its served name, it leaves the endpoint', async () => {
    const { sim, hub } = await started((s) => setup(s, { toolPrefix: 'f' }));
    expect(await served(sim)).toContain('f__echo');
    expect(hub.endpointTools('home')).toContainEqual({
      name: 'f__echo',
      server: 'fake',
      enabled: true,
    });
    await hub.setTool('home', 'f__echo', false);
    const after = await served(sim, 2);
    expect(after).not.toContain('f__echo');
    expect(after).toContain('f__add');
    expect(hub.endpointTools('home')).toContainEqual({
      name: 'f__echo',
      server: 'fake',
      enabled: false,
    });
  });

  it('change on the endpoint when a reload changes the prefix, and the server is not restarted', async () => {
    const { sim, hub, lines, config } = await started((s) => setup(s, {}));
    expect(await served(sim)).toContain('fake__add');
    const pid = hub.servers()[0]!.pid;
    await hub.apply({
      ...config,
      servers: [{ ...config.servers[0]!, toolPrefix: 'calc' }],
    });
    const after = await served(sim, 2);
    expect(after).toContain('calc__add');
    expect(after).not.toContain('fake__add');
    expect(hub.servers()[0]).toMatchObject({ pid, restarts: 0, state: 'ready' });
    await waitUntil(() => lines.some((l) => l.includes('"retooled":["fake"]')), {
      what: 'the reload’s log line naming the retooled server',
    });
    expect(hub.tools().map((t) => t.name)).toContain('calc__add');
  });

  it('keep their suffix while a server whose tools collide with them is down', async () => {
    // Both servers serve the same tools without a prefix: every name collides and carries a
    // hash. When `b` crashes, `a`'s names must not lose theirs, nor change back when `b` returns.
    const b = fakeStdioServerParams({ crashAfter: 1 });
    const { sim, hub } = await started((s) => {
      const config = setup(s, { name: 'a', toolPrefix: '' });
      config.servers.push({ ...config.servers[0]!, name: 'b', ...b });
      return config;
    });
    const before = await served(sim);
    const ofA = () =>
      hub
        .tools()
        .filter((t) => t.server === 'a')
        .map((t) => t.name);
    const namesOfA = ofA();
    expect(namesOfA.length).toBeGreaterThan(0);
    expect(namesOfA.every((n) => /_[0-9a-f]{6}$/.test(n))).toBe(true);
    const seen: string[][] = [];
    const withoutB: string[][] = [];
    hub.on('tools', () => {
      seen.push(ofA());
      if (!hub.tools().some((t) => t.server === 'b')) withoutB.push(ofA());
    });
    const echoOfB = hub.tools().find((t) => t.server === 'b' && t.tool === 'echo')!.name;
    await sim.callTool(echoOfB, { text: 'crash' }, { token: 'home' });
    await waitUntil(() => withoutB.length > 0, { timeoutMs: 10_000, what: 'b to be down' });
    await waitUntil(() => hub.servers().every((x) => x.state === 'ready'), {
      timeoutMs: 15_000,
      what: 'b to be back',
    });
    expect(withoutB[0]).toEqual(namesOfA);
    for (const names of seen) expect(names).toEqual(namesOfA);
    expect(ofA()).toEqual(namesOfA);
    expect(before).toEqual(expect.arrayContaining(namesOfA));
  });
});
