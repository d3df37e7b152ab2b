import { Inbound } from '../inbound.js';
import { CloseCode, PROTOCOL_VERSION, encode, encodeData } from '../protocol.js';
import type { ClientFrame } from '../protocol.js';
import { Journal } from './journal.js';
import { Liveness } from './liveness.js';
import type { Resolved, Session, SessionStatus } from './options.js';
import { ReplayBuffer } from './replay.js';
import type { ReplayEntry, SessionChange, SessionStore, StoredSession } from './store.js';
import type { ServerTransport, SessionInit, Welcome } from './transport.js';

/** What a session needs from the registry that holds it. */
export interface SessionHost<S> {
  readonly options: Resolved<S>;
  readonly store: SessionStore;
  statusChanged(session: ServerSession<S>, to: SessionStatus, from: SessionStatus): void;
  message(session: ServerSession<S>, body: unknown): void;
  end(session: ServerSession<S>, by: 'app' | 'client'): Promise<void>;
  lost(session: ServerSession<S>): void;
  error(error: unknown, context: string): void;
}

/** One session held by this instance; the registry routes frames and time to it. */
export class ServerSession<S> implements Session<S> {
  readonly id: string;
  epoch: number;
  status: SessionStatus = 'active';
  pausedBy: 'hint' | 'silence' | null = null;
  /** end() is removing it from the store: no more sends, and its own expiry notice is ignored. */
  ending = false;
  readonly journal: Journal;
  private value: S;
  private stateDirty = false;
  private transport: ServerTransport | null = null;
  private readonly replay: ReplayBuffer;
  private readonly inbound: Inbound;
  private outSeq: number;
  /** What the store holds: the welcome promises no more than this, and frames wait for it. */
  private committedIn: number;
  private committedOut: number;
  private readonly liveness: Liveness;
  private statusSince = 0;

  constructor(
    private readonly host: SessionHost<S>,
    init: SessionInit<S>,
  ) {
    const { options } = host;
    this.id = init.id;
    this.epoch = init.epoch;
    this.value = init.state;
    this.outSeq = this.committedOut = init.outSeq;
    this.committedIn = init.inSeq;
    this.replay = new ReplayBuffer(options.replay, init.replay);
    this.liveness = new Liveness(options);
    this.inbound = new Inbound(
      options.clock,
      (seq) => this.transport?.send(encode({ type: 'ack', seq })),
      options.acks,
    );
    this.inbound.reset(init.inSeq);
    this.journal = new Journal(
      options.clock,
      (change) => this.write(change),
      (change) => this.committed(change),
      () => host.lost(this),
      (error) => host.error(error, `storing session ${this.id}`),
    );
  }

  get state(): S {
    return this.value;
  }

  get lost(): number {
    return this.replay.lost;
  }

  get attached(): boolean {
    return this.transport !== null;
  }

  get currentTransport(): ServerTransport | null {
    return this.transport;
  }

  setState(state: S): void {
    this.value = state;
    if (!this.live) return;
    this.stateDirty = true;
    this.journal.note({});
  }

  send(body: unknown): boolean {
    if (!this.live) return false;
    const seq = ++this.outSeq;
    const frame = encodeData(seq, body);
    const dropped = this.replay.push({ seq, frame });
    this.journal.note({ outSeq: seq, append: [{ seq, frame }], trimThrough: dropped || undefined });
    return true;
  }

  end(): Promise<void> {
    return this.host.end(this, 'app');
  }

  /** The record a new session is created with; what it holds so far is written with it. */
  snapshot(tokenHash: string, now: number): { session: StoredSession; replay: ReplayEntry[] } {
    this.journal.discard();
    this.stateDirty = false;
    this.committedOut = this.outSeq;
    const { options } = this.host;
    const session: StoredSession = {
      id: this.id,
      tokenHash,
      prevTokenHash: null,
      state: JSON.stringify(this.value ?? null),
      inSeq: 0,
      outSeq: this.outSeq,
      createdAt: now,
      detachedAt: null,
      resumeWindowMs: options.resumeWindowMs,
      epoch: this.epoch,
      owner: options.instanceId,
    };
    return { session, replay: this.replay.all() };
  }

  /**
   * A connection said hello with this session: welcome, then what it missed.
   *
   *   hello{lastSeq} ──▶ drop acked replay ──▶ welcome{lastSeq: stored in, replayFrom}
   *                  ──▶ data frames lastSeq+1 … (stored), later ones as their commits land
   */
  attach(transport: ServerTransport, lastSeq: number, welcome: Welcome) {
    const old = this.transport;
    if (old && old !== transport) old.close(CloseCode.Replaced, 'replaced by a newer connection');
    this.transport = transport;
    if (lastSeq > this.outSeq) {
      // The client saw frames this store never did (a write lost with a crashed Redis):
      // numbering must go on after them, or our next messages would look like duplicates.
      this.outSeq = this.committedOut = lastSeq;
      this.journal.note({ outSeq: lastSeq });
    }
    this.ackOut(Math.min(lastSeq, this.outSeq));
    const replayFrom = this.replay.firstAfter(lastSeq, this.outSeq + 1);
    const missed = Math.max(0, replayFrom - lastSeq - 1);
    this.inbound.reset(this.inbound.lastSeq, this.committedIn);
    const { options } = this.host;
    transport.send(
      encode({
        type: 'welcome',
        version: PROTOCOL_VERSION,
        sessionId: this.id,
        resumeToken: welcome.token,
        resumed: welcome.resumed,
        ...(welcome.resumed ? {} : { reason: welcome.reason ?? 'new' }),
        lastSeq: this.committedIn,
        replayFrom,
        heartbeatMs: options.heartbeatMs,
        resumeWindowMs: options.resumeWindowMs,
      }),
    );
    const frames = this.replay.after(lastSeq, this.committedOut);
    for (const { frame } of frames) transport.send(frame);
    this.liveness.reset(options.clock.now());
    this.setStatus('active', null);
    return { replayed: frames.length, missed };
  }

