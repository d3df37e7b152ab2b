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

async function started(c: TetherConfig, logger = silentLogger()) {
  const hub = new Hub(c, { logger });
  cleanups.push(() => hub.stop());
  await hub.start();
  return hub;
}

describe('a live edit of the hub settings', () => {
  it('reaches running sessions: a shorter call timeout applies to the next call', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const c = config(sim);
    const hub = await started(c);
    await sim.waitForReady({ token: 'home', timeoutMs: 10_000 });
    await waitUntil(() => hub.tools().some((t) => t.name === 'fake__slow'), {
      timeoutMs: 10_000,
      what: 'the slow tool',
    });

    await hub.apply({ ...c, hub: { ...c.hub, callTimeoutMs: 300 } });
    const started_ = Date.now();
    const outcome = await sim.request(
      'tools/call',
      { name: 'fake__slow', arguments: { ms: 5_000 } },
      { token: 'home', timeoutMs: 8_000 },
    );
    expect(Date.now() - started_).toBeLessThan(3_000);
    // The timeout is reported to the model as a tool error.
    expect(JSON.stringify(outcome)).toMatch(/timed out|timeout/i);
    // Nothing reconnected for it.
    expect(sim.accounting('home')).toMatchObject({ opens: 1, closes: 0 });
  });

  it('reaches the running link: a shorter heartbeat finds a silent endpoint sooner, with no reconnect first', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: sim.port } });
    cleanups.push(() => proxy.close());
    const c = config(sim);
    c.endpoints[0]!.url = sim.url('home').replace(`:${sim.port}`, `:${proxy.port}`);
    c.hub.monitor = { ...c.hub.monitor, heartbeatIntervalMs: 30_000, heartbeatMisses: 2 };
    const hub = await started(c);
    await sim.waitForReady({ token: 'home', timeoutMs: 10_000 });

    await hub.apply({
      ...c,
      hub: { ...c.hub, monitor: { ...c.hub.monitor, heartbeatIntervalMs: 300 } },
    });
    expect(sim.accounting('home')).toMatchObject({ opens: 1, closes: 0 });
    // Silent from now on: with the old heartbeat this would take a minute to notice.
    const cutAt = Date.now();
    proxy.blackhole();
    await waitUntil(() => hub.endpoints()[0]!.state !== 'ready', {
      timeoutMs: 3_000,
      what: 'the silent socket to be noticed',
    });
    expect(Date.now() - cutAt).toBeLessThan(2_000);
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
