import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, waitUntil } from '@tether/testkit';
import { Link, systemClock } from '../src/index.js';
import type { Clock, LinkOptions, Transition } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';
import { attachResponder } from './responder.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(options: Parameters<typeof EndpointSimulator.start>[0] = {}) {
  const sim = await EndpointSimulator.start(options);
  cleanups.push(() => sim.close());
  return sim;
}

function link(url: string, options: Partial<LinkOptions> = {}) {
  const l = new Link({ url, socketFactory: wsSocketFactory(), ...options });
  attachResponder(l);
  const transitions: Transition[] = [];
  l.on('transition', (t) => transitions.push(t));
  cleanups.push(() => l.close());
  return { link: l, transitions };
}

describe('link on real sockets: closes from the endpoint', () => {
  it.each([1000, 1001, 1011, 4004])(
    'comes back with a full handshake after close %i',
    async (code) => {
      const sim = await simulator();
      const { link: l, transitions } = link(sim.url());
      await l.connect();
      await sim.waitForReady();
      sim.closeSockets({ code, reason: 'test' });
      await sim.waitForReady({ count: 2, timeoutMs: 2_000 });
      const loss = transitions.find((t) => t.to === 'backoff')!;
      expect(loss.cause).toEqual({ type: 'close', code, reason: 'test' });
      expect(loss.status.name === 'backoff' && loss.status.retryAt! - loss.at).toBeLessThanOrEqual(
        250,
      );
      expect(sim.accounting()).toMatchObject({ maxOpen: 1, handshakes: 2 });
    },
  );

  it('recovers as fast from the third of three clean closes two seconds apart as from the first (1000 and 4004)', async () => {
    const sim = await simulator();
    // The top of every jitter range: the slowest recovery the backoff policy allows.
    const slowest = () => 0.999_999;
    const measure = async (code: number) => {
      const token = `flap-${code}`;
      const { link: l, transitions } = link(sim.url(token), { random: slowest });
      await l.connect();
      await sim.waitForReady({ token });
      const recoveries: number[] = [];
      for (let i = 1; i <= 3; i++) {
        await new Promise((r) => setTimeout(r, 2_000));
        const closedAt = Date.now();
        expect(sim.closeSockets({ code, reason: 'test' }, { token })).toBe(1);
        await sim.waitForReady({ token, count: i + 1, timeoutMs: 5_000 });
        await waitUntil(() => l.status.name === 'ready', { what: 'ready again' });
        recoveries.push(transitions.at(-1)!.at - closedAt);
      }
      expect(sim.accounting(token)).toMatchObject({ maxOpen: 1, handshakes: 4 });
      return recoveries;
    };
    const [clean, serverError] = await Promise.all([measure(1000), measure(4004)]);
    for (const recoveries of [clean, serverError]) {
      expect(Math.max(...recoveries)).toBeLessThanOrEqual(1_500);
      expect([...recoveries].sort((a, b) => a - b)[1]).toBeLessThanOrEqual(300);
    }
  }, 20_000);

  it('is refused while the server is down, then comes back when it returns', async () => {
    const first = await simulator();
    const port = first.port;
    const { link: l, transitions } = link(first.url(), {
      backoff: { floorMs: 50, capMs: 200 },
      maxFailures: 100,
    });
    await l.connect();
    await first.waitForReady();
    await first.close();
    await waitUntil(() => transitions.filter((t) => t.cause.type === 'error').length >= 2, {
      what: 'refused attempts',
    });
    expect(
      transitions.some((t) => t.cause.type === 'error' && /ECONNREFUSED/.test(t.cause.message)),
    ).toBe(true);
    const again = await simulator({ port });
    await again.waitForReady({ timeoutMs: 3_000 });
    expect(l.status.name).toBe('ready');
  });
});

describe('link on real sockets: single flight and clean teardown', () => {
  it('200 concurrent connect requests open exactly one socket', async () => {
    const sim = await simulator();
    const { link: l } = link(sim.url());
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 3 ? l.connect() : (l.retryNow(), l.connect()))),
    );
    await sim.waitForReady();
    expect(sim.accounting()).toMatchObject({ opens: 1, maxOpen: 1 });
  });

  it('gives up on an upgrade that never completes, within the connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s)); // accepts TCP, never answers HTTP
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(
      () =>
        new Promise<void>(
          (resolve) => (sockets.forEach((s) => s.destroy()), silent.close(() => resolve())),
        ),
    );
    const { port } = silent.address() as AddressInfo;
    const { link: l, transitions } = link(`ws://127.0.0.1:${port}/mcp/?token=t`, {
      connectTimeoutMs: 200,
    });
    void l.connect().catch(() => {});
    await waitUntil(() => transitions.some((t) => t.cause.type === 'timeout'), {
      timeoutMs: 2_000,
      what: 'connect timeout',
    });
    const timeout = transitions.find((t) => t.cause.type === 'timeout')!;
    const started = transitions[0]!.at;
    expect(timeout.at - started).toBeGreaterThanOrEqual(190);
    expect(timeout.at - started).toBeLessThan(1_000);
  });

  it('close() while connecting and during backoff leaves no socket on the server', async () => {
    const sim = await simulator();
    const { link: l } = link(sim.url());
    void l.connect().catch(() => {});
    await l.close();
    // The attempt was cut before or during the upgrade; nothing may linger on the endpoint.
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.accounting().openNow).toBe(0);

    const { link: again } = link(sim.url(), { backoff: { firstRetryMaxMs: 5_000 } });
    await again.connect();
    await sim.waitForReady();
    sim.closeSockets({ code: 1011 });
    await waitUntil(() => again.status.name === 'backoff', { what: 'backoff' });
    await again.close();
    await sim.waitFor(() => sim.accounting().openNow === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.accounting().openNow).toBe(0);
  });

  it('leaves no timers, sockets or listeners behind after close()', async () => {
    const sim = await simulator();
    const before = countResources();
    // The link's timers are unref'd, so Node does not list them: count them at the clock port.
    const live = new Set<unknown>();
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout(fn, ms) {
        const handle = systemClock.setTimeout(() => (live.delete(handle), fn()), ms);
        live.add(handle);
        return handle;
      },
      clearTimeout(handle) {
        live.delete(handle);
        systemClock.clearTimeout(handle);
      },
    };
    const l = new Link({
      url: sim.url(),
      socketFactory: wsSocketFactory(),
      pingIntervalMs: 50,
      clock,
    });
    const off = attachResponder(l);
    await l.connect();
    await sim.waitForReady();
    await new Promise((r) => setTimeout(r, 120)); // a few heartbeats
    expect(live.size).toBeGreaterThan(0);
    await l.close();
    expect(live.size).toBe(0);
    off();
    await waitUntil(() => sameResources(before, countResources()), {
      timeoutMs: 2_000,
      what: 'resources to return to the baseline',
    });
    expect(l.listenerCount()).toBe(0);
  });
});

function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** Nothing more alive than before: no extra socket, timer or handle of any kind. */
function sameResources(before: Record<string, number>, after: Record<string, number>): boolean {
  return Object.entries(after).every(([name, count]) => count <= (before[name] ?? 0));
}
