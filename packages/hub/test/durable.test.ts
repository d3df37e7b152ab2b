import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, ManualClock, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../src/config/index.js';
import { Hub } from '../src/hub.js';
import { createApi } from '../src/http/api.js';
import { silentLogger } from '../src/log/logger.js';
import { openStore } from '../src/store/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));

/** `tether start` in a child process; `output` collects what it logs (JSON lines on stdout). */
function startProcess(config: string, home: string): { child: ChildProcess; output: string[] } {
  const child = spawn(process.execPath, [bin, 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, TETHER_HOME: home, DATABASE_URL: '', TETHER_ADMIN_TOKEN: '' },
  });
  cleanups.push(() => child.kill('SIGKILL'));
  const output: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  return { child, output };
}

/** The API's URL once the process says it listens: by then its hub has started. */
async function apiOf(output: string[]): Promise<string> {
  const listening = () => /API listening on (http:\/\/[^\s"]+)/.exec(output.join(''))?.[1];
  await waitUntil(() => listening() !== undefined, {
    timeoutMs: 15_000,
    what: 'the restarted hub to listen',
  });
  return listening()!;
}

describe('durable state', () => {
  it('leaves no stale "connected" row after kill -9 and a restart', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const home = mkdtempSync(join(tmpdir(), 'tether-home-'));
    const config = join(home, 'tether.config.json');
    writeFileSync(
      config,
      JSON.stringify({ endpoints: [{ name: 'home', url: sim.url() }], hub: { port: 0 } }),
    );

    const { child: first } = startProcess(config, home);
    await sim.waitForReady({ timeoutMs: 15_000 });
    const store = await openStore({ home });
    cleanups.push(() => store.close());
    const row = async () => (await store.status.get('home'))!;
    await waitUntil(async () => (await store.status.get('home'))?.state === 'ready', {
      timeoutMs: 5_000,
      what: 'the mirror to say ready',
    });
    const before = await row();

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    // The crash left the row claiming a live connection that no longer exists…
    expect((await row()).state).toBe('ready');
    // …and the restarted hub will not connect it (disabled meanwhile), so only the start-up
    // reset can correct it.
    writeFileSync(
      config,
      JSON.stringify({
        endpoints: [{ name: 'home', url: sim.url(), enabled: false }],
        hub: { port: 0 },
      }),
    );

    const second = startProcess(config, home);
    await waitUntil(async () => (await row()).state !== 'ready', {
      timeoutMs: 15_000,
      what: 'the restarted hub to reset the row',
    });
    expect(await row()).toMatchObject({
      state: 'backoff',
      lastError: expect.stringMatching(/restart/),
    });
    // Started, and its own view of the endpoint: never tried (an attempt is counted as it starts).
    const api = await apiOf(second.output);
    const endpoints = (await (await fetch(`${api}/api/endpoints`)).json()) as Array<{
      name: string;
      enabled: boolean;
      attempts: number;
    }>;
    expect(endpoints.find((e) => e.name === 'home')).toMatchObject({ enabled: false, attempts: 0 });
    expect(sim.accounting().opens).toBe(1);

    // Enabled again (the running hub applies the edit): connected by the new owner.
    writeFileSync(
      config,
      JSON.stringify({ endpoints: [{ name: 'home', url: sim.url() }], hub: { port: 0 } }),
    );
    await sim.waitForReady({ count: 2, timeoutMs: 15_000 });
    await waitUntil(
      async () => (await row()).state === 'ready' && (await row()).owner !== before.owner,
      {
        timeoutMs: 5_000,
        what: 'the new owner to mirror ready',
      },
    );
    expect((await row()).fence).toBeGreaterThan(before.fence);
  });

  it('mirrors every state change with its cause, and logs tool calls, readable in pages', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const store = await openStore({ file: ':memory:' });
    await store.migrate();
    cleanups.push(() => store.close());
    const { command, args } = fakeStdioServerParams();
    const hub = new Hub(
      {
        endpoints: [
          {
            name: 'home',
            url: sim.url(),
            enabled: true,
            tools: { include: ['*'], exclude: [] },
            source: 'file',
          },
        ],
        servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
        hub: { ...DEFAULT_HUB, port: 0, earlyReplyMs: 0 },
        notifications: [],
      },
      { logger: silentLogger(), store, instance: 'test-1' },
    );
    cleanups.push(() => hub.stop());
    await hub.start();
    await sim.waitForReady({ timeoutMs: 10_000 });
    await sim.callTool('fake__add', { a: 1, b: 2 });
    sim.closeSockets({ code: 4004, reason: 'Internal server error' });
    await sim.waitForReady({ count: 2, timeoutMs: 5_000 });
    await hub.flush();
    const timeline = await store.timeline.page('home');
    const loss = timeline.items.find((e) => e.cause === 'close');
    expect(loss).toMatchObject({
      from: 'ready',
      to: 'backoff',
      code: 4004,
      reason: 'Internal server error',
      detectedBy: 'close frame',
      instance: 'test-1',
    });
    const calls = await store.toolCalls.page({ endpointId: 'home' });
    expect(calls.items[0]).toMatchObject({ tool: 'fake__add', server: 'fake', outcome: 'ok' });
    const status = (await store.status.get('home'))!;
    expect(status).toMatchObject({ state: 'ready', owner: 'test-1', lastCloseCode: 4004 });

    // The same history through the API, in pages.
    const api = createApi(hub);
    const first = (await (await api.request('/api/endpoints/home/timeline?limit=2')).json()) as {
      items: unknown[];
      next: number | null;
    };
    expect(first.items).toHaveLength(2);
    expect(first.next).not.toBeNull();
    const second = (await (
      await api.request(`/api/endpoints/home/timeline?limit=2&before=${first.next}`)
    ).json()) as { items: unknown[] };
    expect(second.items.length).toBeGreaterThan(0);
    const logged = (await (await api.request('/api/calls?endpoint=home')).json()) as {
      items: Array<{ tool: string }>;
    };
    expect(logged.items.map((c) => c.tool)).toContain('fake__add');
    const health = (await (await api.request('/api/endpoints/home/health')).json()) as {
      score: number;
      flaps: number;
    };
    expect(health.flaps).toBe(1);
    expect(health.score).toBeLessThan(100);
  });

  it('has the monitor terminate a zombie: a socket that claims to be open but shows no sign of life', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const hub = new Hub(
      {
        endpoints: [
          {
            name: 'home',
            url: sim.url(),
            enabled: true,
            tools: { include: ['*'], exclude: [] },
            source: 'file',
          },
        ],
        servers: [],
        hub: { ...DEFAULT_HUB, port: 0 },
        notifications: [],
      },
      { logger: silentLogger() },
    );
    cleanups.push(() => hub.stop());
    await hub.start();
    await sim.waitForReady({ timeoutMs: 5_000 });
    expect(hub.checkOnce()).toEqual([]);
    // As if the link's own timers had been starved for a minute with no traffic at all.
    expect(hub.checkOnce(Date.now() + 60_000)).toEqual(['home']);
    await sim.waitForReady({ count: 2, timeoutMs: 5_000 });
    expect(hub.endpoints()[0]!.lastError).toMatch(/^zombie/);
    expect(sim.accounting().maxOpen).toBe(1);
  });
});