  /** A frame from the client on `transport` (after its hello). */
  receive(transport: ServerTransport, frame: ClientFrame): void {
    if (transport !== this.transport) return;
    this.liveness.frame(this.host.options.clock.now());
    if (frame.type !== 'pausing' && this.status === 'paused') this.setStatus('active', null);
    switch (frame.type) {
      case 'data':
        return this.onData(frame.seq, frame.body);
      case 'ack':
        if (frame.seq > this.outSeq) return this.protocolError('ack beyond the last seq sent');
        this.ackOut(frame.seq);
        return;
      case 'ping':
        return transport.send(encode({ type: 'pong' }));
      case 'pausing':
        return this.setStatus('paused', 'hint');
      case 'end':
        void this.host.end(this, 'client');
        return;
      case 'hello':
        return this.protocolError('second hello');
    }
  }

  pong(transport: ServerTransport): void {
    if (transport === this.transport) this.liveness.pong = this.host.options.clock.now();
  }

  /** The transport is gone (closed, cut, replaced): the session waits for a resume. */
  detach(transport: ServerTransport): void {
    if (transport !== this.transport) return;
    this.transport = null;
    this.inbound.stop();
    if (!this.live) return;
    this.journal.note({ detachedAt: this.host.options.clock.now() });
    this.setStatus('detached', null);
  }

  /** Pause, detach and transport-heartbeat checks, at the registry's tick. */
  tick(now: number): void {
    const t = this.transport;
    if (!t) return;
    const verdict = this.liveness.check(
      now,
      this.status,
      this.statusSince,
      Boolean(t.ping),
      t.bufferedAmount,
    );
    if (verdict.cut) return this.cut(t);
    if (verdict.ping) t.ping?.();
    if (verdict.next === 'pause') this.setStatus('paused', 'silence');
    else if (verdict.next === 'detach') {
      t.close(CloseCode.AppSilent, 'app silent: resume to continue');
      this.detach(t);
    }
  }

  /** The session is over here (expired, ended, or taken by a newer connection elsewhere). */
  finish(status: 'expired' | 'moved', close?: { code: number; reason: string }): void {
    if (this.status === 'expired' || this.status === 'moved') return;
    this.journal.stop();
    this.inbound.stop();
    const t = this.transport;
    this.transport = null;
    if (t && close) t.close(close.code, close.reason);
    this.setStatus(status, null);
  }

  /** Not expired, not moved, not being ended: it can still send and be written. */
  get live(): boolean {
    return !this.ending && this.status !== 'expired' && this.status !== 'moved';
  }

  private onData(seq: number, body: unknown): void {
    const verdict = this.inbound.receive(seq);
    if (verdict === 'gap') return this.protocolError(`sequence gap at ${seq}`);
    if (verdict === 'duplicate') return;
    this.journal.note({ inSeq: seq });
    this.host.message(this, body);
  }

  private ackOut(seq: number): void {
    if (seq <= this.replay.removedThrough) return;
    this.replay.ackThrough(seq);
    this.journal.note({ trimThrough: seq });
  }

  private write(change: SessionChange): Promise<boolean> {
    if (this.stateDirty) {
      change.state = JSON.stringify(this.value ?? null);
      this.stateDirty = false;
    }
    return this.host.store.commit(this.id, this.epoch, change, this.host.options.clock.now());
  }

  /** Stored: now the client may be told (acks) and sent (frames), in order. */
  private committed(change: SessionChange): void {
    if (change.inSeq !== undefined) {
      this.committedIn = Math.max(this.committedIn, change.inSeq);
      if (this.transport) this.inbound.ack(change.inSeq);
    }
    if (change.outSeq !== undefined) this.committedOut = Math.max(this.committedOut, change.outSeq);
    const t = this.transport;
    if (t && change.append) for (const { frame } of change.append) t.send(frame);
  }

  private cut(t: ServerTransport): void {
    t.terminate();
    this.detach(t);
  }

  private protocolError(reason: string): void {
    const t = this.transport;
    if (!t) return;
    t.close(CloseCode.ProtocolError, reason);
    this.detach(t);
  }

  private setStatus(to: SessionStatus, pausedBy: 'hint' | 'silence' | null): void {
    const from = this.status;
    this.pausedBy = pausedBy;
    if (from === to) return;
    this.status = to;
    this.statusSince = this.host.options.clock.now();
    this.host.statusChanged(this, to, from);
  }
}
