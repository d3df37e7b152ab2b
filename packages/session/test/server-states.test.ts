import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tether/testkit';
import { CloseCode } from '../src/index.js';
import { MemorySessionStore, SessionServer } from '../src/server/index.js';
import type {
  ExpiredSession,
  NewSessionInfo,
  Session,
  SessionServerOptions,
  SessionStatus,
} from '../src/server/index.js';
import { FakeTransport, drain } from './fakes.js';

interface Convo {
  conversationId: string;
  language: string;
}

const servers: SessionServer<Convo>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** A server on a manual clock, driven through fake transports: no sockets, no waiting. */
function setup(options: SessionServerOptions<Convo> = {}) {
  const clock = new ManualClock(1_000_000);
  const setups: string[] = [];
  const resumes: Array<{ state: Convo; replayed: number; missed: number }> = [];
  const expired: ExpiredSession<Convo>[] = [];
  const received: unknown[] = [];
  const statuses: string[] = [];
  const server = new SessionServer<Convo>({
    clock,
    heartbeatMs: 1_000,
    pauseAfterMs: 2_500,
    detachAfterMs: 5_000,
    pingIntervalMs: 1_000,
    maxMissedPongs: 2,
    tickMs: 100,
    resumeWindowMs: 10_000,
    onNewSession: (session) => {
      setups.push(session.id);
      session.send({ greeting: 'hello' });
      return { conversationId: `c${setups.length}`, language: 'en' };
    },
    onResume: (session, info) => resumes.push({ state: session.state, ...info }),
    onMessage: (_session, body) => received.push(body),
    onExpire: (e) => expired.push(e),
    ...options,
  });
  servers.push(server);
  server.on('status', (_s, to, from) => statuses.push(`${from}→${to}`));

  async function connect(hello: object = {}): Promise<FakeTransport> {
    const t = new FakeTransport();
    t.handlers = server.accept(t);
    t.frame({ type: 'hello', version: 1, lastSeq: 0, ...hello });
    await drain();
    return t;
  }

  /** Moves time in ticks; `alive` transports answer every ping, as a live network stack does. */
  async function advance(ms: number, alive: FakeTransport[] = []) {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      for (const transport of alive) if (transport.pings > 0) transport.handlers.pong();
      await drain();
    }
  }

  const only = () => [...server.sessions.values()][0] as Session<Convo>;
  return { server, clock, connect, advance, only, setups, resumes, expired, received, statuses };
}

