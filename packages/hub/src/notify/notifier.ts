import { systemClock } from '@tether/link';
import type { Clock, LinkStateName } from '@tether/link';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';
import type { UpstreamStateName } from '../upstream/types.js';
import { Courier } from './courier.js';
import { guardedPost } from './post.js';
import type { Post } from './post.js';
import { defaultRetryPolicy } from './retry.js';
import type { RetryPolicy } from './retry.js';
import type { Channel, EndpointDetail, NotifyEvent, TroubleState } from './types.js';

export interface NotifierOptions {
  /** Read again for every message, so a config reload takes effect at once. */
  channels: () => readonly Channel[];
  logger: Logger;
  clock?: Clock;
  /**
   * How one request goes out. Default: node:http(s), refusing private targets of channels
   * without `allowPrivate` and never following redirects. Tests pass a fake.
   */
  post?: Post;
  /** Jitter source for retry delays; tests pass a fixed one. */
  random?: () => number;
  /** Not connected this long without a break before anyone is told. Default 30 s. */
  downAfterMs?: number;
  /** At most one message per channel and endpoint (or server) this often. Default 60 s. */
  minIntervalMs?: number;
  retry?: Partial<RetryPolicy>;
  /** One delivery attempt gives up after this long. Default 10 s. */
  requestTimeoutMs?: number;
}

/** What the hub knows about an endpoint; an EndpointStatus fits as it is. */
export interface EndpointInfo {
  lastClose?: { code: number; reason: string } | null;
  lastError?: string | null;
  attempts?: number;
}

/** What the hub knows about an upstream server; an UpstreamStatus fits as it is. */
export interface ServerInfo {
  restarts?: number;
  lastError?: string | null;
}

export interface NotifierStats {
  /** Messages a channel accepted. */
  sent: number;
  /** Messages given up on (refused, or out of attempts). */
  failed: number;
  /** Messages waiting: in flight, between retries, or held back by the rate limit. */
  pending: number;
  /** Messages replaced by a newer one about the same subject while held back. */
  superseded: number;
}

/**
 * An endpoint that is not up. Absent from the map means up (or disabled, or never seen).
 * `waiting`: trouble began, nobody told yet, a timer runs until downAfterMs.
 * `notified`: someone was told (down or parked); the next "up" sends the recovery.
 */
type Outage =
  | { phase: 'waiting'; since: number; state: TroubleState; detail: EndpointDetail; timer: unknown }
  | { phase: 'notified'; since: number; detail: EndpointDetail; parked: boolean };

/** Per channel and subject: when the last message went, and the one held back since. */
interface Throttle {
  lastAt: number;
  held?: { event: NotifyEvent; timer: unknown };
}

/**
 * Turns the hub's state changes into a few messages a person wants to read:
 *
 *   up ──not up──► waiting ──downAfterMs──► notified ──up──► up        sends down, recovered
 *                    │  └──up──► up (a flap: nothing at all)   │
 *                    └──parked──► notified(parked) ◄──parked───┘       sends parked once
 *   any ──disabled──► up, silently (a person turned it off)
 *
 *   server: failed ──► crash-loop message, once; again only after it has been ready.
 *
 * Calls from the hub never throw and never wait: messages leave on their own timers.
 */
export class Notifier {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly courier: Courier;
  private readonly downAfterMs: number;
  private readonly minIntervalMs: number;
  private readonly outages = new Map<string, Outage>();
  private readonly crashLooping = new Set<string>();
  private readonly throttles = new Map<string, Throttle>();
  private nextSweepAt = 64;
  private superseded = 0;
  private closed = false;

  constructor(private readonly options: NotifierOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.downAfterMs = options.downAfterMs ?? 30_000;
    this.minIntervalMs = options.minIntervalMs ?? 60_000;
    this.courier = new Courier({
      clock: this.clock,
      logger: options.logger,
      post: options.post ?? guardedPost,
      random: options.random ?? Math.random,
      retry: { ...defaultRetryPolicy, ...options.retry },
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    });
  }

  /** Call on every state change of an endpoint. */
  endpointState(name: string, state: LinkStateName, info: EndpointInfo = {}): void {
    if (this.closed) return;
    const outage = this.outages.get(name);
    const now = this.clock.now();
    switch (state) {
      case 'ready':
      case 'open':
        if (outage?.phase === 'waiting') this.clock.clearTimeout(outage.timer);
        this.outages.delete(name);
        if (outage?.phase === 'notified') {
          this.emit({
            type: 'endpoint.recovered',
            endpoint: name,
            downSince: outage.since,
            at: now,
            state,
          });
        }
        return;
      case 'disabled':
        if (outage?.phase === 'waiting') this.clock.clearTimeout(outage.timer);
        this.outages.delete(name);
        return;
      case 'connecting':
      case 'backoff': {
        if (!outage) {
          const timer = this.clock.setTimeout(() => this.confirmDown(name), this.downAfterMs);
          this.outages.set(name, {
            phase: 'waiting',
            since: now,
            state,
            detail: detailOf(info),
            timer,
          });
          return;
        }
        outage.detail = detailOf(info, outage.detail);
        if (outage.phase === 'waiting') outage.state = state;
        return;
      }
      case 'parked': {
        const detail = detailOf(info, outage?.detail);
        if (outage?.phase === 'notified' && outage.parked) {
          outage.detail = detail;
          return;
        }
        if (outage?.phase === 'waiting') this.clock.clearTimeout(outage.timer);
        const since = outage?.since ?? now;
        this.outages.set(name, { phase: 'notified', since, detail, parked: true });
        this.emit({ type: 'endpoint.parked', endpoint: name, since, at: now, detail });
        return;
      }
    }
  }

