import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tether/testkit';
import { CloseCode, SessionClient } from '../src/index.js';
import type { NewSessionEvent, ResumedEvent, SessionClientOptions } from '../src/index.js';
import { fakeSockets } from './fakes.js';

const welcome = (over: object = {}) => ({
  type: 'welcome',
  version: 1,
  sessionId: 's1',
  resumeToken: 's1.token-1',
  resumed: false,
  reason: 'new',
  lastSeq: 0,
  replayFrom: 1,
  heartbeatMs: 1_000,
  resumeWindowMs: 120_000,
  ...over,
});

/** A client on a manual clock over fake sockets; random 0 makes every first retry immediate. */
function setup(options: Partial<SessionClientOptions> = {}) {
  const clock = new ManualClock(0);
  const sockets = fakeSockets();
  const client = new SessionClient({
    url: 'ws://test/session',
    socketFactory: sockets.factory,
    clock,
    random: () => 0,
    page: false,
    ...options,
  });
  const messages: unknown[] = [];
  const resumed: ResumedEvent[] = [];
  const fresh: NewSessionEvent[] = [];
  const dropped: unknown[][] = [];
  client.on('message', (body) => messages.push(body));
  client.on('resumed', (e) => resumed.push(e));
  client.on('newSession', (e) => fresh.push(e));
  client.on('dropped', (bodies) => dropped.push(bodies));
  /** Opens the newest socket and answers its hello. */
  const welcomed = (over: object = {}) => {
    if (client.state === 'idle') client.connect().catch(() => {});
    const socket = sockets.last();
    socket.open();
    socket.receive(welcome(over));
    return socket;
  };
  return { client, clock, sockets, messages, resumed, fresh, dropped, welcomed };
}

const data = (socket: { sent: Array<Record<string, unknown>> }) =>
  socket.sent.filter((f) => f.type === 'data').map((f) => [f.seq, f.body]);

