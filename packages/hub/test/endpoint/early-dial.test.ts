// The hub dials its endpoints while its servers start (issue #13): `initialize` is answered at
// once, and a `tools/list` that comes before the servers are up waits for them, bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import type { CatalogEntry } from '../../src/catalog/catalog.js';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { ServerConfig, TetherConfig } from '../../src/config/types.js';
import { createEndpointServer, TOOLS_WAIT_MS } from '../../src/endpoint/server.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hubSettings = { ...DEFAULT_HUB, port: 0, toolChangeDebounceMs: 100, earlyReplyMs: 0 };
const toolNames = (tools: readonly { name: string }[]) => tools.map((t) => t.name).sort();

/** A gate file: the server behind it does not even start booting until the file exists. */
function gate(): { path: string; open(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-early-dial-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'open');
  return { path, open: () => writeFileSync(path, '') };
}

/** The testkit's fake stdio server as `name`, behind `gatePath` when one is given. */
function server(name: string, gatePath?: string): ServerConfig {
  const fake = fakeStdioServerParams();
  const [command, args] = gatePath
    ? [
        '/bin/sh',
        ['-c', 'while [ ! -e "$0" ]; do sleep 0.02; done; exec "$@"', gatePath, fake.command],
      ]
    : [fake.command, []];
  return {
    name,
    type: 'stdio',
    command,
    args: [...args, ...fake.args],
    env: {},
    enabled: true,
  } as ServerConfig;
}

async function setup(servers: ServerConfig[]) {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const config: TetherConfig = {
    endpoints: [
      {
        name: 'home',
        url: sim.url(),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      },
    ],
    servers,
    hub: hubSettings,
    notifications: [],
  };
  const hub = new Hub(config, { logger: silentLogger() });
  cleanups.push(() => hub.stop());
  const started = hub.start();
  // The simulator sends tools/list only once its initialize was answered.
  const asked = () =>
    sim.frames.find((f) => f.direction === 'out' && f.data.includes('"tools/list"'))?.at;
  await waitUntil(() => asked() !== undefined, { timeoutMs: 10_000, what: 'tools/list sent' });
  return { sim, hub, started, askedAt: asked()! };
}

describe('an endpoint dialled while its servers start', () => {
  it('answers its tools/list once they are up, with their tools, on the first socket', async () => {
    const slow = gate();
    const { sim, started } = await setup([server('fast'), server('slow', slow.path)]);
    // initialize was answered; the tool list waits for the slow server.
    await sleep(300);
    expect(sim.accounting().handshakes).toBe(0);
    slow.open();
    const ready = await sim.waitForReady({ timeoutMs: 10_000 });
    expect(toolNames(ready.tools)).toEqual(
      expect.arrayContaining(['fast__add', 'fast__echo', 'slow__add', 'slow__echo']),
    );
    await started;
    // The catalog filling in while the socket was open did not count as a change of the tools
    // the endpoint had read: one socket, one handshake.
    await sleep(hubSettings.toolChangeDebounceMs * 3);
    expect(sim.accounting()).toMatchObject({ opens: 1, handshakes: 1 });
    expect(sim.violations).toEqual([]);
  });

  it(
    'answers with the tools there are after the bound, and the late server follows by a reconnect',
    { timeout: 30_000 },
    async () => {
      const slow = gate();
      const { sim, askedAt } = await setup([server('fast'), server('slow', slow.path)]);
      const first = await sim.waitForReady({ timeoutMs: TOOLS_WAIT_MS + 5_000 });
      const answeredAt = sim.accounting().timeline.find((e) => e.type === 'ready')!.at;
      expect(answeredAt - askedAt).toBeGreaterThanOrEqual(TOOLS_WAIT_MS - 50);
      const names = toolNames(first.tools);
      expect(names).toEqual(expect.arrayContaining(['fast__add', 'fast__echo']));
      expect(names.filter((n) => n.startsWith('slow__'))).toEqual([]);
      // Once the slow server is up, the endpoint gets it by the tools-changed reconnect.
      slow.open();
      const second = await sim.waitForReady({ count: 2, timeoutMs: 15_000 });
      expect(toolNames(second.tools)).toEqual(expect.arrayContaining(['slow__add', 'fast__add']));
      expect(sim.accounting().maxOpen).toBe(1);
      expect(sim.violations).toEqual([]);
    },
  );
});

describe('createEndpointServer: tools/list and the ready port', () => {
  const entry = (name: string): CatalogEntry => ({
    name,
    server: 's',
    tool: name,
    definition: { name, inputSchema: { type: 'object' } },
  });

  async function connect(ports: {
    tools(): CatalogEntry[];
    ready(): Promise<void> | undefined;
    toolsWaitMs?: number;
  }) {
    const listed: string[][] = [];
    const server = createEndpointServer({
      version: '0',
      ...ports,
      earlyReplies: () => false,
      listed: (entries) => listed.push(entries.map((e) => e.name)),
    });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'test', version: '0' });
    await Promise.all([server.connect(a), client.connect(b)]);
    cleanups.push(() => client.close());
    return { client, listed };
  }

  it('waits for ready() and lists the tools there are then', async () => {
    let tools = [entry('a')];
    let release!: () => void;
    const starting = new Promise<void>((resolve) => (release = resolve));
    let pending: Promise<void> | undefined = starting;
    const { client, listed } = await connect({ tools: () => tools, ready: () => pending });
    const answer = client.listTools();
    await sleep(100);
    expect(listed).toEqual([]);
    tools = [entry('a'), entry('b')];
    pending = undefined;
    release();
    expect(toolNames((await answer).tools)).toEqual(['a', 'b']);
    expect(listed).toEqual([['a', 'b']]);
  });

  it('answers after toolsWaitMs with what there is when the servers are still starting', async () => {
    const { client } = await connect({
      tools: () => [entry('a')],
      ready: () => new Promise<void>(() => {}),
      toolsWaitMs: 150,
    });
    const asked = performance.now();
    expect(toolNames((await client.listTools()).tools)).toEqual(['a']);
    expect(performance.now() - asked).toBeGreaterThanOrEqual(140);
  });

  it('answers at once when nothing is starting', async () => {
    const { client } = await connect({ tools: () => [entry('a')], ready: () => undefined });
    const asked = performance.now();
    expect(toolNames((await client.listTools()).tools)).toEqual(['a']);
    expect(performance.now() - asked).toBeLessThan(TOOLS_WAIT_MS);
  });
});
