import type { IncomingMessage } from 'node:http';
import { CloseCode, parseClientFrame } from '../protocol.js';
import type { NewSessionReason } from '../protocol.js';
import type { Connection, ConnectionHandlers } from './connection.js';
import { Handshakes } from './handshake.js';
import type { ExpiredSession, Resolved, Session, SessionStatus } from './options.js';
import type { ServerSession, SessionHost } from './session.js';
import type { ExpiredRecord, SessionStore } from './store.js';
import type { ServerTransport } from './transport.js';

/** What the registry tells the server it belongs to (which turns them into events). */
export interface RegistryEvents<S> {
  session(session: Session<S>, info: { resumed: boolean; reason?: NewSessionReason }): void;
  status(session: Session<S>, to: SessionStatus, from: SessionStatus): void;
  expired(expired: ExpiredSession<S>): void;
  error(error: Error, context: string): void;
}

/**
 * The sessions this instance holds: connections are routed to them, time is given to them
 * (pause, detach, transport pings), the store is kept informed (touch) and swept (reap), and
 * what other instances announce (claims, expiries) is acted on.
 */
export class Registry<S> implements SessionHost<S> {
  readonly held = new Map<string, ServerSession<S>>();
  private readonly connections = new Set<Connection>();
  private readonly handshakes: Handshakes<S>;
  private timer: unknown;
  private lastTouch = 0;
  private reaping = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly options: Resolved<S>,
    readonly store: SessionStore,
    private readonly events: RegistryEvents<S>,
  ) {
    this.unsubscribe = store.onTaken((id, epoch, owner) => this.taken(id, epoch, owner));
    this.handshakes = new Handshakes({
      held: this.held,
      store,
      options,
      host: this,
      welcomed: (conn, session, info) => {
        this.events.session(session, info);
        for (const text of conn.early.splice(0)) this.onMessage(conn, text);
      },
      refuse: (conn, reason, code) => this.refuse(conn, reason, code),
    });
    this.lastTouch = options.clock.now();
    this.schedule();
  }

  accept(transport: ServerTransport, request?: IncomingMessage): ConnectionHandlers {
    const { clock, helloTimeoutMs } = this.options;
    const conn: Connection = {
      transport,
      request,
      phase: 'hello',
      session: null,
      early: [],
      timer: undefined,
    };
    if (this.stopped) {
      transport.close(CloseCode.GoingAway, 'server going away');
      conn.phase = 'closed';
    } else {
      this.connections.add(conn);
      conn.timer = clock.setTimeout(() => this.refuse(conn, 'no hello in time'), helloTimeoutMs);
    }
    return {
      message: (text) => this.onMessage(conn, text),
      pong: () => conn.session?.pong(transport),
      closed: () => {
        clock.clearTimeout(conn.timer);
        conn.phase = 'closed';
        this.connections.delete(conn);
        conn.session?.detach(transport);
      },
    };
  }

  private onMessage(conn: Connection, text: string): void {
    if (conn.phase === 'closed') return;
    if (conn.phase === 'handshaking') {
      conn.early.push(text);
      if (conn.early.length > 1_000) this.refuse(conn, 'too many frames before the welcome');
      return;
    }
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return this.refuse(conn, parsed.reason);
    if (conn.phase === 'attached') return conn.session?.receive(conn.transport, parsed.frame);
    if (parsed.frame.type !== 'hello') return this.refuse(conn, 'the first frame must be a hello');
    if (parsed.frame.version !== 1) return this.refuse(conn, 'unsupported protocol version');
    this.options.clock.clearTimeout(conn.timer);
    conn.phase = 'handshaking';
    this.handshakes.answer(conn, parsed.frame).catch((error: unknown) => {
      this.error(error, 'handshake');
      if (conn.phase !== 'closed') conn.transport.close(1011, 'session set-up failed');
    });
  }

  private refuse(conn: Connection, reason: string, code: number = CloseCode.ProtocolError): void {
    if (conn.phase === 'closed') return;
    conn.transport.close(code, reason);
    if (conn.session) conn.session.detach(conn.transport);
    conn.phase = 'closed';
    this.connections.delete(conn);
  }

  // SessionHost: what the sessions call back.

  statusChanged(session: ServerSession<S>, to: SessionStatus, from: SessionStatus): void {
    this.events.status(session, to, from);
  }

  message(session: ServerSession<S>, body: unknown): void {
    try {
      this.options.onMessage?.(session, body);
    } catch (error) {
      this.error(error, `onMessage of session ${session.id}`);
    }
  }

  async end(session: ServerSession<S>, by: 'app' | 'client'): Promise<void> {
    if (!session.live) return;
    session.ending = true;
    const { clock } = this.options;
    const record = await session.journal.exclusive(() =>
      this.store.remove(session.id, session.epoch, clock.now()),
    );
    if (this.held.get(session.id) === session) this.held.delete(session.id);
    const close =
      by === 'client'
        ? { code: CloseCode.Normal, reason: 'session ended' }
        : { code: CloseCode.SessionExpired, reason: 'session ended' };
    session.finish('expired', close);
    if (record) this.expired({ id: session.id, state: session.state, reason: 'ended' });
  }

  lost(session: ServerSession<S>): void {
    if (this.held.get(session.id) === session) this.held.delete(session.id);
    session.finish('moved', { code: CloseCode.Replaced, reason: 'replaced by a newer connection' });
  }

  error(error: unknown, context: string): void {
    this.events.error(error instanceof Error ? error : new Error(String(error)), context);
  }

  /** A claim or an expiry announced by the store, from this instance or another. */
  private taken(id: string, epoch: number, owner: string): void {
    const session = this.held.get(id);
    if (!session || session.ending) return;
    if (epoch === -1) {
      // Reaped or ended elsewhere; whoever did it runs the hook.
      this.held.delete(id);
      session.finish('expired', { code: CloseCode.SessionExpired, reason: 'session expired' });
    } else if (owner !== this.options.instanceId && epoch > session.epoch) {
      this.lost(session);
    }
  }

  private expired(expired: ExpiredSession<S>): void {
    try {
      this.options.onExpire?.(expired);
    } catch (error) {
      this.error(error, `onExpire of session ${expired.id}`);
    }
    this.events.expired(expired);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => this.tick(), this.options.tickMs);
  }

  private tick(): void {
    const { clock, resumeWindowMs, instanceId, orphanGraceMs } = this.options;
    const now = clock.now();
    for (const session of this.held.values()) session.tick(now);
    if (now - this.lastTouch >= resumeWindowMs / 4) {
      this.lastTouch = now;
      const attached = [...this.held.values()].filter((s) => s.attached);
      const refs = attached.map((s) => ({ id: s.id, epoch: s.epoch }));
      if (refs.length > 0) this.store.touch(refs, now).catch((e) => this.error(e, 'touch'));
    }
    if (!this.reaping) {
      this.reaping = true;
      this.store
        .reap(now, instanceId, orphanGraceMs, 500)
        .then((records) => records.forEach((r) => this.reaped(r)))
        .catch((e: unknown) => this.error(e, 'reap'))
        .finally(() => (this.reaping = false));
    }
    this.schedule();
  }

  private reaped(record: ExpiredRecord): void {
    const session = this.held.get(record.id);
    if (session) {
      this.held.delete(record.id);
      session.finish('expired', { code: CloseCode.SessionExpired, reason: 'session expired' });
    }
    this.expired({ id: record.id, state: JSON.parse(record.state) as S, reason: 'timeout' });
  }

  /** Stops: sockets closed with 1001, sessions left detached in the store for the next instance. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    this.unsubscribe();
    for (const conn of [...this.connections]) {
      if (conn.phase === 'attached') continue;
      this.refuse(conn, 'server going away', CloseCode.GoingAway);
    }
    for (const session of this.held.values()) {
      const t = session.currentTransport;
      if (t) {
        t.close(CloseCode.GoingAway, 'server going away');
        session.detach(t);
      }
    }
    // Pending writes are given a moment to land; a store that is down must not hold us forever.
    const idle = Promise.all([...this.held.values()].map((s) => s.journal.idle()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)));
    await Promise.race([idle, timeout]);
    clearTimeout(timer);
    for (const session of this.held.values()) session.journal.stop();
    this.held.clear();
  }
}
