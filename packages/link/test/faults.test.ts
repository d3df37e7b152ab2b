import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, FaultProxy, waitUntil } from '@tether/testkit';
import { Link } from '../src/index.js';
import type { LinkOptions, Transition } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';
import { attachResponder } from './responder.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** simulator ← fault proxy ← link, everything on loopback port 0. */
async function throughProxy(
  options: Partial<LinkOptions> = {},
  simOptions: Parameters<typeof EndpointSimulator.start>[0] = {},
) {
  const sim = await EndpointSimulator.start(simOptions);
  cleanups.push(() => sim.close());
  const proxy = await FaultProxy.start({ target: { port: sim.port } });
  cleanups.push(() => proxy.close());
  const link = new Link({
    url: proxy.url('/mcp/?token=test-token'),
    socketFactory: wsSocketFactory(),
    ...options,
  });
  attachResponder(link);
  const transitions: Transition[] = [];
  link.on('transition', (t) => transitions.push(t));
  cleanups.push(() => link.close());
  await link.connect();
  await sim.waitForReady();
  return { sim, proxy, link, transitions };
}

const P = 100;
const M = 2;

describe('link through the fault proxy', () => {
  it('detects a blackholed link (no FIN, no RST) within P × M and terminates it', async () => {
    const { proxy, transitions } = await throughProxy({ pingIntervalMs: P, maxMissedPongs: M });
    const cutAt = Date.now();
    proxy.blackhole();
    await waitUntil(() => transitions.some((t) => t.cause.type === 'heartbeat'), {
      timeoutMs: 2_000,
      what: 'heartbeat loss',
    });
    const loss = transitions.find((t) => t.cause.type === 'heartbeat')!;
    expect(loss.at - cutAt).toBeLessThanOrEqual(P * M + 50); // 50 ms of timer slack on a busy box
    expect(loss).toMatchObject({ from: 'ready', to: 'backoff', cause: { type: 'heartbeat' } });
  });

  it('comes back by itself once the blackhole lifts, leaving the endpoint one socket', async () => {
    const { sim, proxy, transitions } = await throughProxy({
      pingIntervalMs: P,
      maxMissedPongs: M,
      connectTimeoutMs: 300,
    });
    proxy.blackhole();
    await waitUntil(() => transitions.some((t) => t.cause.type === 'heartbeat'), {
      timeoutMs: 2_000,
      what: 'heartbeat loss',
    });
    proxy.pass();
    await waitUntil(() => transitions.filter((t) => t.to === 'ready').length >= 2, {
      timeoutMs: 5_000,
      what: 'second ready',
    });
    await sim.waitFor(() => sim.accounting().openNow === 1);
    // The simulator never saw two sockets of this link at once.
    expect(sim.accounting().maxOpen).toBeLessThanOrEqual(2);
    const timeline = sim.accounting().timeline;
    const opens = timeline.filter((e) => e.type === 'open').length;
    const closes = timeline.filter((e) => e.type === 'close').length;
    expect(opens - closes).toBe(1);
  });

  it('detects a peer that stops reading (paused) the same way', async () => {
    const { proxy, transitions } = await throughProxy({ pingIntervalMs: P, maxMissedPongs: M });
    proxy.pause('both');
    await waitUntil(() => transitions.some((t) => t.cause.type === 'heartbeat'), {
      timeoutMs: 2_000,
      what: 'heartbeat loss',
    });
    // The loss itself goes to backoff; the first retry may already have begun (0–250 ms).
    expect(transitions.find((t) => t.cause.type === 'heartbeat')!.to).toBe('backoff');
  });

  it('acts at once on a TCP reset and reconnects', async () => {
    const { sim, proxy, transitions } = await throughProxy();
    const resetAt = Date.now();
    expect(proxy.resetAll()).toBe(1);
    await waitUntil(() => transitions.some((t) => t.to === 'backoff'), {
      timeoutMs: 1_000,
      what: 'loss',
    });
    const loss = transitions.find((t) => t.to === 'backoff')!;
    expect(loss.at - resetAt).toBeLessThan(100);
    expect(['close', 'error']).toContain(loss.cause.type);
    await sim.waitForReady({ count: 2, timeoutMs: 2_000 });
  });

  it('keeps retrying while new connections are refused, and recovers when they are accepted', async () => {
    const { sim, proxy, transitions } = await throughProxy({
      backoff: { floorMs: 20, capMs: 100 },
      maxFailures: 1_000,
    });
    await proxy.refuse();
    proxy.resetAll();
    await waitUntil(() => transitions.filter((t) => t.cause.type === 'error').length >= 3, {
      timeoutMs: 3_000,
      what: 'refused attempts',
    });
    await proxy.accept();
    await sim.waitForReady({ count: 2, timeoutMs: 3_000 });
  });

  it('cuts a half-closed socket within the check deadline of the first reply that cannot go out, not at the heartbeat', async () => {
    // Default heartbeat (P = 5 s, M = 2): without the check the loss would come after 10 s.
    // The endpoint waits for our close frame as long as ws does by default (30 s).
    const { sim, proxy, link, transitions } = await throughProxy(
      { checkTimeoutMs: 1_000 },
      { closeTimeoutMs: 30_000 },
    );
    proxy.blackhole('toServer'); // our bytes, our close frame and our FIN vanish
    const closedAt = Date.now();
    sim.closeSockets({ code: 1000, reason: 'bye' }); // the peer's close frame reaches us
    // The layer above keeps answering; the close handshake can never complete.
    const replies = setInterval(() => link.send('{"jsonrpc":"2.0","id":1,"result":{}}'), 50);
    try {
      await waitUntil(() => transitions.some((t) => t.to === 'backoff'), {
        timeoutMs: 12_000,
        what: 'the loss',
      });
    } finally {
      clearInterval(replies);
    }
    const loss = transitions.find((t) => t.to === 'backoff')!;
    expect(loss.at - closedAt).toBeLessThan(2_000);
    expect(loss.cause).toMatchObject({ type: 'heartbeat', check: 'send-failed' });
  }, 15_000);

  it('checks a peer that stopped reading once the send buffer keeps growing, long before the heartbeat', async () => {
    const { proxy, link, transitions } = await throughProxy({
      checkTimeoutMs: 1_000,
      bufferedLimitBytes: 1_048_576,
    });
    proxy.pause('both'); // the peer reads nothing and says nothing
    const pausedAt = Date.now();
    const chunk = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      result: { text: 'x'.repeat(256 * 1024) },
    });
    const replies = setInterval(() => link.send(chunk), 20);
    try {
      await waitUntil(() => transitions.some((t) => t.to === 'backoff'), {
        timeoutMs: 12_000,
        what: 'the loss',
      });
    } finally {
      clearInterval(replies);
    }
    const loss = transitions.find((t) => t.to === 'backoff')!;
    expect(loss.at - pausedAt).toBeLessThan(6_000);
    expect(loss.cause).toMatchObject({ type: 'heartbeat', check: 'backpressure' });
  }, 15_000);
});
