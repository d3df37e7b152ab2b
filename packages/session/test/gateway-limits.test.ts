import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SessionGateway } from '../src/gateway/index.js';
import type { Cleanup } from './helpers.js';
import { recordingClient, settle } from './helpers.js';
import { closesOf, gatewayFixture, record, sleep } from './gateway-helpers.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A port nobody listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts and never says a word (an upstream that hangs in its upgrade). */
async function mute(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** How many sessions the gateway held each time it refused one (the refused one must not count). */
function sessionsAtRefusal(gateway: SessionGateway): number[] {
  const held: number[] = [];
  gateway.on('refused', () => held.push(gateway.sessions));
  return held;
}

describe('the session gateway at its limits', () => {
  it('an upstream that refuses gives the client a clear close, and a session once it accepts', async () => {
    const { upstream, gateway, clientUrl, events } = await gatewayFixture(cleanups);
    const heldAtRefusal = sessionsAtRefusal(gateway);
    upstream.refuse(403);
    const { client, fresh, received } = recordingClient(cleanups, clientUrl('/room'));
    const closes = closesOf(client);
    void client.connect().catch(() => {});
    await settle('the refusal', () => closes.length >= 1);
    expect(closes[0]).toEqual({ code: 1014, reason: 'upstream refused: HTTP 403 Refused' });
    expect(events.refused[0]).toEqual({
      code: 1014,
      reason: 'upstream refused: HTTP 403 Refused',
      upstream: `${upstream.url}/room`,
    });
    expect(fresh).toEqual([]);
    // Counted when the refusal went out: the client's retry may already be dialling again.
    expect(heldAtRefusal[0]).toBe(0);
    // The client retries with backoff (1014 is a plain loss to it); once the upstream accepts
    // again it gets a session, and the upstream sees one connection.
    upstream.refuse(null);
    await settle('a session', () => fresh.length === 1, 8_000);
    await settle('the greeting', () => received.length === 1);
    expect(upstream.connections).toBe(1);
    expect(events.start).toHaveLength(1);
    expect(events.error).toEqual([]);
  });

  it('an unreachable or silent upstream gives the client a clear close', async () => {
    for (const [port, reason] of [
      [await freePort(), /^upstream unreachable: connect ECONNREFUSED 127\.0\.0\.1:\d+$/],
      [await mute(), /^upstream did not accept within 300 ms$/],
    ] as const) {
      const gateway = await SessionGateway.start({
        upstream: `ws://127.0.0.1:${port}`,
        connectTimeoutMs: 300,
      });
      cleanups.push(() => gateway.close());
      const events = record(gateway);
      const heldAtRefusal = sessionsAtRefusal(gateway);
      const { client } = recordingClient(cleanups, gateway.url);
      const closes = closesOf(client);
      void client.connect().catch(() => {});
      await settle('the refusal', () => closes.length >= 1);
      expect(closes[0]!.code).toBe(1014);
      expect(closes[0]!.reason).toMatch(reason);
      expect(events.refused[0]!.reason).toMatch(reason);
      expect(heldAtRefusal[0]).toBe(0);
      // The client retries after 1014; once it gives up, nothing is held for it.
      await client.close();
      await settle('no session held', () => gateway.sessions === 0);
    }
  });

  it('sessions beyond the limit are refused', async () => {
    const { gateway, clientUrl, events } = await gatewayFixture(cleanups, {
      gateway: { maxSessions: 2 },
    });
    const a = recordingClient(cleanups, clientUrl());
    const b = recordingClient(cleanups, clientUrl());
    await a.client.connect();
    await b.client.connect();
    const c = recordingClient(cleanups, clientUrl());
    const closes = closesOf(c.client);
    void c.client.connect().catch(() => {});
    await settle('the refusal', () => closes.length >= 1);
    expect(closes[0]).toEqual({ code: 1013, reason: 'gateway full: 2 sessions' });
    expect(events.refused[0]).toEqual({ code: 1013, reason: 'gateway full: 2 sessions' });
    expect(gateway.sessions).toBe(2);
    // A session ends: the client waiting for room gets it on its next try.
    await a.client.close();
    await settle('the third session', () => c.fresh.length === 1, 8_000);
    expect(gateway.sessions).toBe(2);
  });

  it('sockets beyond twice the session limit are answered 503 before the upgrade', async () => {
    const { clientUrl } = await gatewayFixture(cleanups, { gateway: { maxSessions: 1 } });
    const open = (url: string) =>
      new Promise<WebSocket | number>((resolve) => {
        const ws = new WebSocket(url);
        // Terminating the refused one (still CONNECTING after its 503) emits an error: expected.
        ws.on('error', () => {});
        cleanups.push(() => ws.terminate());
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      });
    // Two sockets that never say hello are held (until the hello timeout); the third is not.
    expect(await open(clientUrl())).toBeInstanceOf(WebSocket);
    expect(await open(clientUrl())).toBeInstanceOf(WebSocket);
    expect(await open(clientUrl())).toBe(503);
  });

  it('a stuck upstream ends the session with a clear reason instead of growing memory', async () => {
    const limit = 256 * 1024;
    const { upstream, clientUrl, upstreamProxy, events } = await gatewayFixture(cleanups, {
      proxyUpstream: true,
      gateway: { maxUpstreamBufferedBytes: limit },
    });
    const { client, received } = recordingClient(cleanups, clientUrl());
    const closes = closesOf(client);
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    // The upstream stops reading: the kernel's buffers fill, then the gateway's.
    upstreamProxy!.pause('toServer');
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (closes.length === 0 && sent < 2_000) {
      if (client.send(chunk)) sent++;
      else await sleep(5);
      if (sent % 16 === 0) await sleep(1);
    }
    await settle('the end of the session', () => events.end.length === 1, 10_000);
    const end = events.end[0]!;
    expect(end.why).toBe('upstream');
    expect(end.loss).toMatchObject({ kind: 'stuck' });
    const buffered = (end.loss as { bufferedBytes: number }).bufferedBytes;
    expect(buffered).toBeGreaterThan(limit);
    expect(buffered).toBeLessThan(limit + 2 * chunk.length);
    await settle('the close', () => closes.some((c) => c.code === 4410));
    expect(closes.find((c) => c.code === 4410)!.reason).toBe(
      `upstream not reading: ${buffered} bytes waiting`,
    );
    expect(upstream.connections).toBe(1);
  });

  it('an upstream that stops answering pings ends the session', async () => {
    const { clientUrl, upstreamProxy, events } = await gatewayFixture(cleanups, {
      proxyUpstream: true,
      gateway: { upstreamPingIntervalMs: 100 },
    });
    const { client, received } = recordingClient(cleanups, clientUrl());
    const closes = closesOf(client);
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    upstreamProxy!.blackhole();
    await settle('the end of the session', () => events.end.length === 1, 3_000);
    expect(events.end[0]).toMatchObject({ why: 'upstream', loss: { kind: 'silent' } });
    await settle('the close', () => closes.some((c) => c.code === 4410));
    expect(closes.find((c) => c.code === 4410)!.reason).toMatch(/^upstream silent for \d+ ms$/);
  });

  it('stops gracefully: clients and upstreams get 1001', async () => {
    const { upstream, gateway, clientUrl, events } = await gatewayFixture(cleanups);
    const clients = [
      recordingClient(cleanups, clientUrl()),
      recordingClient(cleanups, clientUrl()),
    ];
    const closes = clients.map(({ client }) => closesOf(client));
    for (const { client } of clients) await client.connect();
    await settle('two upstream connections', () => upstream.open === 2);
    await gateway.close();
    await settle('the clients told', () => closes.every((c) => c.length === 1));
    for (const c of closes) expect(c[0]!.code).toBe(1001);
    await settle('the upstreams closed', () => upstream.closes.length === 2);
    expect(upstream.closes.map((c) => [c.code, c.reason])).toEqual([
      [1001, 'gateway going away'],
      [1001, 'gateway going away'],
    ]);
    expect(events.end.map((e) => e.why)).toEqual(['stopped', 'stopped']);
    expect(gateway.sessions).toBe(0);
  });
});
