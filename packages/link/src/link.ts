import { fullJitter, fullJitterBackoff } from './backoff.js';
import type { Backoff, BackoffOptions } from './backoff.js';
import type { ConnectBudget, ConnectTicket } from './budget.js';
import { systemClock } from './clock.js';
import type { Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { LinkError } from './errors.js';
import { browserSocketFactory, platformWebSocket } from './socket.js';
import type { LinkSocket, SocketFactory } from './socket.js';
import { defaultUnwelcome } from './states.js';
import type {
  Cause,
  CheckTrigger,
  Damping,
  LinkStateName,
  LinkStatus,
  Transition,
  UnwelcomePredicate,
} from './states.js';

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
  /**
   * A socket checked at once (a send failed, or the send buffer keeps growing) must show a sign
   * of life within this, or it is cut. Default 2 s.
   */
  checkTimeoutMs?: number;
  /** A send buffer above this that grows from one check to the next gets the socket checked. Default 1 MiB. */
  bufferedLimitBytes?: number;
  /**
   * Shared by the links of one process (the hub): every attempt takes a token from it (or waits
   * in its line), and it spreads first retries wider when many links lose their sockets at once.
   */
  connectBudget?: ConnectBudget;
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

interface Live {
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
  /** When the regular heartbeat sends its next ping. */
  nextPingAt: number;
  /** A check under way: a ping went out at once and must be answered by `deadline`. */
  check: { trigger: CheckTrigger; deadline: number } | undefined;
  /** The send buffer at the last look, and how many looks in a row found it growing over the limit. */
  buffered: number;
  strikes: number;
}

/** Internal state: timers and the socket live only in the states that own them. */
type State =
  | { name: 'disabled'; since: number }
  | { name: 'connecting'; since: number; attempt: number; socket: LinkSocket; timer: Timer }
  | Live
  /** A planned reconnect: the old socket is closing (its grace timer is in `closing`). */
  | { name: 'reconnecting'; since: number; reason: string; socket: LinkSocket }
  | {
      name: 'backoff' | 'parked';
      since: number;
      failures: number;
      wakeAt: number | null;
      timer: Timer | undefined;
      /** Waiting in the connect budget's line: the attempt starts when its turn comes. */
      ticket?: ConnectTicket;
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
  private readonly budget: ConnectBudget | undefined;
  private failures = 0;
  /** When the current run of failures began. A completed handshake ends the run. */
  private outageSince = 0;
  private parkedAnnounced = false;
  /** When the socket was lost after a completed handshake, within the flap window. */
  private flaps: number[] = [];
  private attempts = 0;
  private generation = 0;
  private online = true;
  private waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  /** Sockets closed politely, waiting for the peer or the grace timer; made at the first. */
  private closing: Map<LinkSocket, { done(): void; timer: Timer; gone: Promise<void> }> | undefined;

  private options: LinkOptions;

  constructor(options: LinkOptions) {
    super();
    // Our own copy: configure() changes it, never the caller's object.
    this.options = { ...options };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = isBackoff(options.backoff) ? options.backoff : sharedBackoff(options.backoff);
    this.factory = options.socketFactory ?? defaultFactory();
    this.unwelcome = options.unwelcome ?? defaultUnwelcome;
    this.budget = options.connectBudget;
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
      case 'reconnecting':
        return { name: s.name, since: s.since, reason: s.reason };
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
  /**
   * A live change of the heartbeat (a configuration reload): the next ping and the deadline
   * follow the new values at once, without a reconnect.
   */
  configure(change: Pick<LinkOptions, 'pingIntervalMs' | 'maxMissedPongs'>): void {
    if (change.pingIntervalMs !== undefined) this.options.pingIntervalMs = change.pingIntervalMs;
    if (change.maxMissedPongs !== undefined) this.options.maxMissedPongs = change.maxMissedPongs;
    const s = this.state;
    if ((s.name === 'open' || s.name === 'ready') && s.heartbeat) {
      s.nextPingAt = Math.min(
        s.nextPingAt,
        this.clock.now() + (this.options.pingIntervalMs ?? 5_000),
      );
      this.scheduleHeartbeat(s);
    }
  }

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
    if (this.state.name === 'disabled') this.begin({ type: 'person', action: 'connect' });
    return this.whenOpen();
  }

  /**
   * Skips a backoff or wakes a parked link; joins an attempt or connection in progress, a
   * planned reconnect, and a place in the connect budget's line.
   */
  retryNow(): void {
    const s = this.state;
    if ((s.name === 'backoff' && !s.ticket) || s.name === 'parked' || s.name === 'disabled') {
      this.begin({ type: 'person', action: 'retryNow' });
    }
  }

  /** Resolves when a socket is open (at once if it is). */
  whenOpen(signal?: AbortSignal): Promise<void> {
    if (this.state.name === 'open' || this.state.name === 'ready') return Promise.resolve();
    if (this.state.name === 'disabled') {
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
    // The handshake is done: the run of failures is over, and so is any outage.
    this.failures = 0;
    this.parkedAnnounced = false;
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
    try {
      s.socket.send(data);
    } catch (error) {
      // A send that fails says more than the next ping would: check the socket now.
      this.check('send-failed', (error as Error).message);
      return false;
    }
    this.watchBuffer(s);
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
      if (online) this.begin({ type: 'network', online });
      else
        this.enter(
          { ...s, wakeAt: null, timer: undefined, ticket: undefined },
          { type: 'network', online },
        );
    } else if (!online && (s.name === 'open' || s.name === 'ready')) {
      this.check('page');
    }
  }

  /** Browser hook: page visibility. Coming back retries now and checks an open socket. */
  setVisible(visible: boolean): void {
    if (!visible) return;
    const s = this.state;
    if ((s.name === 'backoff' && !s.ticket) || s.name === 'parked')
      this.begin({ type: 'network', online: this.online });
    else if (s.name === 'open' || s.name === 'ready') this.check('page');
  }

  /**
   * Stops for good: no reconnect, no timer. An open socket is closed politely and cut if the
   * peer does not complete the close within `closeGraceMs` (or the `graceMs` given: 0 sends the
   * close frame and cuts the socket at once, for when someone else may connect any moment);
   * the promise resolves when it is gone.
   */
  close(code = 1000, reason = '', graceMs?: number): Promise<void> {
    const s = this.state;
    if (s.name === 'disabled') return Promise.resolve();
    this.enter({ name: 'disabled', since: this.clock.now() }, { type: 'person', action: 'close' });
    const error = new LinkError('LINK_CLOSED', 'link closed');
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    if (s.name === 'connecting') {
      s.socket.terminate();
      return Promise.resolve();
    }
    // A planned reconnect's old socket is already closing; this close only waits for it.
    if (s.name === 'reconnecting') return this.closing?.get(s.socket)?.gone ?? Promise.resolve();
    if (s.name !== 'open' && s.name !== 'ready') return Promise.resolve();
    return this.closePolitely(s.socket, code, reason, undefined, graceMs);
  }

  /*
   * A planned reconnect (the tools changed and the endpoint reads them only at the handshake).
   * Not a failure: no backoff, no count. Never two sockets: the next attempt waits for the old
   * socket to be gone.
   *
   *   ready ──reconnect()──► reconnecting ──close(1000)──► old socket
   *                               │        ◄── close frame, or the grace timer cuts it
   *                               ├── still reconnecting? ──► connecting (new socket)
   *                               └── close() came first  ──► stays disabled: no socket
   *
   * retryNow() and connect() meanwhile join the planned attempt; close() takes the link to
   * `disabled`, and the old socket's end then finds nothing to continue.
   */
  reconnect(reason = 'reconnect'): void {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return;
    const planned: State = {
      name: 'reconnecting',
      since: this.clock.now(),
      reason,
      socket: s.socket,
    };
    this.enter(planned, { type: 'reconnect', reason });
    void this.closePolitely(s.socket, 1000, reason, () => {
      if (this.state !== planned) return;
      if (this.online) this.begin({ type: 'reconnect', reason });
      else
        this.enter(
          {
            name: 'backoff',
            since: this.clock.now(),
            failures: this.failures,
            wakeAt: null,
            timer: undefined,
          },
          { type: 'network', online: false },
        );
    });
  }

  /** `gone` runs as soon as the socket is gone (close completed or cut), before the promise. */
  private closePolitely(
    socket: LinkSocket,
    code: number,
    reason: string,
    gone?: () => void,
    graceMs = this.options.closeGraceMs ?? 2_000,
  ): Promise<void> {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const done = () => {
      const entry = this.closing?.get(socket);
      if (!entry) return;
      this.clock.clearTimeout(entry.timer);
      this.closing!.delete(socket);
      gone?.();
      resolve();
    };
    const timer = this.clock.setTimeout(() => {
      socket.terminate();
      done();
    }, graceMs);
    (this.closing ??= new Map()).set(socket, { done, timer, gone: promise });
    socket.close(code, reason);
    if (graceMs <= 0) {
      socket.terminate();
      done();
    }
    return promise;
  }

  /**
   * Starts an attempt now, or when the shared connect budget gives it its turn (waiting in
   * `backoff`, cause `budget`). Every attempt goes through here; only `attempt` creates a socket.
   */
  private begin(cause: Cause): void {
    if (!this.budget) return this.attempt(cause);
    const now = this.clock.now();
    const waiting: State & { name: 'backoff' } = {
      name: 'backoff',
      since: now,
      failures: this.failures,
      wakeAt: now,
      timer: undefined,
    };
    const ticket = this.budget.acquire(() => {
      if (this.state === waiting) this.attempt({ type: 'timer', purpose: 'budget' });
    });
    if (!ticket) return this.attempt(cause);
    waiting.wakeAt = ticket.at;
    waiting.ticket = ticket;
    this.enter(waiting, { type: 'budget', waitMs: ticket.at - now });
  }

  private attempt(cause: Cause): void {
    const attempt = ++this.attempts;
    let socket: LinkSocket | undefined;
    const handlers = {
      onOpen: () => this.onOpen(socket!),
      onMessage: (data: string | Uint8Array, binary: boolean) => {
        const s = this.state;
        if ((s.name !== 'open' && s.name !== 'ready') || s.socket !== socket) return;
        this.alive(s);
        this.emit('message', data, { generation: s.generation, binary });
      },
      onPong: () => {
        const s = this.state;
        if ((s.name !== 'open' && s.name !== 'ready') || s.socket !== socket) return;
        this.alive(s);
      },
      onClose: (code: number, reason: string) => {
        this.closing?.get(socket!)?.done();
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
    const canProbe = this.canPing(socket);
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
      nextPingAt: this.clock.now() + (this.options.pingIntervalMs ?? 5_000),
      check: undefined,
      buffered: 0,
      strikes: 0,
    };
    this.enter(next, { type: 'open' });
    if (canProbe) this.scheduleHeartbeat(next);
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /*
   * Heartbeat: a ping every P, and a deadline of M × P after the last sign of life (a pong or
   * any frame). A healthy peer moves the deadline at every pong; a silent one misses M pongs
   * and is cut when the deadline passes: at most P × M after it died (10 s by default), well
   * inside the P × (M + 1) bound. A check (below) brings the deadline closer. One timer serves
   * the pings and both deadlines, firing at whichever comes first.
   */
  private scheduleHeartbeat(s: Live): void {
    this.clock.clearTimeout(s.heartbeat);
    const next = Math.min(s.nextPingAt, this.deadline(s));
    s.heartbeat = this.clock.setTimeout(() => this.tick(), Math.max(0, next - this.clock.now()));
  }

  private deadline(s: Live): number {
    const interval = this.options.pingIntervalMs ?? 5_000;
    const silence = s.lastAlive + interval * (this.options.maxMissedPongs ?? 2);
    return Math.min(silence, s.check?.deadline ?? Infinity);
  }

  private tick(): void {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return;
    const now = this.clock.now();
    if (now >= this.deadline(s)) {
      const check = s.check && now >= s.check.deadline ? { check: s.check.trigger } : {};
      this.lose({ type: 'heartbeat', missed: s.unanswered, silentMs: now - s.lastAlive, ...check });
      return;
    }
    if (now >= s.nextPingAt) {
      s.unanswered++;
      s.nextPingAt = now + (this.options.pingIntervalMs ?? 5_000);
      if (!this.ping(s.socket)) return this.lose({ type: 'dead', reason: 'ping failed' });
    }
    this.watchBuffer(s);
    if (this.state === s) this.scheduleHeartbeat(s);
  }

  private alive(s: Live): void {
    s.lastAlive = this.clock.now();
    s.unanswered = 0;
    s.check = undefined;
  }

  /*
   * A check: something said the socket may be dead (a send failed, the send buffer keeps
   * growing, the page came back or went offline), so a ping goes out now and the peer must
   * answer within a short deadline instead of the heartbeat's M × P. A half-open socket is cut
   * within `checkTimeoutMs` of the first failed send, not 10 s later.
   */
  private check(trigger: CheckTrigger, failure?: string): void {
    const s = this.state;
    if (s.name !== 'open' && s.name !== 'ready') return;
    if (!this.canPing(s.socket)) {
      // No way to ask the peer: a failed send is all the evidence there will be.
      if (failure !== undefined) this.lose({ type: 'dead', reason: `send failed: ${failure}` });
      return;
    }
    const now = this.clock.now();
    const within =
      trigger === 'page'
        ? (this.options.pingIntervalMs ?? 5_000)
        : (this.options.checkTimeoutMs ?? 2_000);
    if (s.check && s.check.deadline <= now + within) return; // one is already under way
    s.check = { trigger, deadline: now + within };
    s.unanswered++;
    s.nextPingAt = now + (this.options.pingIntervalMs ?? 5_000);
    if (!this.ping(s.socket)) return this.lose({ type: 'dead', reason: 'ping failed' });
    this.scheduleHeartbeat(s);
  }

  /** A send buffer over the limit that grew since the last look, twice in a row, gets a check. */
  private watchBuffer(s: Live): void {
    const buffered = s.socket.bufferedAmount;
    const limit = this.options.bufferedLimitBytes ?? 1_048_576;
    if (buffered > limit && buffered > s.buffered) s.strikes++;
    else if (buffered < s.buffered || buffered <= limit) s.strikes = 0;
    s.buffered = buffered;
    if (s.strikes >= 2) this.check('backpressure');
  }

  private canPing(socket: LinkSocket): boolean {
    return Boolean(socket.ping || this.options.heartbeat);
  }

  private ping(socket: LinkSocket): boolean {
    try {
      if (socket.ping) socket.ping();
      else this.options.heartbeat?.((data) => socket.send(data));
      return true;
    } catch {
      return false;
    }
  }

  /*
   * The current socket is gone or judged dead: cut it, count the failure, decide the wait.
   *
   * A loss after a completed handshake starts a new run (markReady ended the last one), so it
   * gets the quick first retry however recently the previous run was. Only a link that does
   * this more than the backoff's flap limit within its window is damped (a floor on that first
   * retry), and the cause says so. A loss of an open socket is also reported to the shared
   * budget, which widens the first retry when many links lose theirs at once.
   */
  private lose(cause: Cause, cut = true): void {
    const s = this.state;
    if (s.name !== 'connecting' && s.name !== 'open' && s.name !== 'ready') return;
    if (cut) s.socket.terminate();
    const now = this.clock.now();
    const failures = ++this.failures;
    if (failures === 1) this.outageSince = now;
    const outageMs = now - this.outageSince;
    if (s.name !== 'connecting') this.budget?.noteLoss();
    const damped = s.name === 'ready' ? this.flapped(now) : undefined;
    if (damped) cause = { ...cause, damped } as Cause;
    if (
      failures >= (this.options.maxFailures ?? 10) &&
      outageMs >= (this.options.parkAfterMs ?? 60_000)
    ) {
      this.park(failures, cause);
      return;
    }
    const unwelcome = cause.type === 'close' && this.unwelcome(cause.code, cause.reason);
    let delay = unwelcome
      ? this.backoff.unwelcomeDelay(this.random)
      : this.backoff.delay(
          { failures, outageMs, spreadMs: this.budget?.spreadMs() ?? 0 },
          this.random,
        );
    // A damped link waits its floor plus up to half of it again, so damped links spread too.
    if (damped)
      delay = Math.max(delay, damped.floorMs + fullJitter(damped.floorMs / 2, this.random));
    if (!this.online) {
      this.enter({ name: 'backoff', since: now, failures, wakeAt: null, timer: undefined }, cause);
      return;
    }
    const timer = this.clock.setTimeout(
      () => this.begin({ type: 'timer', purpose: 'retry' }),
      delay,
    );
    this.enter({ name: 'backoff', since: now, failures, wakeAt: now + delay, timer }, cause);
  }

  /** Counts a loss after a completed handshake; the damping it earns, if any. */
  private flapped(now: number): Damping | undefined {
    const windowMs = this.backoff.flapWindowMs;
    if (windowMs === undefined || !this.backoff.flapFloor) return undefined;
    this.flaps = this.flaps.filter((at) => at > now - windowMs);
    this.flaps.push(now);
    const floorMs = this.backoff.flapFloor(this.flaps.length);
    return floorMs > 0 ? { losses: this.flaps.length, windowMs, floorMs } : undefined;
  }

  private park(failures: number, cause: Cause): void {
    const now = this.clock.now();
    const probe = this.options.probeIntervalMs ?? 300_000;
    const timer = this.online
      ? this.clock.setTimeout(() => this.begin({ type: 'timer', purpose: 'probe' }), probe)
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
        prev.ticket?.cancel();
        break;
      case 'reconnecting':
        // The old socket's grace timer belongs to `closing`; its end checks the state it finds.
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

/**
 * A backoff is a few pure functions of its options, so links with the same options share one
 * (a hub's thousand links usually have the same) instead of each holding its own closures.
 */
const backoffs = new Map<string, Backoff>();
const BACKOFF_KEYS = [
  'firstRetryMaxMs',
  'ratio',
  'floorMs',
  'capMs',
  'unwelcomeMs',
  'flapLimit',
  'flapWindowMs',
  'flapFloorMs',
] as const satisfies ReadonlyArray<keyof BackoffOptions>;
// Every option is part of the key, or two links with different options would share a backoff.
const everyBackoffKey: Exclude<keyof BackoffOptions, (typeof BACKOFF_KEYS)[number]> extends never
  ? true
  : never = true;
void everyBackoffKey;

function sharedBackoff(options: BackoffOptions = {}): Backoff {
  const key = BACKOFF_KEYS.map((k) => options[k]).join(',');
  let backoff = backoffs.get(key);
  if (!backoff) {
    // Bounded: options come from configuration, and a process sees only a few distinct ones.
    if (backoffs.size >= 64) backoffs.clear();
    backoffs.set(key, (backoff = fullJitterBackoff(options)));
  }
  return backoff;
}

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