describe('notifications', () => {
  it('sends one notification per outage and one on recovery to a webhook', async () => {
    // The notifier's timers run on this clock; the links reconnect on real time, quickly.
    const clock = new ManualClock();
    const DOWN_AFTER_MS = 30_000;
    const received: Array<{ event: string; endpoint?: string; text?: string }> = [];
    const hook: Server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => hook.close(resolve)));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

    let sim = await EndpointSimulator.start();
    const port = sim.port;
    cleanups.push(() => sim.close());
    const hub = new Hub(
      {
        endpoints: [
          {
            name: 'living-room',
            url: sim.url(),
            enabled: true,
            tools: { include: ['*'], exclude: [] },
            source: 'file',
          },
        ],
        servers: [],
        hub: { ...DEFAULT_HUB, port: 0, notifyDownAfterMs: DOWN_AFTER_MS },
        notifications: [
          {
            name: 'ops',
            kind: 'generic',
            url: hookUrl,
            events: ['endpoint.down', 'endpoint.parked', 'endpoint.recovered', 'server.crashloop'],
            // The test's webhook listens on loopback.
            allowPrivate: true,
          },
        ],
      },
      {
        logger: silentLogger(),
        notify: { minIntervalMs: 0, clock },
        linkOptions: { backoff: { floorMs: 50, capMs: 200 } },
      },
    );
    cleanups.push(() => hub.stop());
    await hub.start();
    await sim.waitForReady({ timeoutMs: 5_000 });

    const state = () => hub.endpoints()[0]!;

    // A short flap: back before notifyDownAfterMs, so nobody is told, then or later.
    sim.closeSockets({ code: 1001 });
    await sim.waitForReady({ count: 2, timeoutMs: 3_000 });
    await waitUntil(() => state().state === 'ready', { what: 'the endpoint to be ready again' });
    clock.advance(DOWN_AFTER_MS);
    expect(clock.pending).toBe(0);
    expect(hub.notifications).toMatchObject({ sent: 0, pending: 0 });

    // A real outage: the endpoint's server is gone for a while, then back.
    await sim.close();
    await waitUntil(() => state().state !== 'ready' && state().state !== 'open', {
      what: 'the outage to be noticed',
    });
    clock.advance(DOWN_AFTER_MS - 1);
    expect(hub.notifications).toMatchObject({ sent: 0, pending: 0 });
    clock.advance(1);
    await waitUntil(() => received.length >= 1, {
      timeoutMs: 5_000,
      what: 'the down notification',
    });
    // Many failed retries meanwhile, and a long time: still one message.
    const attempts = state().attempts;
    await waitUntil(() => state().attempts >= attempts + 3, {
      what: 'three more failed attempts',
    });
    await waitUntil(() => hub.notifications.pending === 0, { what: 'the delivery to finish' });
    clock.advance(10 * DOWN_AFTER_MS);
    expect(hub.notifications).toMatchObject({ sent: 1, pending: 0 });
    sim = await EndpointSimulator.start({ port });
    await waitUntil(() => received.some((m) => m.event === 'endpoint.recovered'), {
      timeoutMs: 5_000,
      what: 'the recovery notification',
    });
    // Every message the notifier sent has been answered: nothing else is on its way.
    await waitUntil(() => hub.notifications.pending === 0, { what: 'deliveries to finish' });
    expect(hub.notifications).toMatchObject({ sent: 2, failed: 0 });
    expect(received.map((m) => m.event)).toEqual(['endpoint.down', 'endpoint.recovered']);
    expect(received[0]).toMatchObject({ endpoint: 'living-room' });
    expect(JSON.stringify(received)).not.toContain('token');
  });
});
