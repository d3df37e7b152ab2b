import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '@tether/testkit';
import { Link, isLinkError } from '../src/index.js';
import type { LinkOptions, Transition } from '../src/index.js';
import { fakeFactory } from './fake-socket.js';
import type { FakeSocket } from './fake-socket.js';

function setup(options: Partial<LinkOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const fake = fakeFactory();
  const link = new Link({
    url: 'ws://endpoint.test/mcp/?token=t',
    socketFactory: fake.factory,
    clock,
    random: seededRandom(7),
    ...options,
  });
  const transitions: Transition[] = [];
  link.on('transition', (t) => transitions.push(t));
  return { clock, fake, link, transitions };
}

describe('link states', () => {
  it('goes disabled → connecting → open → ready, each transition with its cause and time', async () => {
    const { link, fake, clock, transitions } = setup();
    const connected = link.connect();
    clock.advance(5);
    fake.last().open();
    await connected;
    link.markReady();
    expect(transitions.map((t) => `${t.from}→${t.to}:${t.cause.type}`)).toEqual([
      'disabled→connecting:person',
      'connecting→open:open',
      'open→ready:ready',
    ]);
    expect(transitions[1]!.at).toBe(1_000_005);
    expect(link.status).toEqual({ name: 'ready', since: 1_000_005, generation: 1 });
  });

  it('reports the close code and reason as the cause of a loss', () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    fake.last().peerClose(4004, 'Internal server error');
    expect(transitions.at(-1)).toMatchObject({
      from: 'open',
      to: 'backoff',
      cause: { type: 'close', code: 4004, reason: 'Internal server error' },
    });
  });
});