describe('server session states (fake clock)', () => {
  it('announces a new session as new, runs set-up once, and sends what set-up sent after the welcome', async () => {
    const { connect, setups, only } = setup();
    const t = await connect();
    expect(t.sent[0]).toMatchObject({
      type: 'welcome',
      version: 1,
      resumed: false,
      reason: 'new',
      lastSeq: 0,
      replayFrom: 1,
      heartbeatMs: 1_000,
      resumeWindowMs: 10_000,
    });
    expect(t.sent[1]).toEqual({ type: 'data', seq: 1, body: { greeting: 'hello' } });
    expect(setups).toHaveLength(1);
    expect(only().state).toEqual({ conversationId: 'c1', language: 'en' });
    expect(only().status).toBe('active');
  });

  it('goes active → paused when the app is silent though pongs still come, → detached (4408), → expired', async () => {
    const { connect, advance, only, statuses, expired } = setup();
    const t = await connect();
    const session = only();
    session.setState({ ...session.state, language: 'fr' });
    await advance(2_400, [t]);
    expect(session.status).toBe('active');
    await advance(200, [t]);
    expect(session.status).toBe('paused');
    expect(session.pausedBy).toBe('silence');
    expect(t.pings).toBeGreaterThan(0);
    await advance(5_000, [t]);
    expect(session.status).toBe('detached');
    expect(t.closedWith).toEqual({ code: CloseCode.AppSilent, reason: expect.any(String) });
    session.send('while detached');
    await advance(9_800);
    expect(expired).toEqual([]);
    await advance(300);
    expect(session.status).toBe('expired');
    expect(expired).toEqual([
      { id: session.id, reason: 'timeout', state: { conversationId: 'c1', language: 'fr' } },
    ]);
    expect(statuses).toEqual(['active→paused', 'paused→detached', 'detached→expired']);
    expect(session.send('too late')).toBe(false);
  });

  it('pauses at once on the hint, and any frame from the app makes it active again', async () => {
    const { connect, advance, only } = setup();
    const t = await connect();
    t.frame({ type: 'pausing' });
    expect(only()).toMatchObject({ status: 'paused', pausedBy: 'hint' });
    await advance(1_000, [t]);
    t.frame({ type: 'ping' });
    expect(only()).toMatchObject({ status: 'active', pausedBy: null });
    expect(t.of('pong')).toHaveLength(1);
  });

  it('cuts a transport whose pongs stop, and the session waits detached', async () => {
    const { connect, advance, only } = setup();
    const t = await connect();
    await advance(2_100);
    expect(t.terminated).toBe(true);
    expect(only().status).toBe('detached');
  });

  it('resumes: stored seq in the welcome, unacked frames replayed in order, no set-up, state handed back', async () => {
    const { connect, only, setups, resumes, received } = setup();
    const first = await connect();
    const welcome = first.sent[0]!;
    const session = only();
    first.frame({ type: 'data', seq: 1, body: 'c-one' });
    first.frame({ type: 'data', seq: 2, body: 'c-two' });
    session.send('s2');
    session.send('s3');
    await drain();
    first.frame({ type: 'ack', seq: 2 });
    first.handlers.closed();
    session.send('s4');
    await drain();

    const second = await connect({ resumeToken: welcome.resumeToken, lastSeq: 2 });
    expect(second.sent[0]).toMatchObject({
      type: 'welcome',
      resumed: true,
      sessionId: session.id,
      lastSeq: 2,
      replayFrom: 3,
    });
    expect(second.sent[0]!.resumeToken).not.toBe(welcome.resumeToken);
    expect(second.sent.slice(1)).toEqual([
      { type: 'data', seq: 3, body: 's3' },
      { type: 'data', seq: 4, body: 's4' },
    ]);
    expect(setups).toHaveLength(1);
    expect(resumes).toEqual([
      expect.objectContaining({ state: { conversationId: 'c1', language: 'en' }, replayed: 2 }),
    ]);
    expect(received).toEqual(['c-one', 'c-two']);
    expect(only()).toBe(session);
  });

  it('replaces an older connection with a newer one resuming the same session (4409)', async () => {
    const { connect, only } = setup();
    const first = await connect();
    const second = await connect({ resumeToken: first.sent[0]!.resumeToken, lastSeq: 1 });
    expect(first.closedWith?.code).toBe(CloseCode.Replaced);
    expect(second.sent[0]).toMatchObject({ type: 'welcome', resumed: true });
    first.frame({ type: 'data', seq: 1, body: 'from the old socket' });
    expect(only().status).toBe('active');
  });

  it('closes with 4401 on a bad resume token, malformed or not matching', async () => {
    const { connect } = setup();
    const real = await connect();
    const token = String(real.sent[0]!.resumeToken);
    const malformed = await connect({ resumeToken: 'not a token' });
    expect(malformed.closedWith?.code).toBe(CloseCode.BadResumeToken);
    const forged = await connect({ resumeToken: `${token.split('.')[0]}.${'A'.repeat(32)}` });
    expect(forged.closedWith?.code).toBe(CloseCode.BadResumeToken);
  });

  it('starts a new session, saying why, when the old one expired or is unknown', async () => {
    const { connect, advance, setups } = setup();
    const first = await connect();
    const token = first.sent[0]!.resumeToken as string;
    first.handlers.closed();
    await advance(10_100);
    const late = await connect({ resumeToken: token, lastSeq: 1 });
    expect(late.sent[0]).toMatchObject({ resumed: false, reason: 'expired', replayFrom: 1 });
    expect(setups).toHaveLength(2);

    const elsewhere = setup({ store: new MemorySessionStore() });
    const stranger = await elsewhere.connect({ resumeToken: token, lastSeq: 1 });
    expect(stranger.sent[0]).toMatchObject({ resumed: false, reason: 'unknown' });
  });

  it("hands the hello's context to set-up, and past the window the expired session's id and last state too", async () => {
    const infos: NewSessionInfo<Convo>[] = [];
    const resumed: unknown[] = [];
    const { connect, advance } = setup({
      onNewSession: (session, info) => {
        infos.push(info);
        const context = info.context as { language?: string } | undefined;
        return {
          conversationId: info.previousState?.conversationId ?? `c${infos.length}`,
          language: context?.language ?? 'en',
        };
      },
      onResume: (_session, info) => resumed.push(info.context),
    });
    const first = await connect({ context: { language: 'fr', conversationId: 'app-7' } });
    expect(infos[0]).toMatchObject({
      reason: 'new',
      previousSessionId: null,
      context: { language: 'fr', conversationId: 'app-7' },
    });
    expect(infos[0]!.previousState).toBeUndefined();
    const id = first.sent[0]!.sessionId as string;
    const token = first.sent[0]!.resumeToken as string;
    first.handlers.closed();

    const again = await connect({ resumeToken: token, lastSeq: 0, context: { language: 'de' } });
    expect(again.sent[0]).toMatchObject({ resumed: true });
    expect(resumed).toEqual([{ language: 'de' }]);
    const next = again.sent[0]!.resumeToken as string;
    again.handlers.closed();

    await advance(10_100);
    const late = await connect({ resumeToken: next, lastSeq: 0, context: { language: 'zh' } });
    expect(late.sent[0]).toMatchObject({ resumed: false, reason: 'expired' });
    expect(infos[1]).toMatchObject({
      reason: 'expired',
      previousSessionId: id,
      previousState: { conversationId: 'c1', language: 'fr' },
      context: { language: 'zh' },
    });
  });

  it("keeps an expired session's state from a hello that names the session without its token", async () => {
    const infos: NewSessionInfo<Convo>[] = [];
    const { connect, advance } = setup({
      onNewSession: (_session, info) => {
        infos.push(info);
        return { conversationId: `c${infos.length}`, language: 'en' };
      },
    });
    const first = await connect();
    const id = first.sent[0]!.sessionId as string;
    first.handlers.closed();
    await advance(10_100);
    const guess = await connect({ resumeToken: `${id}.${'A'.repeat(32)}`, lastSeq: 0 });
    expect(guess.sent[0]).toMatchObject({ resumed: false, reason: 'expired' });
    expect(infos[1]).toMatchObject({ reason: 'expired', previousSessionId: id });
    expect(infos[1]!.previousState).toBeUndefined();
  });

  it('refuses a hello whose context is larger than 64 KiB (4400)', async () => {
    const { connect, setups } = setup();
    const t = await connect({ context: { blob: 'x'.repeat(64 * 1024) } });
    expect(t.closedWith).toMatchObject({ code: CloseCode.ProtocolError });
    expect(t.closedWith!.reason).toMatch(/context/);
    expect(setups).toEqual([]);
  });

  it('bounds the replay buffer and says in the welcome how much was lost', async () => {
    const { connect, only, resumes } = setup({ replay: { maxMessages: 3 } });
    const first = await connect();
    first.handlers.closed();
    for (let i = 2; i <= 6; i++) only().send(`s${i}`);
    await drain();
    const second = await connect({ resumeToken: first.sent[0]!.resumeToken, lastSeq: 1 });
    expect(second.sent[0]).toMatchObject({ resumed: true, replayFrom: 4 });
    expect(second.data()).toEqual(['s4', 's5', 's6']);
    expect(resumes[0]).toMatchObject({ missed: 2, replayed: 3 });
    // s1 too was pushed out unacknowledged, though the client turned out to have it.
    expect(only().lost).toBe(3);
  });

  it('drops duplicates by seq, coalesces acks, and closes on a gap (4400)', async () => {
    const { connect, clock, received } = setup({ acks: { ackDelayMs: 50, ackEvery: 100 } });
    const t = await connect();
    for (let seq = 1; seq <= 5; seq++) t.frame({ type: 'data', seq, body: seq });
    t.frame({ type: 'data', seq: 3, body: 'again' });
    await drain();
    expect(received).toEqual([1, 2, 3, 4, 5]);
    expect(t.of('ack')).toEqual([]);
    clock.advance(50);
    expect(t.of('ack')).toEqual([{ type: 'ack', seq: 5 }]);
    t.frame({ type: 'data', seq: 9, body: 'after a gap' });
    expect(t.closedWith?.code).toBe(CloseCode.ProtocolError);
    expect(received).toHaveLength(5);
  });

  it('ends a session: 4410 when the app ends it, a normal close when the client does', async () => {
    const { connect, only, expired } = setup();
    const a = await connect();
    await only().end();
    expect(a.closedWith?.code).toBe(CloseCode.SessionExpired);
    const b = await connect();
    b.frame({ type: 'end' });
    await drain();
    expect(b.closedWith?.code).toBe(CloseCode.Normal);
    expect(expired.map((e) => e.reason)).toEqual(['ended', 'ended']);
  });

  it('refuses a connection that does not open with a hello (4400), in time', async () => {
    const { server, clock } = setup({ helloTimeoutMs: 1_000 });
    const wrong = new FakeTransport();
    wrong.handlers = server.accept(wrong);
    wrong.frame({ type: 'data', seq: 1, body: 'x' });
    expect(wrong.closedWith?.code).toBe(CloseCode.ProtocolError);
    const silent = new FakeTransport();
    silent.handlers = server.accept(silent);
    clock.advance(1_000);
    expect(silent.closedWith).toEqual({
      code: CloseCode.ProtocolError,
      reason: 'no hello in time',
    });
    const garbage = new FakeTransport();
    garbage.handlers = server.accept(garbage);
    garbage.handlers.message('{not json');
    expect(garbage.closedWith?.code).toBe(CloseCode.ProtocolError);
  });

  it('leaves no timer behind when closed', async () => {
    const { server, clock, connect } = setup();
    await connect();
    await server.close();
    expect(clock.pending).toBe(0);
    const states: SessionStatus[] = [];
    server.on('status', (_s, to) => states.push(to));
    expect(states).toEqual([]);
  });
});
