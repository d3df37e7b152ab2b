import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EndpointSimulator, FaultProxy, waitUntil } from '@tether/testkit';
import { Link, browserSocketFactory } from '../src/index.js';
import type { PlatformWebSocketConstructor, Transition } from '../src/index.js';
import { attachResponder } from './responder.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// `ws` implements the WHATWG WebSocket interface (onopen, onmessage, binaryType…), so it stands
// in for the browser's WebSocket here; Node 20 has no global one.
const PlatformWebSocket = WebSocket as unknown as PlatformWebSocketConstructor;

describe('link over the platform (browser) WebSocket', () => {
  it('handshakes, is told of a close with its code, and comes back', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const link = new Link({
      url: sim.url(),
      socketFactory: browserSocketFactory(PlatformWebSocket),
    });
    cleanups.push(() => link.close());
    attachResponder(link);
    const transitions: Transition[] = [];
    link.on('transition', (t) => transitions.push(t));
    await link.connect();
    await sim.waitForReady();
    sim.closeSockets({ code: 4004, reason: 'Internal server error' });
    await sim.waitForReady({ count: 2, timeoutMs: 2_000 });
    expect(transitions.find((t) => t.to === 'backoff')?.cause).toEqual({
      type: 'close',
      code: 4004,
      reason: 'Internal server error',
    });
  });

  it('sends an application heartbeat where the platform has no ping frames, and cuts a silent peer', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const proxy = await FaultProxy.start({ target: { port: sim.port } });
    cleanups.push(() => proxy.close());
    const beats: string[] = [];
    const link = new Link({
      url: proxy.url('/mcp/?token=test-token'),
      socketFactory: browserSocketFactory(PlatformWebSocket),
      pingIntervalMs: 50,
      maxMissedPongs: 2,
      // The simulator answers JSON-RPC pings sent to it; any frame back is a sign of life.
      heartbeat: (send) => {
        const beat = JSON.stringify({ jsonrpc: '2.0', id: `hb-${beats.length}`, method: 'ping' });
        beats.push(beat);
        send(beat);
      },
    });
    cleanups.push(() => link.close());
    attachResponder(link);
    const transitions: Transition[] = [];
    link.on('transition', (t) => transitions.push(t));
    await link.connect();
    await sim.waitForReady();
    await waitUntil(() => beats.length >= 4, { timeoutMs: 2_000, what: 'heartbeats' });
    expect(link.status.name).toBe('ready');
    proxy.blackhole();
    await waitUntil(() => transitions.some((t) => t.cause.type === 'heartbeat'), {
      timeoutMs: 2_000,
      what: 'the silent peer to be cut',
    });
  });
});