describe('single flight', () => {
  it('200 concurrent connect and retry requests share one attempt and one socket', async () => {
    const { link, fake } = setup();
    const requests = Array.from({ length: 200 }, (_, i) => {
      if (i % 2) link.retryNow();
      return link.connect();
    });
    expect(fake.sockets).toHaveLength(1);
    fake.last().open();
    await Promise.all(requests);
    link.retryNow();
    void link.connect();
    expect(fake.sockets).toHaveLength(1);
  });

  it('close() while connecting leaves no socket and no timer, and the waiters learn why', async () => {
    const { link, fake, clock } = setup();
    const connecting = link.connect();
    await link.close();
    expect(fake.last().terminated).toBe(true);
    expect(clock.pending).toBe(0);
    await expect(connecting).rejects.toSatisfy((e) => isLinkError(e, 'LINK_CLOSED'));
    fake.last().open(); // a late open from the abandoned socket changes nothing
    expect(link.status.name).toBe('disabled');
  });

  it('close() during backoff leaves no timer and never reconnects', async () => {
    const { link, fake, clock } = setup();
    void link.connect().catch(() => {});
    fake.last().fail();
    expect(link.status.name).toBe('backoff');
    await link.close();
    expect(clock.pending).toBe(0);
    clock.advance(10 * 60_000);
    expect(fake.sockets).toHaveLength(1);
  });

  it('close() on an open socket closes politely, and cuts a peer that never answers', async () => {
    const { link, fake, clock } = setup({ closeGraceMs: 1_000 });
    void link.connect();
    fake.last().open();
    const closed = link.close(1001, 'shutting down');
    expect(fake.last().closedWith).toEqual({ code: 1001, reason: 'shutting down' });
    clock.advance(1_000);
    await closed;
    expect(fake.last().terminated).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('refuses a reply meant for a socket that has died', () => {
    const { link, fake, clock } = setup();
    void link.connect();
    fake.last().open();
    const generation = (link.status as { generation: number }).generation;
    fake.last().peerClose(1006);
    clock.runNext();
    fake.last().open();
    expect(link.send('{"id":7}', generation)).toBe(false);
    expect(link.send('{"id":0}', generation + 1)).toBe(true);
    expect(fake.sockets[0]!.sent).toEqual([]);
  });
});

describe('detection', () => {
  it('terminates a socket silent for M ping intervals: within P × M of its last pong', () => {
    const { link, fake, clock, transitions } = setup({ pingIntervalMs: 5_000, maxMissedPongs: 2 });
    void link.connect();
    fake.last().open();
    clock.advance(5_000);
    fake.last().pong(); // healthy so far
    const lastPong = clock.now();
    clock.advance(100); // …and then the peer goes silent
    while (link.status.name === 'open') clock.runNext();
    const loss = transitions.at(-1)!;
    expect(loss.cause).toEqual({ type: 'heartbeat', missed: 1, silentMs: 10_000 });
    expect(loss.at - lastPong).toBe(5_000 * 2);
    expect(fake.sockets[0]!.pings).toBe(2);
    expect(fake.sockets[0]!.terminated).toBe(true);
    expect(fake.sockets[0]!.closedWith).toBeUndefined();
  });

  it('follows a live change of the heartbeat on an open socket, without reconnecting', () => {
    const { link, fake, clock } = setup({ pingIntervalMs: 30_000, maxMissedPongs: 2 });
    void link.connect();
    fake.last().open();
    link.configure({ pingIntervalMs: 1_000, maxMissedPongs: 2 });
    clock.advance(1_000);
    expect(fake.last().pings).toBe(1);
    // Silent from now on: cut at the new deadline (2 × 1 s after the last sign of life), not 60 s.
    while (link.status.name === 'open') clock.runNext();
    expect(clock.now() - 1_000_000).toBeLessThanOrEqual(2_000);
    expect(fake.sockets).toHaveLength(1);
    expect(link.heartbeat).toEqual({ intervalMs: 1_000, maxMissed: 2 });
  });

  it('cuts the socket at once when closed with no grace (its lease is gone)', async () => {
    const { link, fake } = setup({ closeGraceMs: 2_000 });
    void link.connect();
    fake.last().open();
    const closed = link.close(1001, 'lease lost', 0);
    expect(fake.last().terminated).toBe(true);
    await closed;
    expect(link.status.name).toBe('disabled');
  });

  it('takes any frame from the peer as a sign of life, and saves pings on a busy link', () => {
    const { link, fake, clock } = setup({ pingIntervalMs: 1_000, maxMissedPongs: 2 });
    void link.connect();
    fake.last().open();
    for (let i = 0; i < 50; i++) {
      clock.advance(500);
      fake.last().receive('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    }
    expect(link.status.name).toBe('open');
  });

  it('keeps a socket whose peer answers pings, or sends anything at all', () => {
    const { link, fake, clock } = setup({ pingIntervalMs: 1_000 });
    void link.connect();
    fake.last().open();
    for (let i = 0; i < 20; i++) {
      clock.advance(1_000);
      if (i % 2) fake.last().pong();
      else fake.last().receive('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    }
    expect(link.status.name).toBe('open');
    expect(fake.last().pings).toBeGreaterThanOrEqual(19);
  });

  it('gives up on an attempt that does not open within the connect timeout', () => {
    const { link, fake, clock, transitions } = setup({ connectTimeoutMs: 10_000 });
    void link.connect();
    clock.advance(9_999);
    expect(link.status.name).toBe('connecting');
    clock.advance(1);
    expect(transitions.at(-1)).toMatchObject({
      from: 'connecting',
      to: 'backoff',
      cause: { type: 'timeout', phase: 'connect' },
    });
    expect(fake.last().terminated).toBe(true);
  });

  it('lets the layer above declare the link dead', () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    link.declareDead('no initialize within 10 s');
    expect(fake.last().terminated).toBe(true);
    expect(transitions.at(-1)!.cause).toEqual({
      type: 'dead',
      reason: 'no initialize within 10 s',
    });
  });

  it('checks the socket on the first reply that cannot be sent, and cuts it within 2 s instead of 10 s', () => {
    const { link, fake, clock, transitions } = setup({ pingIntervalMs: 5_000, maxMissedPongs: 2 });
    void link.connect();
    fake.last().open();
    link.markReady();
    clock.advance(1_000);
    fake.last().send = () => {
      throw new Error('write EPIPE');
    };
    let sent: boolean | undefined;
    try {
      sent = link.send('{"jsonrpc":"2.0","id":1,"result":{}}');
    } catch {
      // before the fix the error escaped to the caller, and nothing else happened
    }
    expect(sent).toBe(false);
    expect(fake.last().pings).toBe(1); // asked at once, not at the next heartbeat
    clock.advance(1_999);
    expect(link.status.name).toBe('ready');
    clock.advance(1);
    expect(transitions.at(-1)).toMatchObject({
      from: 'ready',
      to: 'backoff',
      cause: { type: 'heartbeat', check: 'send-failed', silentMs: 3_000 },
    });
    expect(fake.sockets[0]!.terminated).toBe(true);
  });

  it('keeps a socket that answers the check after a failed send', () => {
    const { link, fake, clock } = setup({ checkTimeoutMs: 2_000 });
    void link.connect();
    fake.last().open();
    const send = fake.last().send.bind(fake.last());
    fake.last().send = () => {
      throw new Error('busy');
    };
    expect(link.send('x')).toBe(false);
    fake.last().send = send;
    clock.advance(50);
    fake.last().pong();
    clock.advance(4_000);
    expect(link.status.name).toBe('open');
    expect(link.send('y')).toBe(true);
  });

  it('checks a socket whose send buffer keeps growing past the limit, and cuts it if the peer is gone', () => {
    const { link, fake, clock, transitions } = setup({ bufferedLimitBytes: 1_000_000 });
    void link.connect();
    fake.last().open();
    link.markReady();
    const socket = fake.last();
    socket.bufferedAmount = 1_500_000;
    link.send('a');
    expect(socket.pings).toBe(0); // one look over the limit is a big message, not a dead peer
    socket.bufferedAmount = 1_200_000;
    link.send('b');
    socket.bufferedAmount = 1_300_000;
    link.send('c');
    expect(socket.pings).toBe(0); // it drained in between: the peer is reading
    socket.bufferedAmount = 1_400_000;
    link.send('d');
    expect(socket.pings).toBe(1); // grew twice in a row: asked at once
    clock.advance(2_000);
    expect(transitions.at(-1)!.cause).toMatchObject({ type: 'heartbeat', check: 'backpressure' });
  });

  it('declares a socket that cannot be pinged dead on a failed send (no evidence will come)', () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    const socket = fake.last();
    // Like a browser socket with no heartbeat option: nothing to ask the peer with.
    (socket as { ping?: () => void }).ping = undefined;
    socket.open();
    socket.send = () => {
      throw new Error('InvalidStateError');
    };
    expect(link.send('x')).toBe(false);
    expect(transitions.at(-1)!.cause).toEqual({
      type: 'dead',
      reason: 'send failed: InvalidStateError',
    });
  });

  it('acts on a socket error at once', () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    fake.last().fail('read ECONNRESET');
    expect(transitions.at(-1)).toMatchObject({
      to: 'backoff',
      cause: { type: 'error', message: 'read ECONNRESET' },
    });
  });
});

describe('planned reconnect', () => {
  it('closes the socket politely and opens the next only once the old one is gone', async () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    link.markReady();
    link.reconnect('tools changed');
    expect(fake.sockets[0]!.closedWith).toEqual({ code: 1000, reason: 'tools changed' });
    link.retryNow(); // a retry button pressed meanwhile must not open a second socket
    expect(fake.sockets).toHaveLength(1);
    fake.sockets[0]!.peerClose(1000, 'tools changed');
    await Promise.resolve();
    expect(fake.sockets).toHaveLength(2);
    expect(link.failureCount).toBe(0);
    expect(transitions.map((t) => t.cause.type)).toContain('reconnect');
  });

  it('shows the planned reconnect as its own state, then connects once the old socket is gone', () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    link.markReady();
    link.reconnect('tools changed');
    expect(link.status).toEqual({
      name: 'reconnecting',
      since: 1_000_000,
      reason: 'tools changed',
    });
    expect(link.send('{"id":1}')).toBe(false); // the old socket is leaving: nothing more on it
    fake.sockets[0]!.peerClose(1000, 'tools changed');
    expect(transitions.slice(-2).map((t) => `${t.from}→${t.to}:${t.cause.type}`)).toEqual([
      'ready→reconnecting:reconnect',
      'reconnecting→connecting:reconnect',
    ]);
    expect(fake.sockets).toHaveLength(2);
  });

  it.each([
    ['the old socket finishes closing', (old: FakeSocket) => old.peerClose(1000, 'tools changed')],
    ['the old socket is cut after the grace period', () => {}],
  ])(
    'a removed endpoint stays removed: reconnect() → retryNow() → close() leaves no socket and no timer when %s',
    async (_, finish) => {
      const { link, fake, clock, transitions } = setup({ closeGraceMs: 500 });
      void link.connect();
      fake.last().open();
      link.markReady();
      link.reconnect('tools changed');
      link.retryNow(); // someone presses retry…
      const closed = link.close(); // …and the endpoint is removed before the old socket is gone
      finish(fake.sockets[0]!);
      clock.advance(500);
      await closed;
      clock.advance(10 * 60_000);
      expect(fake.sockets).toHaveLength(1);
      expect(clock.pending).toBe(0);
      expect(link.status.name).toBe('disabled');
      expect(transitions.at(-1)).toMatchObject({ from: 'reconnecting', to: 'disabled' });
    },
  );

  it('waits offline instead of dialling when the network went away during a planned reconnect', () => {
    const { link, fake } = setup();
    void link.connect();
    fake.last().open();
    link.reconnect();
    link.setOnline(false);
    fake.sockets[0]!.peerClose(1000);
    expect(link.status).toMatchObject({ name: 'backoff', retryAt: null });
    expect(fake.sockets).toHaveLength(1);
    link.setOnline(true);
    expect(fake.sockets).toHaveLength(2);
  });

  it('cuts an old socket that never completes the close, then reconnects', async () => {
    const { link, fake, clock } = setup({ closeGraceMs: 500 });
    void link.connect();
    fake.last().open();
    link.reconnect();
    clock.advance(500);
    await Promise.resolve();
    expect(fake.sockets[0]!.terminated).toBe(true);
    expect(fake.sockets).toHaveLength(2);
  });
});
