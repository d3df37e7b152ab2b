import { Link, systemClock } from '@tether/link';
import type { Clock, Transition } from '@tether/link';
import type {
  ClientState,
  NewSessionEvent,
  ResumedEvent,
  SessionClientEvents,
  SessionSnapshot,
  SessionClientOptions,
} from './client-types.js';
import { Emitter } from '@tether/link';
import { SessionError } from './errors.js';
import { Inbound } from './inbound.js';
import { attachSessionLifecycle, currentPage } from './lifecycle.js';
import { Outbox } from './outbox.js';
import { CloseCode, PROTOCOL_VERSION, encode, parseServerFrame } from './protocol.js';
import type { ServerFrame, WelcomeFrame } from './protocol.js';

/**
 * A resumable session over one Link. The link brings single flight (any number of sends while
 * disconnected cause one connection), backoff and the transport heartbeat; this adds the hello
 * and welcome, sequence numbers, acks, replay, and the app heartbeat.
 *
 *   open ──hello{resumeToken, lastSeq}──▶ ◀──welcome{resumed, lastSeq, replayFrom}── active
 *   active: replay unacked, then queued; ping every heartbeatMs; data ⇄ acks
 */
export class SessionClient extends Emitter<SessionClientEvents> {
  readonly link: Link;
  private readonly clock: Clock;
  private readonly outbox: Outbox;
  private readonly inbound: Inbound;
  private current: ClientState = 'idle';
  private id: string | null = null;
  private token: string | null = null;
  /** Set when a close told us to drop the token: the reason the next welcome is not a resume. */
  private forgotten: 'expired' | 'bad-token' | undefined;
  private welcomed = false;
  private welcomeTimer: unknown;
  private pingTimer: unknown;
  private pingEvery = 0;
  private waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  private readonly teardown: Array<() => void> = [];

  constructor(private readonly options: SessionClientOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.outbox = new Outbox(options.outbox);
    this.inbound = new Inbound(
      this.clock,
      (seq) => this.raw(encode({ type: 'ack', seq })),
      options.acks,
    );
    this.link = new Link({
      ...options.link,
      url: options.url,
      socketFactory: options.socketFactory,
      clock: this.clock,
      random: options.random,
      // Where the socket has no ping frames (browsers), the app ping is the transport's too.
      heartbeat: (send) => send(encode({ type: 'ping' })),
      // Our close codes are handled below; only a policy violation from a proxy means "go away".
      unwelcome: (code) => code === 1008,
    });
    this.teardown.push(
      this.link.on('transition', (t) => this.onTransition(t)),
      this.link.on('message', (data) => {
        if (typeof data === 'string') this.onFrame(data);
        else this.link.declareDead('binary frame');
      }),
    );
    if (options.resume) {
      this.id = options.resume.sessionId;
      this.token = options.resume.resumeToken;
      this.inbound.reset(options.resume.lastSeq);
    }
    const page = options.page === false ? undefined : (options.page ?? currentPage());
    if (page) {
      const hooks = { leaving: () => this.pause(), back: () => this.ping() };
      this.teardown.push(attachSessionLifecycle(this.link, hooks, page));
    }
  }

  get state(): ClientState {
    return this.current;
  }
  get sessionId(): string | null {
    return this.id;
  }
  get resumeToken(): string | null {
    return this.token;
  }
  /**
   * What to store to resume this session after the app restarts (the `resume` option), or null
   * before the first welcome. The token changes at every welcome: store it again then.
   */
  snapshot(): SessionSnapshot | null {
    if (!this.id || !this.token) return null;
    return { sessionId: this.id, resumeToken: this.token, lastSeq: this.inbound.lastSeq };
  }

  /** Messages queued or awaiting an ack. */
  get pending(): number {
    return this.outbox.size;
  }

  /** Starts (or joins) the connection; resolves at the welcome. */
  connect(): Promise<void> {
    if (this.current === 'closed') return Promise.reject(closedError());
    if (this.current === 'active') return Promise.resolve();
    const welcomed = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.link.connect().catch(() => {});
    this.update();
    return welcomed;
  }

  /**
   * Queues a message for the server; it is sent at once when a session is active, otherwise
   * after the next welcome. False when the overflow policy refused it or the client is closed.
   */
  send(body: unknown): boolean {
    if (this.current === 'closed') return false;
    const { accepted, dropped } = this.outbox.push(body);
    if (dropped.length > 0) this.emit('dropped', dropped);
    if (!accepted) return false;
    if (this.welcomed) this.flushOutbox();
    else if (this.current === 'idle') void this.connect().catch(() => {});
    return true;
  }

  /** The app is about to be suspended (Unity: OnApplicationPause(true)): tell the server. */
  pause(): void {
    if (!this.welcomed) return;
    this.inbound.flush();
    this.raw(encode({ type: 'pausing' }));
  }

  /** The app runs again: tell the server now, and check or re-open the socket at once. */
  resume(): void {
    this.ping();
    this.link.setVisible(true);
  }

  /**
   * Stops for good. With `end` (the default) the server is told the session is over and forgets
   * it; without, the session stays resumable on the server for its resume window.
   */
  async close(options: { end?: boolean } = {}): Promise<void> {
    if (this.current === 'closed') return;
    if (options.end !== false && this.welcomed) {
      this.inbound.flush();
      this.raw(encode({ type: 'end' }));
    }
    await this.stop('closed');
  }

  private async stop(reason: 'closed' | 'replaced'): Promise<void> {
    this.offline();
    this.set('closed');
    for (const off of this.teardown.splice(0)) off();
    for (const waiter of this.waiters.splice(0)) waiter.reject(closedError());
    this.emit('closed', { reason });
    await this.link.close(1000, reason === 'closed' ? 'client closed' : 'replaced');
  }

