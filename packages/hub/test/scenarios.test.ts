// The three disconnect scenarios of the .NET platform Tether replaces, which took it 90–120 s
// to recover from: the server closes the connection; the network is cut without a close; a
// silent disconnect (the socket object is alive, the link is dead). Each must be detected within
// its configured bound and recovered. The measured times are printed; docs/benchmarks.md
// ("Disconnect scenarios of the platform Tether replaces") records a run.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, FaultProxy, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../src/config/index.js';
import type { TetherConfig } from '../src/config/types.js';
import { Hub } from '../src/hub.js';
import { silentLogger } from '../src/log/logger.js';

const P = 500;
const M = 2;
const BOUND = P * M;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function config(url: string): TetherConfig {
  const { command, args } = fakeStdioServerParams();
  return {
    endpoints: [
      {
        name: 'device',
        url,
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      },
    ],
    servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
    hub: {
      ...DEFAULT_HUB,
      port: 0,
      monitor: {
        ...DEFAULT_HUB.monitor,
        heartbeatIntervalMs: P,
        heartbeatMisses: M,
        checkIntervalMs: 200,
      },
    },
    notifications: [],
  };
}

async function startHub(url: string, linkOptions = {}) {
  const hub = new Hub(config(url), { logger: silentLogger(), linkOptions });
  cleanups.push(() => hub.stop());
  await hub.start();
  return hub;
}

const state = (hub: Hub) => hub.endpoints()[0]!.state;

/** Times from the fault to the hub noticing it, and to the endpoint being ready again. */
async function measure(
  hub: Hub,
  fault: () => void | Promise<void>,
  heal: () => void | Promise<void> = () => {},
) {
  await waitUntil(() => state(hub) === 'ready', {
    timeoutMs: 10_000,
    what: 'ready before the fault',
  });
  const faultAt = Date.now();
  await fault();
  await waitUntil(() => state(hub) !== 'ready', {
    timeoutMs: 5_000,
    intervalMs: 1,
    what: 'the loss to be noticed',
  });
  const detectedMs = Date.now() - faultAt;
  const healAt = Date.now();
  await heal();
  await waitUntil(() => state(hub) === 'ready', {
    timeoutMs: 10_000,
    intervalMs: 1,
    what: 'recovery',
  });
  const recoveredMs = Date.now() - healAt;
  return { detectedMs, recoveredMs };
}

describe('the three disconnect scenarios of the platform Tether replaces', () => {
  it('the server closes the connection: noticed at once, back within a second', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const hub = await startHub(sim.url());
    const times = await measure(
      hub,
      () => void sim.closeSockets({ code: 1000, reason: 'server restart' }),
    );
    console.log(
      `scenario 1 (server closes): detected in ${times.detectedMs} ms, ready again in ${times.recoveredMs} ms`,
    );
    expect(times.detectedMs).toBeLessThan(100);
    expect(times.recoveredMs).toBeLessThan(1_500);
    expect(hub.endpoints()[0]!.lastClose).toMatchObject({ code: 1000, reason: 'server restart' });
    expect(sim.accounting().maxOpen).toBe(1);
  });

  it(`the network is cut without a close: noticed within P × M = ${BOUND} ms, back once it heals`, async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const proxy = await FaultProxy.start({ target: { port: sim.port } });
    cleanups.push(() => proxy.close());
    const hub = await startHub(proxy.url('/mcp/?token=test-token'), { connectTimeoutMs: 1_000 });
    const times = await measure(
      hub,
      () => proxy.blackhole(),
      () => proxy.pass(),
    );
    console.log(
      `scenario 2 (network cut, no FIN/RST): detected in ${times.detectedMs} ms (bound ${BOUND}), ready again ${times.recoveredMs} ms after the network healed`,
    );
    expect(times.detectedMs).toBeLessThanOrEqual(BOUND + 100);
    expect(times.recoveredMs).toBeLessThan(3_000);
    expect(hub.endpoints()[0]!.lastError).toMatch(/no answer to/);
  });

  it(`a silent disconnect (the peer is frozen, its socket alive): noticed within ${BOUND} ms, back once it thaws`, async () => {
    const { child, url } = await frozenCapableSimulator();
    const hub = await startHub(url, { connectTimeoutMs: 1_000 });
    const times = await measure(
      hub,
      () => void child.kill('SIGSTOP'),
      () => void child.kill('SIGCONT'),
    );
    console.log(
      `scenario 3 (silent disconnect, peer frozen): detected in ${times.detectedMs} ms (bound ${BOUND}), ready again ${times.recoveredMs} ms after it resumed`,
    );
    expect(times.detectedMs).toBeLessThanOrEqual(BOUND + 100);
    expect(times.recoveredMs).toBeLessThan(3_000);
  });
});

/** `tether sim` in its own process, so the whole peer can be frozen with SIGSTOP. */
async function frozenCapableSimulator(): Promise<{ child: ChildProcess; url: string }> {
  const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'sim', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tether sim did not start')), 10_000);
    lines.on('line', (line) => {
      const match = /provider URL: (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  return { child, url };
}
