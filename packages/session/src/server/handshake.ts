import { CloseCode } from '../protocol.js';
import type { HelloFrame, NewSessionReason } from '../protocol.js';
import type { Connection } from './connection.js';
import type { Resolved } from './options.js';
import { ServerSession } from './session.js';
import type { SessionHost } from './session.js';
import type { SessionStore } from './store.js';
import { hashToken, newSessionId, newToken, tokenSessionId } from './tokens.js';
import type { Welcome } from './transport.js';

export interface HandshakeDeps<S> {
  readonly held: Map<string, ServerSession<S>>;
  readonly store: SessionStore;
  readonly options: Resolved<S>;
  readonly host: SessionHost<S>;
  /** The welcome is out: announce the session and handle what arrived meanwhile. */
  welcomed(
    conn: Connection,
    session: ServerSession<S>,
    info: { resumed: boolean; reason?: NewSessionReason },
  ): void;
  refuse(conn: Connection, reason: string, code: number): void;
}

/**
 * The answer to a hello: find the session, or create one.
 *
 *   hello without token ───────────────────────────▶ set-up hook ─▶ store.create ─▶ welcome (new)
 *   hello with token ──▶ store.claim ──ok──────────────────────────────────────────▶ welcome (resumed)
 *                                    ├─expired/unknown──▶ set-up hook ─▶ create ───▶ welcome (new, why)
 *                                    └─bad-token──▶ close 4401
 *
 * Handshakes for one session id are serialised, and a claim waits for the session's own
 * writes, so a resume never races a commit or another resume of the same session.
 */
export class Handshakes<S> {
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly deps: HandshakeDeps<S>) {}

  async answer(conn: Connection, hello: HelloFrame): Promise<void> {
    const token = hello.resumeToken;
    if (!token) return this.create(conn, hello, 'new', null);
    const id = tokenSessionId(token);
    if (!id) return this.deps.refuse(conn, 'bad resume token', CloseCode.BadResumeToken);
    const resumed = await this.locked(id, async () => {
      const next = newToken(id);
      const held = this.deps.held.get(id);
      const { instanceId, clock } = this.deps.options;
      const claim = async () => {
        const result = await this.deps.store.claim(
          id,
          hashToken(token),
          hashToken(next),
          instanceId,
          clock.now(),
        );
        // Inside the exclusive section: the next commit must already carry the new epoch.
        if (result.ok && held) held.epoch = result.session.epoch;
        return result;
      };
      const result = held ? await held.journal.exclusive(claim) : await claim();
      if (!result.ok) return result;
      let session = held?.live ? held : undefined;
      if (!session) {
        const s = result.session;
        session = new ServerSession<S>(this.deps.host, {
          id,
          epoch: s.epoch,
          state: JSON.parse(s.state) as S,
          inSeq: s.inSeq,
          outSeq: s.outSeq,
          replay: result.replay,
        });
        this.deps.held.set(id, session);
        session.journal.start();
      }
      const info = this.attach(conn, session, hello.lastSeq, { token: next, resumed: true });
      this.deps.options.onResume?.(session, {
        ...info,
        context: hello.context,
        request: conn.request,
      });
      this.deps.welcomed(conn, session, { resumed: true });
      return { ok: true } as const;
    });
    if (resumed.ok) return;
    if (resumed.reason === 'bad-token')
      return this.deps.refuse(conn, 'bad resume token', CloseCode.BadResumeToken);
    const previousState =
      resumed.reason === 'expired' && resumed.state !== undefined
        ? (JSON.parse(resumed.state) as S)
        : undefined;
    return this.create(conn, hello, resumed.reason, id, previousState);
  }

  private async create(
    conn: Connection,
    hello: HelloFrame,
    reason: NewSessionReason,
    previousSessionId: string | null,
    previousState?: S,
  ): Promise<void> {
    const { clock, onNewSession } = this.deps.options;
    const id = newSessionId();
    const token = newToken(id);
    const session = new ServerSession<S>(this.deps.host, {
      id,
      epoch: 1,
      state: undefined as S,
      inSeq: 0,
      outSeq: 0,
      replay: [],
    });
    // Held from the start, so whatever the set-up hook sends is kept for the welcome.
    this.deps.held.set(id, session);
    try {
      const state = await onNewSession?.(session, {
        reason,
        previousSessionId,
        ...(previousState !== undefined && { previousState }),
        context: hello.context,
        request: conn.request,
      });
      session.setState(state as S);
      const { session: record, replay } = session.snapshot(hashToken(token), clock.now());
      await this.deps.store.create(record, replay, clock.now());
    } catch (error) {
      this.deps.held.delete(id);
      session.finish('expired');
      throw error;
    }
    session.journal.start();
    this.attach(conn, session, 0, { token, resumed: false, reason });
    this.deps.welcomed(conn, session, { resumed: false, reason });
  }

  private attach(conn: Connection, session: ServerSession<S>, lastSeq: number, welcome: Welcome) {
    const info = session.attach(conn.transport, lastSeq, welcome);
    conn.session = session as ServerSession<unknown>;
    // The client left while we were answering: the session waits for its next hello.
    if (conn.phase === 'closed') session.detach(conn.transport);
    else conn.phase = 'attached';
    return info;
  }

  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = before.then(() => mine);
    this.locks.set(id, chained);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === chained) this.locks.delete(id);
    }
  }
}