  private onTransition(t: Transition): void {
    if (this.current === 'closed') return;
    if (t.to === 'open') {
      const option = this.options.context;
      const context = typeof option === 'function' ? (option as () => unknown)() : option;
      this.raw(
        encode({
          type: 'hello',
          version: PROTOCOL_VERSION,
          resumeToken: this.token,
          lastSeq: this.token ? this.inbound.lastSeq : 0,
          ...(context !== undefined && { context }),
        }),
      );
      const ms = this.options.welcomeTimeoutMs ?? 10_000;
      this.welcomeTimer = this.clock.setTimeout(() => this.link.declareDead('no welcome'), ms);
    } else if (t.to !== 'ready') {
      this.offline();
      if (t.cause.type === 'close') this.onClose(t.cause.code);
    }
    this.update();
  }

  /** What each close code of the protocol asks of the client (docs/session-protocol.md). */
  private onClose(code: number): void {
    const again = () => queueMicrotask(() => this.link.retryNow());
    switch (code) {
      case CloseCode.BadResumeToken:
      case CloseCode.SessionExpired:
        this.forgotten = code === CloseCode.SessionExpired ? 'expired' : 'bad-token';
        this.token = null;
        return again();
      case CloseCode.AppSilent:
        return again();
      case CloseCode.Replaced:
        // Coming back would take the session from the connection that replaced us, which would
        // then come back for it: the ping-pong the close code exists to prevent.
        queueMicrotask(() => void this.stop('replaced'));
    }
  }

  private onFrame(text: string): void {
    const parsed = parseServerFrame(text);
    if (!parsed.ok) return this.link.declareDead(`bad frame: ${parsed.reason}`);
    const frame: ServerFrame = parsed.frame;
    if (frame.type === 'welcome') return this.onWelcome(frame);
    if (!this.welcomed) return this.link.declareDead(`${frame.type} before the welcome`);
    switch (frame.type) {
      case 'data': {
        const verdict = this.inbound.receive(frame.seq);
        if (verdict === 'gap') return this.link.declareDead('sequence gap');
        if (verdict === 'new') {
          this.inbound.ack(frame.seq);
          this.emit('message', frame.body, { seq: frame.seq });
        }
        return;
      }
      case 'ack':
        return this.outbox.ack(frame.seq);
      case 'pong':
        return;
    }
  }

  private onWelcome(w: WelcomeFrame): void {
    if (this.welcomed) return this.link.declareDead('second welcome');
    this.clock.clearTimeout(this.welcomeTimer);
    const previous = this.id;
    let event: ['resumed', ResumedEvent] | ['newSession', NewSessionEvent];
    if (w.resumed && previous === w.sessionId) {
      this.outbox.ack(w.lastSeq);
      // Restored from a snapshot, this outbox has numbered nothing yet: go on after the server.
      this.outbox.continueAfter(w.lastSeq);
      const missed = Math.max(0, w.replayFrom - 1 - this.inbound.lastSeq);
      this.inbound.reset(Math.max(this.inbound.lastSeq, w.replayFrom - 1));
      const resend = this.outbox.unacked();
      for (const frame of resend) this.raw(frame);
      event = ['resumed', { sessionId: w.sessionId, resent: resend.length, missed }];
    } else {
      // A first session takes what was queued for it; a replacement must not receive messages
      // meant for a conversation it knows nothing of: they go back to the app.
      const undelivered = previous ? this.outbox.drain() : [];
      this.inbound.reset(0);
      const reason = this.forgotten ?? (w.resumed ? 'unknown' : (w.reason ?? 'new'));
      event = [
        'newSession',
        { sessionId: w.sessionId, reason, previousSessionId: previous, undelivered },
      ];
    }
    this.id = w.sessionId;
    this.token = w.resumeToken;
    this.forgotten = undefined;
    this.welcomed = true;
    this.flushOutbox();
    this.pingEvery = this.options.heartbeatMs ?? w.heartbeatMs;
    this.schedulePing();
    this.link.markReady();
    this.update();
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    if (event[0] === 'resumed') this.emit('resumed', event[1]);
    else this.emit('newSession', event[1]);
  }

  private flushOutbox(): void {
    for (const frame of this.outbox.takeUnsent()) this.raw(frame);
  }

  private ping(): void {
    if (this.welcomed) this.raw(encode({ type: 'ping' }));
  }

  /** The app heartbeat runs on the app's own timers: a paused app stops sending it. */
  private schedulePing(): void {
    this.clock.clearTimeout(this.pingTimer);
    if (this.pingEvery <= 0) return;
    this.pingTimer = this.clock.setTimeout(() => {
      this.ping();
      this.schedulePing();
    }, this.pingEvery);
  }

  /** The socket is gone: everything tied to it goes with it. */
  private offline(): void {
    this.welcomed = false;
    this.clock.clearTimeout(this.welcomeTimer);
    this.clock.clearTimeout(this.pingTimer);
    this.welcomeTimer = this.pingTimer = undefined;
    this.inbound.stop();
  }

  private raw(text: string): void {
    this.link.send(text);
  }

  private update(): void {
    if (this.current === 'closed') return;
    const name = this.link.status.name;
    this.set(
      this.welcomed
        ? 'active'
        : name === 'open'
          ? 'handshaking'
          : name === 'disabled'
            ? 'idle'
            : 'connecting',
    );
  }

  private set(next: ClientState): void {
    const from = this.current;
    if (from === next) return;
    this.current = next;
    this.emit('state', next, from);
  }
}

const closedError = () => new SessionError('SESSION_CLOSED', 'session client closed');
