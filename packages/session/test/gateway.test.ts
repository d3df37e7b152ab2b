import { afterEach, describe, expect, it } from 'vitest';
import { wsSocketFactory } from '@tether/link/node';
import type { Cleanup } from './helpers.js';
import { numbers, recordingClient, settle } from './helpers.js';
import { closesOf, gatewayFixture, parsed, sleep } from './gateway-helpers.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The counting upstream's reply bodies a client received, parsed. */
const replies = (received: unknown[]) =>
  parsed(received.filter((b) => typeof b === 'string' && b.startsWith('{'))).filter(
    (m) => (m as { type: string }).type === 'reply',
  ) as Array<{
    connection: number;
    count: number;
    text: string;
  }>;

describe('the session gateway in front of an ordinary WebSocket server', () => {
  it('path and query reach the upstream', async () => {
    const { upstream, clientUrl, events } = await gatewayFixture(cleanups, {
      upstreamPath: '/base?app=1',
    });
    const { client, received } = recordingClient(
      cleanups,
      clientUrl('/chat/room-7?lang=fr&token=s3cret'),
    );
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    const path = '/base/chat/room-7?app=1&lang=fr&token=s3cret';
    expect(upstream.requests.map((r) => r.path)).toEqual([path]);
    expect(parsed(received)).toEqual([{ type: 'greeting', connection: 1, path }]);
    // The log names the upstream without the values of its query.
    expect(events.start.map((e) => e.upstream)).toEqual([
      `${upstream.url}/base/chat/room-7?app=***&lang=***&token=***`,
    ]);
  });

  it('text frames pass through untouched, both ways', async () => {
    const { upstream, clientUrl } = await gatewayFixture(cleanups);
    const { client, received } = recordingClient(cleanups, clientUrl());
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    const odd = '{"b": 1,  "a":[1.0, 2e3, 12345678901234567890]}';
    upstream.send(1, odd);
    upstream.send(1, 'plain words, not JSON');
    await settle('both frames', () => received.length === 3);
    expect(received.slice(1)).toEqual([odd, 'plain words, not JSON']);

    // A string body goes as its text; any other JSON as its JSON text; nothing of the session
    // protocol itself (hello, acks, pings) reaches the upstream.
    for (const body of ['{"x" : 1}', 'hello', { a: 1, b: [true, null] }, 42, null])
      client.send(body);
    await settle('five frames upstream', () => upstream.received.length === 5);
    await sleep(300); // a heartbeat or two: pings and acks must not show up
    expect(upstream.received.map((r) => r.text)).toEqual([
      '{"x" : 1}',
      'hello',
      '{"a":1,"b":[true,null]}',
      '42',
      'null',
    ]);
    expect(upstream.received.every((r) => !r.binary && r.connection === 1)).toBe(true);
  });

  it('binary frames travel as {"$binary": base64}, both ways', async () => {
    const { upstream, clientUrl } = await gatewayFixture(cleanups);
    const { client, received } = recordingClient(cleanups, clientUrl());
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    upstream.sendBinary(1, new Uint8Array([0, 1, 2, 250, 255]));
    await settle('the binary frame', () => received.length === 2);
    expect(received[1]).toEqual({ $binary: 'AAEC+v8=' });

    client.send({ $binary: 'AAEC+v8=' });
    // Not exactly the shape (another key, not canonical base64): sent as JSON text.
    client.send({ $binary: 'AAEC+v8=', more: 1 });
    client.send({ $binary: 'not base64!' });
    await settle('three frames upstream', () => upstream.received.length === 3);
    expect(upstream.received.map(({ text, binary }) => ({ text, binary }))).toEqual([
      { text: 'AAEC+v8=', binary: true },
      { text: '{"$binary":"AAEC+v8=","more":1}', binary: false },
      { text: '{"$binary":"not base64!"}', binary: false },
    ]);
    // The fixture echoes binary frames as binary.
    await settle('the echo', () => received.length === 5);
    expect(received[2]).toEqual({ $binary: 'AAEC+v8=' });
  });

  it('messages sent while the upstream dials arrive in order', async () => {
    const { upstream, clientUrl } = await gatewayFixture(cleanups, {
      upstream: { acceptDelayMs: 300 },
    });
    const { client, received } = recordingClient(cleanups, clientUrl());
    for (const n of numbers(1, 50)) client.send(n);
    await settle('all 50 upstream', () => upstream.received.length === 50);
    expect(upstream.received.map((r) => r.text)).toEqual(numbers(1, 50).map(String));
    expect(upstream.connections).toBe(1);
    await settle('every reply', () => received.length === 51);
    expect(parsed(received)[0]).toMatchObject({ type: 'greeting', connection: 1 });
    expect(replies(received).map((r) => r.count)).toEqual(numbers(1, 50));
  });

  it('messages sent while the upstream is not reading arrive in order once it reads again', async () => {
    const { upstream, clientUrl, upstreamProxy } = await gatewayFixture(cleanups, {
      proxyUpstream: true,
    });
    const { client, received } = recordingClient(cleanups, clientUrl());
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    upstreamProxy!.pause('toServer');
    for (const n of numbers(1, 100)) client.send(`m${n}`);
    // Every message is acknowledged to the client (stored by the gateway) though none arrived.
    await settle('the client acknowledged', () => client.pending === 0);
    expect(upstream.received).toEqual([]);
    upstreamProxy!.resume();
    await settle('all 100 upstream', () => upstream.received.length === 100);
    expect(upstream.received.map((r) => r.text)).toEqual(numbers(1, 100).map((n) => `m${n}`));
    expect(upstream.connections).toBe(1);
  });

  it("a client paused past the server's heartbeat keeps one upstream connection and gets every message after it resumes", async () => {
    // The upstream cuts a peer that misses its pings for 300 ms; the client is frozen (its
    // traffic held by the proxy) for 1.5 s, long enough for the gateway to cut its socket too.
    const { upstream, clientUrl, clientProxy } = await gatewayFixture(cleanups, {
      upstream: { heartbeatMs: 150 },
      proxyClients: true,
    });
    const { client, received, resumed, fresh } = recordingClient(cleanups, clientUrl('/talk'), {
      link: { connectTimeoutMs: 3_000 },
    });
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    clientProxy!.pause('both');
    for (const n of numbers(1, 10)) {
      upstream.broadcast(`while paused ${n}`);
      await sleep(150);
    }
    await sleep(1_500 - 10 * 150);
    expect(upstream.open).toBe(1);
    clientProxy!.resume();
    await settle('every message', () => received.length === 11, 8_000);
    expect(received.slice(1)).toEqual(numbers(1, 10).map((n) => `while paused ${n}`));
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(fresh).toHaveLength(1);
    expect(upstream.connections).toBe(1);
    expect(upstream.open).toBe(1);
    expect(upstream.closes).toEqual([]);
    // The conversation goes on in the same upstream connection.
    client.send('and now');
    await settle('the reply', () => received.length === 12);
    expect(replies(received)).toEqual([
      { type: 'reply', connection: 1, count: 1, text: 'and now' },
    ]);
  });

  it('a client that reconnects five times within the resume window is one upstream connection', async () => {
    const { upstream, clientUrl, clientProxy, events } = await gatewayFixture(cleanups, {
      proxyClients: true,
    });
    const { client, received, resumed, fresh } = recordingClient(cleanups, clientUrl());
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    for (const n of numbers(1, 5)) {
      clientProxy!.resetAll();
      client.send(`after drop ${n}`);
      await settle(`resume ${n}`, () => resumed.length === n);
      await settle(`reply ${n}`, () => replies(received).length === n);
    }
    expect(replies(received)).toEqual(
      numbers(1, 5).map((n) => ({
        type: 'reply',
        connection: 1,
        count: n,
        text: `after drop ${n}`,
      })),
    );
    expect(clientProxy!.stats().total).toBe(6);
    expect(fresh).toHaveLength(1);
    expect(upstream.connections).toBe(1);
    expect(upstream.open).toBe(1);
    expect(events.start).toHaveLength(1);
    expect(events.resume).toHaveLength(5);
  });

  it('upstream close ends the session after its last message was delivered', async () => {
    const { upstream, gateway, clientUrl, clientProxy, events } = await gatewayFixture(cleanups, {
      proxyClients: true,
    });
    const { client, received, fresh } = recordingClient(cleanups, clientUrl(), {
      link: { connectTimeoutMs: 3_000 },
    });
    const closes = closesOf(client);
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    // The client is away when the upstream says its last words and hangs up.
    clientProxy!.pause('both');
    upstream.send(1, 'last words');
    upstream.drop(1, 4000, 'bye');
    await settle('the upstream loss', () => events['upstream-lost'].length === 1);
    expect(events['upstream-lost'][0]!.loss).toEqual({ kind: 'closed', code: 4000, reason: 'bye' });
    await sleep(800);
    // Not ended while the client has not read them: it may still come back within the window.
    expect(gateway.sessions).toBe(1);
    expect(events.end).toEqual([]);
    clientProxy!.resume();
    await settle('the last words', () => received.includes('last words'), 8_000);
    await settle('the end of the session', () => events.end.length === 1);
    expect(events.end[0]).toMatchObject({
      why: 'upstream',
      delivered: true,
      loss: { kind: 'closed', code: 4000, reason: 'bye' },
    });
    // The client is told the session ended (4410, with the upstream's close), and its next
    // session is a new conversation on a new upstream connection.
    await settle('a new session', () => fresh.length === 2);
    expect(closes).toContainEqual({ code: 4410, reason: 'upstream closed: 4000 bye' });
    expect(fresh[1]).toMatchObject({ reason: 'expired' });
    await settle('the second greeting', () => received.length === 3);
    expect(received[1]).toBe('last words');
    expect(parsed([received[0], received[2]])).toEqual([
      { type: 'greeting', connection: 1, path: '/' },
      { type: 'greeting', connection: 2, path: '/' },
    ]);
  });

  it('a session past the resume window closes its upstream', async () => {
    const { upstream, gateway, clientUrl, events } = await gatewayFixture(cleanups, {
      gateway: { session: { resumeWindowMs: 500 } },
    });
    const { client, received } = recordingClient(cleanups, clientUrl());
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    await client.close({ end: false });
    await sleep(200);
    expect(upstream.open).toBe(1); // still resumable
    await settle('the upstream closed', () => upstream.closes.length === 1, 3_000);
    expect(upstream.closes).toEqual([{ connection: 1, code: 1001, reason: 'session expired' }]);
    expect(events.end).toMatchObject([{ why: 'expired' }]);
    expect(gateway.sessions).toBe(0);
  });

  it('a client that ends its session closes the upstream with 1000', async () => {
    const { upstream, gateway, clientUrl, events } = await gatewayFixture(cleanups);
    const { client, received } = recordingClient(cleanups, clientUrl());
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    await client.close();
    await settle('the upstream closed', () => upstream.closes.length === 1);
    expect(upstream.closes).toEqual([{ connection: 1, code: 1000, reason: 'session ended' }]);
    expect(events.end).toMatchObject([{ why: 'client-ended' }]);
    expect(gateway.sessions).toBe(0);
  });

  it('forwards Authorization, Cookie and X-Forwarded-* by default, and only what it is told', async () => {
    const headers = {
      Authorization: 'Bearer t0ken',
      Cookie: 'sid=1',
      'X-Forwarded-For': '10.0.0.9',
      'X-Private': 'not for the upstream',
    };
    const one = await gatewayFixture(cleanups);
    const a = recordingClient(cleanups, one.clientUrl(), {
      socketFactory: wsSocketFactory({ headers }),
    });
    await a.client.connect();
    const seen = one.upstream.requests[0]!.headers;
    expect(seen.authorization).toBe('Bearer t0ken');
    expect(seen.cookie).toBe('sid=1');
    expect(seen['x-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-private']).toBeUndefined();

    const two = await gatewayFixture(cleanups, { gateway: { forwardHeaders: ['X-Private'] } });
    const b = recordingClient(cleanups, two.clientUrl(), {
      socketFactory: wsSocketFactory({ headers }),
    });
    await b.client.connect();
    const only = two.upstream.requests[0]!.headers;
    expect(only['x-private']).toBe('not for the upstream');
    expect(only.authorization).toBeUndefined();
    expect(only.cookie).toBeUndefined();
    expect(only['x-forwarded-for']).toBeUndefined();
  });
});