describe('session client (fake clock)', () => {
  it('starts from a stored snapshot: the first hello resumes it, and new messages are numbered after what the server holds', () => {
    const { client, sockets, resumed } = setup({
      resume: { sessionId: 's1', resumeToken: 's1.stored', lastSeq: 7 },
    });
    expect(client.snapshot()).toEqual({ sessionId: 's1', resumeToken: 's1.stored', lastSeq: 7 });
    client.send('after restart');
    const socket = sockets.last();
    socket.open();
    expect(socket.sent[0]).toMatchObject({ type: 'hello', resumeToken: 's1.stored', lastSeq: 7 });
    socket.receive(
      welcome({
        resumed: true,
        reason: undefined,
        lastSeq: 4,
        replayFrom: 8,
        resumeToken: 's1.t2',
      }),
    );
    expect(resumed).toEqual([{ sessionId: 's1', resent: 0, missed: 0 }]);
    expect(data(socket)).toEqual([[5, 'after restart']]);
    expect(client.snapshot()).toEqual({ sessionId: 's1', resumeToken: 's1.t2', lastSeq: 7 });
  });

  it('sends the app context in every hello, read again each time when it is a function', async () => {
    let language = 'fr';
    const { clock, sockets, welcomed } = setup({ context: () => ({ language }) });
    welcomed();
    expect(sockets.last().sent[0]).toMatchObject({ type: 'hello', context: { language: 'fr' } });
    language = 'zh';
    sockets.last().peerClose(1006);
    clock.advance(0);
    expect(sockets.sockets).toHaveLength(2);
    sockets.last().open();
    expect(sockets.last().sent[0]).toMatchObject({ type: 'hello', context: { language: 'zh' } });
    const plain = setup();
    plain.welcomed();
    expect(plain.sockets.last().sent[0]).not.toHaveProperty('context');
  });

  it('says hello first, holds sends until the welcome, then sends them in order', async () => {
    const { client, sockets, welcomed, fresh } = setup();
    client.send('a');
    client.send('b');
    const socket = sockets.last();
    socket.open();
    client.send('c');
    expect(socket.sent).toEqual([{ type: 'hello', version: 1, resumeToken: null, lastSeq: 0 }]);
    expect(client.state).toBe('handshaking');
    welcomed();
    expect(data(socket)).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(client.state).toBe('active');
    expect(fresh).toEqual([
      { sessionId: 's1', reason: 'new', previousSessionId: null, undelivered: [] },
    ]);
  });

  it('opens one socket for any number of sends, before the first connection and after a drop', () => {
    const { client, sockets, clock, welcomed } = setup();
    for (let i = 0; i < 100; i++) client.send(i);
    expect(sockets.sockets).toHaveLength(1);
    welcomed();
    sockets.last().peerClose(1006);
    for (let i = 0; i < 100; i++) client.send(i);
    clock.advance(0);
    for (let i = 0; i < 100; i++) client.send(i);
    expect(sockets.sockets).toHaveLength(2);
  });

  it('resumes: the server’s stored seq drops what it has, the rest is resent with its seq, then the queue', () => {
    const { client, sockets, clock, welcomed, resumed, messages } = setup();
    const first = welcomed();
    first.receive({ type: 'data', seq: 1, body: 's-one' });
    first.receive({ type: 'data', seq: 2, body: 's-two' });
    for (const body of ['a', 'b', 'c']) client.send(body);
    first.receive({ type: 'ack', seq: 1 });
    first.peerClose(1006);
    client.send('d');
    clock.advance(0);
    const second = sockets.last();
    second.open();
    expect(second.sent).toEqual([
      { type: 'hello', version: 1, resumeToken: 's1.token-1', lastSeq: 2 },
    ]);
    second.receive(
      welcome({ resumed: true, resumeToken: 's1.token-2', lastSeq: 2, replayFrom: 3 }),
    );
    second.receive({ type: 'data', seq: 2, body: 'duplicate' });
    second.receive({ type: 'data', seq: 3, body: 's-three' });
    expect(data(second)).toEqual([
      [3, 'c'],
      [4, 'd'],
    ]);
    expect(resumed).toEqual([{ sessionId: 's1', resent: 1, missed: 0 }]);
    expect(messages).toEqual(['s-one', 's-two', 's-three']);
    expect(client.resumeToken).toBe('s1.token-2');
  });

  it('reports server messages lost to an overflowed replay buffer', () => {
    const { sockets, clock, welcomed, resumed } = setup();
    welcomed().peerClose(1006);
    clock.advance(0);
    sockets.last().open();
    sockets.last().receive(welcome({ resumed: true, replayFrom: 6 }));
    expect(resumed).toEqual([{ sessionId: 's1', resent: 0, missed: 5 }]);
  });

  it('gives back, unsent, what was meant for a session that could not be resumed', () => {
    const { client, sockets, clock, welcomed, fresh } = setup();
    welcomed();
    client.send('unacked');
    sockets.last().peerClose(1006);
    client.send('queued');
    clock.advance(0);
    const next = welcomed({ sessionId: 's2', resumeToken: 's2.t', reason: 'expired' });
    expect(fresh[1]).toEqual({
      sessionId: 's2',
      reason: 'expired',
      previousSessionId: 's1',
      undelivered: ['unacked', 'queued'],
    });
    expect(data(next)).toEqual([]);
    client.send('fresh');
    expect(data(next)).toEqual([[1, 'fresh']]);
  });

  it.each([
    [CloseCode.BadResumeToken, 'bad-token'],
    [CloseCode.SessionExpired, 'expired'],
  ])('on close %i forgets the token, comes back at once, and reports %s', async (code, reason) => {
    const { sockets, welcomed, fresh } = setup();
    welcomed();
    sockets.last().peerClose(code);
    await Promise.resolve();
    expect(sockets.sockets).toHaveLength(2);
    const next = sockets.last();
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'hello', resumeToken: null, lastSeq: 0 });
    next.receive(welcome({ sessionId: 's2', resumeToken: 's2.t' }));
    expect(fresh[1]).toMatchObject({ reason, previousSessionId: 's1' });
  });

  it('comes back at once to resume after 4408 (app silent), and stops for good after 4409 (replaced)', async () => {
    const { client, sockets, clock, welcomed } = setup({ random: () => 0.99 });
    welcomed();
    sockets.last().peerClose(CloseCode.AppSilent);
    await Promise.resolve();
    expect(sockets.sockets).toHaveLength(2);
    sockets.last().open();
    expect(sockets.last().sent[0]).toMatchObject({ resumeToken: 's1.token-1' });
    sockets.last().receive(welcome({ resumed: true }));
    const closed: unknown[] = [];
    client.on('closed', (info) => closed.push(info));
    sockets.last().peerClose(CloseCode.Replaced, 'replaced by a newer connection');
    await Promise.resolve();
    clock.advance(600_000);
    expect(sockets.sockets).toHaveLength(2);
    expect(client.state).toBe('closed');
    expect(closed).toEqual([{ reason: 'replaced' }]);
    expect(client.send('x')).toBe(false);
  });

  it('drops duplicates, coalesces acks, and drops the socket on a gap', () => {
    const { sockets, clock, welcomed, messages } = setup({ acks: { ackDelayMs: 20 } });
    const socket = welcomed();
    for (const seq of [1, 2, 3, 2]) socket.receive({ type: 'data', seq, body: seq });
    expect(messages).toEqual([1, 2, 3]);
    expect(socket.sent.filter((f) => f.type === 'ack')).toEqual([]);
    clock.advance(20);
    expect(socket.sent.filter((f) => f.type === 'ack')).toEqual([{ type: 'ack', seq: 3 }]);
    socket.receive({ type: 'data', seq: 5, body: 'gap' });
    expect(socket.terminated).toBe(true);
    expect(messages).toHaveLength(3);
    expect(sockets.sockets).toHaveLength(1);
  });

  it('pings on its own timers at the welcome’s interval, and hints before a pause', () => {
    const { client, clock, welcomed } = setup();
    const socket = welcomed();
    clock.advance(3_000);
    expect(socket.types().filter((t) => t === 'ping')).toHaveLength(3);
    socket.receive({ type: 'data', seq: 1, body: 'x' });
    client.pause();
    expect(socket.types().slice(-2)).toEqual(['ack', 'pausing']);
  });

  it('follows the page: a hint on the way out, a ping and a check on the way back', () => {
    const document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const window = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    const { welcomed } = setup({ page: { window, document } });
    const socket = welcomed();
    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    document.dispatchEvent(new Event('freeze'));
    expect(socket.types().slice(1)).toEqual(['pausing', 'pausing']);
    document.dispatchEvent(new Event('resume'));
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(
      socket
        .types()
        .slice(3)
        .filter((t) => t === 'ping').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('applies the overflow policy: reject refuses, drop-oldest evicts only what was never sent', () => {
    const rejecting = setup({ outbox: { maxMessages: 3 } });
    for (const body of ['a', 'b', 'c']) expect(rejecting.client.send(body)).toBe(true);
    expect(rejecting.client.send('d')).toBe(false);

    const evicting = setup({ outbox: { maxMessages: 3, overflow: 'drop-oldest' } });
    evicting.welcomed();
    evicting.client.send('sent');
    evicting.sockets.last().peerClose(1006);
    for (const body of ['q1', 'q2', 'q3']) expect(evicting.client.send(body)).toBe(true);
    expect(evicting.dropped).toEqual([['q1']]);
    expect(evicting.client.pending).toBe(3);
  });

  it('drops a socket that brings no welcome in time', () => {
    const { client, sockets, clock } = setup({ welcomeTimeoutMs: 1_000 });
    client.connect().catch(() => {});
    sockets.last().open();
    clock.advance(999);
    expect(sockets.sockets[0]!.terminated).toBe(false);
    clock.advance(1);
    expect(sockets.sockets[0]!.terminated).toBe(true);
    expect(client.state).not.toBe('active');
  });
});