  /** Call on every state change of an upstream MCP server. */
  serverState(name: string, state: UpstreamStateName, info: ServerInfo = {}): void {
    if (this.closed) return;
    if (state === 'ready' || state === 'stopped') {
      this.crashLooping.delete(name);
      return;
    }
    if (state !== 'failed' || this.crashLooping.has(name)) return;
    this.crashLooping.add(name);
    this.emit({
      type: 'server.crashloop',
      server: name,
      restarts: info.restarts ?? 0,
      ...(info.lastError && { lastError: info.lastError }),
      at: this.clock.now(),
    });
  }

  stats(): NotifierStats {
    let held = 0;
    for (const throttle of this.throttles.values()) if (throttle.held) held += 1;
    return {
      sent: this.courier.sent,
      failed: this.courier.failed,
      pending: this.courier.pending + held,
      superseded: this.superseded,
    };
  }

  /** Cancels every timer, retry and request in flight. Later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const outage of this.outages.values()) {
      if (outage.phase === 'waiting') this.clock.clearTimeout(outage.timer);
    }
    for (const throttle of this.throttles.values()) {
      if (throttle.held) this.clock.clearTimeout(throttle.held.timer);
    }
    this.outages.clear();
    this.throttles.clear();
    this.crashLooping.clear();
    this.courier.close();
  }

  private confirmDown(name: string): void {
    const outage = this.outages.get(name);
    if (outage?.phase !== 'waiting') return;
    const { since, state, detail } = outage;
    this.outages.set(name, { phase: 'notified', since, detail, parked: false });
    this.emit({
      type: 'endpoint.down',
      endpoint: name,
      since,
      at: this.clock.now(),
      state,
      detail,
    });
  }

  /** Hands the event to every channel, through that channel's rate limit for its subject. */
  private emit(event: NotifyEvent): void {
    let channels: readonly Channel[];
    try {
      channels = this.options.channels();
    } catch (error) {
      this.logger.error(
        { error: redact(messageOf(error)), event: event.type },
        'cannot read notification channels',
      );
      return;
    }
    this.logger.info({ event: event.type, subject: subjectOf(event) }, 'notifying');
    for (const channel of channels) if (wants(channel, event)) this.throttled(channel, event);
  }

  /**
   * First message about a subject goes at once; another within minIntervalMs is held until
   * the interval is over, and a newer one replaces it. A recovery that replaces a held "down"
   * still says how long the outage was, so nothing a person needs is lost.
   */
  private throttled(channel: Channel, event: NotifyEvent): void {
    const key = `${channelKey(channel)}\u0000${subjectOf(event)}`;
    const now = this.clock.now();
    const throttle = this.throttles.get(key);
    if (!throttle || now - throttle.lastAt >= this.minIntervalMs) {
      if (throttle?.held) this.clock.clearTimeout(throttle.held.timer);
      this.throttles.set(key, { lastAt: now });
      this.sweep(now);
      this.courier.send(channel, event);
      return;
    }
    if (throttle.held) {
      this.superseded += 1;
      throttle.held.event = event;
      return;
    }
    const timer = this.clock.setTimeout(
      () => this.release(key),
      throttle.lastAt + this.minIntervalMs - now,
    );
    throttle.held = { event, timer };
  }

  private release(key: string): void {
    const throttle = this.throttles.get(key);
    if (!throttle?.held) return;
    const { event } = throttle.held;
    throttle.held = undefined;
    throttle.lastAt = this.clock.now();
    // The channel list may have changed meanwhile; a channel that is gone gets nothing.
    let channel: Channel | undefined;
    try {
      channel = this.options.channels().find((c) => key.startsWith(`${channelKey(c)}\u0000`));
    } catch (error) {
      this.logger.error(
        { error: redact(messageOf(error)), event: event.type },
        'cannot read notification channels',
      );
    }
    if (channel) this.courier.send(channel, event);
  }

  /** Forgets rate-limit windows that are over, amortised so a mass outage stays linear. */
  private sweep(now: number): void {
    if (this.throttles.size < this.nextSweepAt) return;
    for (const [key, throttle] of this.throttles) {
      if (!throttle.held && now - throttle.lastAt >= this.minIntervalMs) this.throttles.delete(key);
    }
    this.nextSweepAt = Math.max(64, this.throttles.size * 2);
  }
}

function wants(channel: Channel, event: NotifyEvent): boolean {
  if (channel.enabled === false) return false;
  return !channel.events?.length || channel.events.includes(event.type);
}

function subjectOf(event: NotifyEvent): string {
  return event.type === 'server.crashloop'
    ? `server:${event.server}`
    : `endpoint:${event.endpoint}`;
}

function channelKey(channel: Channel): string {
  return `${channel.kind} ${channel.url}`;
}

/** The latest close or error; a state change that carries neither keeps the previous one. */
function detailOf(info: EndpointInfo, previous: EndpointDetail = {}): EndpointDetail {
  const fresh: EndpointDetail = {
    ...(info.lastClose && {
      lastClose: { code: info.lastClose.code, reason: info.lastClose.reason },
    }),
    ...(info.lastError && { lastError: info.lastError }),
    ...(info.attempts !== undefined && { attempts: info.attempts }),
  };
  return fresh.lastClose || fresh.lastError ? fresh : { ...previous, ...fresh };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
