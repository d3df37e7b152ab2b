import { fullJitterBackoff } from './backoff.js';
import type { Backoff, BackoffOptions } from './backoff.js';
import { systemClock } from './clock.js';
import type { Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { LinkError } from './errors.js';
import { browserSocketFactory, platformWebSocket } from './socket.js';
import type { LinkSocket, SocketFactory } from './socket.js';
import { defaultUnwelcome } from './states.js';
import type { Cause, LinkStateName, LinkStatus, Transition, UnwelcomePredicate } from './states.js';

export interface LinkOptions {
  /** The endpoint URL; a function is read at every attempt (tokens can be rotated). */
  url: string | (() => string);
  /** Default: the platform's WebSocket. In Node 20 pass `wsSocketFactory()` from `@tether/link/node`. */
  socketFactory?: SocketFactory;
  clock?: Clock;
  random?: () => number;
  /** Covers TCP, TLS and the upgrade. Default 10 s. */
  connectTimeoutMs?: number;
  /** Ping frame interval P. Default 5 s. */
  pingIntervalMs?: number;
  /** Missed pongs M before the socket is terminated; detection within P × (M + 1). Default 2. */
  maxMissedPongs?: number;
  /** Connected this long, the failure count starts again from zero. Default 30 s. */
  stableMs?: number;
  backoff?: Backoff | BackoffOptions;
  /** K consecutive failures park the link… Default 10. */
  maxFailures?: number;
  /**
   * …once the outage has also lasted this long, so a short outage with quick early retries
   * does not park a healthy endpoint for minutes. Default 60 s.
   */
  parkAfterMs?: number;
  /** Parked links probe at this interval. Default 5 min. */
  probeIntervalMs?: number;
  unwelcome?: UnwelcomePredicate;
  /** A polite close that the peer does not complete within this is cut. Default 2 s. */
  closeGraceMs?: number;
  /** For sockets without ping frames (browsers): send an application-level heartbeat. */
  heartbeat?: (send: (data: string) => void) => void;
}

export interface MessageMeta {
  generation: number;
  binary: boolean;
}

export interface LinkEvents extends Record<string, unknown[]> {
  transition: [Transition];
  parked: [Transition];
  message: [string | Uint8Array, MessageMeta];
}

type Timer = unknown;

/** Internal state: timers and the socket live only in the states that own them. */
type State =
  | { name: 'disabled'; since: number }
  | { name: 'connecting'; since: number; attempt: number; socket: LinkSocket; timer: Timer }
  | {
      name: 'open' | 'ready';
      since: number;
      generation: number;
      socket: LinkSocket;
      heartbeat: Timer | undefined;
      stable: Timer | undefined;
      /** Last pong or frame from the peer. */
      lastAlive: number;
      /** Pings sent since then. */
      unanswered: number;
    }
  | {
      name: 'backoff' | 'parked';
      since: number;
      failures: number;
      wakeAt: number | null;
      timer: Timer | undefined;
    };

/**
 * One supervisor per outbound WebSocket. There is at most one socket at any time: only the
 * transition into `connecting` creates one, and it is taken only from a state with no socket,
 * so any number of concurrent connect requests join the attempt in flight.
 */
export class Link extends Emitter<LinkEvents> {
  private state: State;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: Backoff;
  private readonly factory: SocketFactory;
  private readonly unwelcome: UnwelcomePredicate;
  private failures = 0;
  /** When the current run of failures began. */
  private outageSince = 0;
  private parkedAnnounced = false;
  /** A planned reconnect is waiting for the old socket to close; attempts wait with it. */
  private reconnecting = false;
  private deferred: Cause | undefined;
  private attempts = 0;
  private generation = 0;
  private online = true;
  private waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  /** Sockets closed politely by close(), waiting for the peer or the grace timer. */
  private readonly closing = new Map<LinkSocket, { done(): void; timer: Timer }>();

  constructor(private readonly options: LinkOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = isBackoff(options.backoff)
      ? options.backoff
      : fullJitterBackoff(options.backoff);
    this.factory = options.socketFactory ?? defaultFactory();
    this.unwelcome = options.unwelcome ?? defaultUnwelcome;
    this.state = { name: 'disabled', since: this.clock.now() };
  }

  get status(): LinkStatus {
    const s = this.state;
    switch (s.name) {
      case 'disabled':
        return { name: s.name, since: s.since };
      case 'connecting':
        return { name: s.name, since: s.since, attempt: s.attempt };
      case 'open':
      case 'ready':
        return { name: s.name, since: s.since, generation: s.generation };
      case 'backoff':
        return { name: s.name, since: s.since, failures: s.failures, retryAt: s.wakeAt };
      case 'parked':
        return { name: s.name, since: s.since, failures: s.failures, probeAt: s.wakeAt };
    }
  }

  /**
   * When the peer last showed a sign of life (a frame or a pong) on the open socket; null when
   * no socket is open. A monitor uses it to find zombies the heartbeat has not caught.
   */
  get lastAliveAt(): number | null {
    const s = this.state;
    return s.name === 'open' || s.name === 'ready' ? s.lastAlive : null;
  }

  /** The link's settings after defaults, for monitors and status pages. */
  get heartbeat(): { intervalMs: number; maxMissed: number } {
    return {
      intervalMs: this.options.pingIntervalMs ?? 5_000,
      maxMissed: this.options.maxMissedPongs ?? 2,
    };
  }

  /** Consecutive failures since the last stable period. */
  get failureCount(): number {
    return this.failures;
  }

  /** Connection attempts made since creation. */
  get attemptCount(): number {
    return this.attempts;
  }

  /**
   * Asks for the link to be up. From `disabled` this starts the first attempt; otherwise it
   * joins whatever is under way (a backoff is honoured: `retryNow()` is the way to skip it).
   * Resolves when a socket is open; rejects with LINK_CLOSED if close() comes first.
   */
  connect(): Promise<void> {
    if (this.state.name === 'disabled') this.attempt({ type: 'person', action: 'connect' });
    return this.whenOpen();
  }

  /** Skips a backoff or wakes a parked link; joins an attempt or connection in progress. */
  retryNow(): void {
    const { name } = this.state;
    if (name === 'backoff' || name === 'parked' || name === 'disabled') {
      this.attempt({ type: 'person', action: 'retryNow' });
    }
  }

  /** Resolves when a socket is open (at once if it is). */
  whenOpen(signal?: AbortSignal): Promise<void> {
    if (this.state.name === 'open' || this.state.name === 'ready') return Promise.resolve();
    if (this.state.name === 'disabled' && !this.deferred) {
      return Promise.reject(new LinkError('LINK_CLOSED', 'link is disabled'));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new LinkError('LINK_ABORTED', 'wait for the link aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The layer above finished its handshake (for an MCP endpoint: tools listed). */
  markReady(): void {
    const s = this.state;
    if (s.name !== 'open') return;
    this.enter({ ...s, name: 'ready', since: this.clock.now() }, { type: 'ready' });
  }

  /** The layer above judged the link dead (e.g. no `initialize` within 10 s of opening). */
  declareDead(reason: string): void {
    const { name } = this.state;
    if (name === 'connecting' || name === 'open' || name === 'ready')
      this.lose({ type: 'dead', reason });
  }

  /**
   * Sends on the current socket. With `generation`, only on that socket: a reply computed for a
   * socket that has since died is refused rather than delivered into the next session.
   */
  send(data: string | Uint8Array, generation?: number): boolean {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return false;
    if (generation !== undefined && generation !== s.generation) return false;
    s.socket.send(data);
    return true;
  }

  get bufferedAmount(): number {
    const s = this.state;
    return s.name === 'open' || s.name === 'ready' ? s.socket.bufferedAmount : 0;
  }

  /** Browser hook: `online`/`offline` events. Offline suspends retries; online retries now. */
  setOnline(online: boolean): void {
    if (online === this.online) return;
    this.online = online;
    const s = this.state;
    if (s.name === 'backoff' || s.name === 'parked') {
      if (online) this.attempt({ type: 'network', online });
      else
        this.enter(
          { ...s, since: s.since, wakeAt: null, timer: undefined },
          { type: 'network', online },
        );
    } else if (!online && (s.name === 'open' || s.name === 'ready')) {
      this.probeNow();
    }
  }

  /** Browser hook: page visibility. Coming back retries now and checks an open socket. */
  setVisible(visible: boolean): void {
    if (!visible) return;
    const { name } = this.state;
    if (name === 'backoff' || name === 'parked')
      this.attempt({ type: 'network', online: this.online });
    else if (name === 'open' || name === 'ready') this.probeNow();
  }

  /**
   * Stops for good: no reconnect, no timer. An open socket is closed politely and cut if the
   * peer does not complete the close within `closeGraceMs`; the promise resolves when it is gone.
   */
  close(code = 1000, reason = ''): Promise<void> {
    const s = this.state;
    if (s.name === 'disabled') return Promise.resolve();
    this.enter({ name: 'disabled', since: this.clock.now() }, { type: 'person', action: 'close' });
    const error = new LinkError('LINK_CLOSED', 'link closed');
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    if (s.name === 'connecting') {
      s.socket.terminate();
      return Promise.resolve();
    }
    if (s.name !== 'open' && s.name !== 'ready') return Promise.resolve();
    return this.closePolitely(s.socket, code, reason);
  }

  /**
   * A planned reconnect (the tools changed and the endpoint reads them only at the handshake):
   * the socket is closed politely and the next attempt starts once it is gone, so there are
   * never two. Not a failure: no backoff, no count.
   */
  reconnect(reason = 'reconnect'): void {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return;
    const waiting: State = {
      name: 'backoff',
      since: this.clock.now(),
      failures: this.failures,
      wakeAt: null,
      timer: undefined,
    };
    this.enter(waiting, { type: 'reconnect', reason });
    this.reconnecting = true;
    void this.closePolitely(s.socket, 1000, reason).then(() => {
      this.reconnecting = false;
      const deferred = this.deferred;
      this.deferred = undefined;
      if (deferred) this.attempt(deferred);
      else if (this.state === waiting) this.attempt({ type: 'reconnect', reason });
    });
  }

  private closePolitely(socket: LinkSocket, code: number, reason: string): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        const entry = this.closing.get(socket);
        if (!entry) return;
        this.clock.clearTimeout(entry.timer);
        this.closing.delete(socket);
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        socket.terminate();
        done();
      }, this.options.closeGraceMs ?? 2_000);
      this.closing.set(socket, { done, timer });
      socket.close(code, reason);
    });
  }

  private attempt(cause: Cause): void {
    if (this.reconnecting) {
      // Never two sockets: whoever asks during a planned reconnect is served by its attempt.
      this.deferred = cause;
      return;
    }
    const attempt = ++this.attempts;
    let socket: LinkSocket | undefined;
    const handlers = {
      onOpen: () => this.onOpen(socket!),
      onMessage: (data: string | Uint8Array, binary: boolean) => {
        const s = this.state;
        if ((s.name !== 'open' && s.name !== 'ready') || s.socket !== socket) return;
        s.lastAlive = this.clock.now();
        s.unanswered = 0;
        this.emit('message', data, { generation: s.generation, binary });
      },
      onPong: () => {
        const s = this.state;
        if ((s.name !== 'open' && s.name !== 'ready') || s.socket !== socket) return;
        s.lastAlive = this.clock.now();
        s.unanswered = 0;
      },
      onClose: (code: number, reason: string) => {
        this.closing.get(socket!)?.done();
        if (this.owns(socket!)) this.lose({ type: 'close', code, reason }, false);
      },
      onError: (error: Error) => {
        if (this.owns(socket!)) this.lose({ type: 'error', message: error.message });
      },
    };
    const url = typeof this.options.url === 'function' ? this.options.url() : this.options.url;
    try {
      socket = this.factory(url, handlers);
    } catch (error) {
      // A bad URL fails like a refused connection: counted, backed off, visible in the cause.
      this.enter(
        { name: 'connecting', since: this.clock.now(), attempt, socket: inert, timer: undefined },
        cause,
      );
      this.lose({ type: 'error', message: (error as Error).message }, false);
      return;
    }
    const timer = this.clock.setTimeout(
      () => this.lose({ type: 'timeout', phase: 'connect' }),
      this.options.connectTimeoutMs ?? 10_000,
    );
    this.enter({ name: 'connecting', since: this.clock.now(), attempt, socket, timer }, cause);
  }

  private onOpen(socket: LinkSocket): void {
    const s = this.state;
    if (s.name !== 'connecting' || s.socket !== socket) return;
    const generation = ++this.generation;
    const canProbe = Boolean(socket.ping || this.options.heartbeat);
    const next: State = {
      name: 'open',
      since: this.clock.now(),
      generation,
      socket,
      heartbeat: undefined,
      stable: this.clock.setTimeout(() => {
        this.failures = 0;
        this.parkedAnnounced = false;
        if (next.name === 'open' || next.name === 'ready') next.stable = undefined;
      }, this.options.stableMs ?? 30_000),
      lastAlive: this.clock.now(),
      unanswered: 0,
    };
    this.enter(next, { type: 'open' });
    if (canProbe) this.scheduleHeartbeat();
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /*
   * Heartbeat: a ping every P, and a deadline of M × P after the last sign of life (a pong or
   * any frame). A healthy peer moves the deadline at every pong; a silent one misses M pongs
   * and is cut when the deadline passes: at most P × M after it died (10 s by default), well
   * inside the P × (M + 1) bound. One timer serves both, firing at whichever comes first.
   */
  private scheduleHeartbeat(): void {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return;
    const interval = this.options.pingIntervalMs ?? 5_000;
    const deadline = s.lastAlive + interval * (this.options.maxMissedPongs ?? 2);
    const next = Math.min(this.clock.now() + interval, deadline);
    s.heartbeat = this.clock.setTimeout(() => this.tick(), Math.max(0, next - this.clock.now()));
  }

  private tick(): void {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return;
    const interval = this.options.pingIntervalMs ?? 5_000;
    const maxMissed = this.options.maxMissedPongs ?? 2;
    const silentMs = this.clock.now() - s.lastAlive;
    if (silentMs >= interval * maxMissed) {
      this.lose({ type: 'heartbeat', missed: s.unanswered, silentMs });
      return;
    }
    s.unanswered++;
    this.ping(s.socket);
    this.scheduleHeartbeat();
  }

  /**
   * Checks an open socket now (the page came back to the foreground, or went offline): a ping
   * at once, and the socket is dead if nothing comes back within one interval.
   */
  private probeNow(): void {
    const s = this.state;
    if ((s.name !== 'open' && s.name !== 'ready') || !s.heartbeat) return;
    const interval = this.options.pingIntervalMs ?? 5_000;
    const maxMissed = this.options.maxMissedPongs ?? 2;
    this.clock.clearTimeout(s.heartbeat);
    s.lastAlive = Math.min(s.lastAlive, this.clock.now() - interval * (maxMissed - 1));
    s.unanswered++;
    this.ping(s.socket);
    this.scheduleHeartbeat();
  }

  private ping(socket: LinkSocket): void {
    if (socket.ping) socket.ping();
    else this.options.heartbeat?.((data) => socket.send(data));
  }

  /** The current socket is gone or judged dead: cut it, count the failure, decide the wait. */
  private lose(cause: Cause, cut = true): void {
    const s = this.state;
    if (s.name !== 'connecting' && s.name !== 'open' && s.name !== 'ready') return;
    if (cut) s.socket.terminate();
    const now = this.clock.now();
    const failures = ++this.failures;
    if (failures === 1) this.outageSince = now;
    const outageMs = now - this.outageSince;
    if (
      failures >= (this.options.maxFailures ?? 10) &&
      outageMs >= (this.options.parkAfterMs ?? 60_000)
    ) {
      this.park(failures, cause);
      return;
    }
    const unwelcome = cause.type === 'close' && this.unwelcome(cause.code, cause.reason);
    const delay = unwelcome
      ? this.backoff.unwelcomeDelay(this.random)
      : this.backoff.delay({ failures, outageMs }, this.random);
    if (!this.online) {
      this.enter({ name: 'backoff', since: now, failures, wakeAt: null, timer: undefined }, cause);
      return;
    }
    const timer = this.clock.setTimeout(
      () => this.attempt({ type: 'timer', purpose: 'retry' }),
      delay,
    );
    this.enter({ name: 'backoff', since: now, failures, wakeAt: now + delay, timer }, cause);
  }

  private park(failures: number, cause: Cause): void {
    const now = this.clock.now();
    const probe = this.options.probeIntervalMs ?? 300_000;
    const timer = this.online
      ? this.clock.setTimeout(() => this.attempt({ type: 'timer', purpose: 'probe' }), probe)
      : undefined;
    const wakeAt = this.online ? now + probe : null;
    const transition = this.enter({ name: 'parked', since: now, failures, wakeAt, timer }, cause);
    // Announced once per outage, not at every failed probe.
    if (!this.parkedAnnounced) {
      this.parkedAnnounced = true;
      this.emit('parked', transition);
    }
  }

  /** Leaves the current state (clearing what it owned) and announces the new one. */
  private enter(next: State, cause: Cause): Transition {
    const prev = this.state;
    this.release(prev, next);
    this.state = next;
    const transition: Transition = {
      from: prev.name as LinkStateName,
      to: next.name,
      at: this.clock.now(),
      cause,
      status: this.status,
    };
    this.emit('transition', transition);
    return transition;
  }

  private release(prev: State, next: State): void {
    switch (prev.name) {
      case 'connecting':
        this.clock.clearTimeout(prev.timer);
        break;
      case 'open':
      case 'ready':
        // open → ready keeps the socket and its timers; every other exit drops them.
        if ((next.name === 'open' || next.name === 'ready') && next.socket === prev.socket) break;
        this.clock.clearTimeout(prev.heartbeat);
        this.clock.clearTimeout(prev.stable);
        break;
      case 'backoff':
      case 'parked':
        this.clock.clearTimeout(prev.timer);
        break;
    }
  }

  private owns(socket: LinkSocket): boolean {
    const s = this.state;
    return (
      (s.name === 'connecting' || s.name === 'open' || s.name === 'ready') && s.socket === socket
    );
  }
}

const inert: LinkSocket = { send() {}, close() {}, terminate() {}, bufferedAmount: 0 };

function isBackoff(value: Backoff | BackoffOptions | undefined): value is Backoff {
  return typeof (value as Backoff | undefined)?.delay === 'function';
}

function defaultFactory(): SocketFactory {
  if (!platformWebSocket()) {
    return () => {
      throw new LinkError(
        'LINK_NO_WEBSOCKET',
        'no global WebSocket: pass socketFactory (wsSocketFactory() in Node)',
      );
    };
  }
  return browserSocketFactory();
}
