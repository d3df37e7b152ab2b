import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EndpointSimulator,
  FaultProxy,
  ManualClock,
  fakeStdioServerParams,
  waitUntil,
} from '@tether/testkit';
import { DEFAULT_HUB } from '../src/config/index.js';
import type { TetherConfig } from '../src/config/types.js';
import { Hub } from '../src/hub.js';
import { createLogger, silentLogger } from '../src/log/logger.js';
import { Sweep } from '../src/monitor/sweep.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { command, args } = fakeStdioServerParams();

function config(sim: EndpointSimulator, hub: Partial<TetherConfig['hub']> = {}): TetherConfig {
  return {
    endpoints: [
      {
        name: 'home',
        url: sim.url('home'),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      },
    ],
    servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
    hub: { ...DEFAULT_HUB, port: 0, earlyReplyMs: 0, callTimeoutMs: 10_000, ...hub },
    notifications: [],
  };
}

async function started(c: TetherConfig, logger = silentLogger(), clock?: ManualClock) {
  const hub = new Hub(c, { logger, ...(clock ? { clock } : {}) });
  cleanups.push(() => hub.stop());
  await hub.start();
  return hub;
}

describe('a live edit of the hub settings', () => {
  it('reaches running sessions: a shorter call timeout applies to the next call', async () => {
    // The hub's clock times the upstream calls too: the call runs until the test moves it.
    const clock = new ManualClock(1_000_000);
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const c = config(sim, { callTimeoutMs: 10_000 });
    const hub = await started(c, silentLogger(), clock);
    await sim.waitForReady({ token: 'home', timeoutMs: 10_000 });
    await waitUntil(() => hub.tools().some((t) => t.name === 'fake__slow'), {
      timeoutMs: 10_000,
      what: 'the slow tool',
    });

    await hub.apply({ ...c, hub: { ...c.hub, callTimeoutMs: 300 } });
    // Without the edit nothing times the call out below: this request gives up after 10 s.
    const outcome = sim.request(
      'tools/call',
      { name: 'fake__slow', arguments: { ms: 60_000 } },
      { token: 'home', timeoutMs: 10_000 },
    );
    await waitUntil(() => hub.endpoints()[0]!.callsInFlight === 1, {
      what: 'the call to reach the server',
    });
    clock.advance(299);
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.endpoints()[0]!.callsInFlight).toBe(1);
    clock.advance(1);
    // The timeout is reported to the model as a tool error.
    expect(await outcome).toMatchObject({ ok: true, result: { isError: true } });
    expect(JSON.stringify(await outcome)).toMatch(/timed out/i);
    // Nothing reconnected for it.
    expect(sim.accounting('home')).toMatchObject({ opens: 1, closes: 0 });
  });

  it('reaches the running link: a shorter heartbeat finds a silent endpoint sooner, with no reconnect first', async () => {
    // The links' timers run on this clock: nothing is timed out unless the test moves it.
    const clock = new ManualClock(1_000_000);
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: sim.port } });
    cleanups.push(() => proxy.close());
    const c = config(sim);
    c.endpoints[0]!.url = sim.url('home').replace(`:${sim.port}`, `:${proxy.port}`);
    c.hub.monitor = { ...c.hub.monitor, heartbeatIntervalMs: 30_000, heartbeatMisses: 2 };
    const hub = await started(c, silentLogger(), clock);
    // Before the hub stops: a socket still open (the test failed) then closes without the clock.
    cleanups.push(() => proxy.pass());
    await sim.waitForReady({ token: 'home', timeoutMs: 10_000 });
    await waitUntil(() => hub.endpoints()[0]!.state === 'ready', { what: 'the link to be ready' });

    await hub.apply({
      ...c,
      hub: { ...c.hub, monitor: { ...c.hub.monitor, heartbeatIntervalMs: 300 } },
    });
    expect(sim.accounting('home')).toMatchObject({ opens: 1, closes: 0 });
    // Silent from now on: with the old heartbeat this would take a minute and a half to notice.
    proxy.blackhole();
    // Within P × (M + 1) = 300 × 3 ms, by the link's own heartbeat (not the sweep, not a reconnect).
    clock.advance(900);
    expect(hub.endpoints()[0]).toMatchObject({
      state: expect.not.stringMatching(/^(open|ready)$/),
      lastError: expect.stringMatching(/^no answer to \d+ ping\(s\)/),
    });
  });

  it('says a change of hub.port needs a restart instead of claiming it applied', async () => {
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
    const c = config(sim);
    const hub = await started(c, logger);
    await hub.apply({ ...c, hub: { ...c.hub, port: 9_999 } });
    expect(lines.join('\n')).toMatch(/hub\.host or hub\.port changed: .*until a restart/);
    expect(lines.join('\n')).toMatch(/configuration applied, except hub\.port: needs a restart/);
    expect(lines.join('\n')).not.toMatch(/"configuration applied"/);
  });

  it("runs the sweep at an endpoint's own checkIntervalMs", async () => {
    // No sockets needed: the sweep runs on the hub's clock whatever the links do.
    const clock = new ManualClock(1_000_000);
    const c: TetherConfig = {
      endpoints: [
        {
          name: 'home',
          url: 'ws://127.0.0.1:9/home',
          enabled: false,
          tools: { include: ['*'], exclude: [] },
          source: 'file',
          monitor: { checkIntervalMs: 100 },
        },
      ],
      servers: [],
      hub: { ...DEFAULT_HUB, port: 0, monitor: { ...DEFAULT_HUB.monitor, checkIntervalMs: 5_000 } },
      notifications: [],
    };
    const hub = new Hub(c, { logger: silentLogger(), clock });
    cleanups.push(() => hub.stop());
    await hub.start();
    const sweeps = vi.spyOn(Sweep.prototype, 'pass');
    clock.advance(1_000);
    // The hub's own interval is 5 s: without the endpoint's, not one sweep in a second.
    expect(sweeps).toHaveBeenCalledTimes(10);

    // A live edit of the endpoint's interval reschedules the sweep at the hub's pace.
    await hub.apply({ ...c, endpoints: [{ ...c.endpoints[0]!, monitor: {} }] });
    sweeps.mockClear();
    clock.advance(4_999);
    expect(sweeps).toHaveBeenCalledTimes(0);
    clock.advance(1);
    expect(sweeps).toHaveBeenCalledTimes(1);
  });
});
