import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import type { EndpointStatusRow, ToolCallEntry } from '../store/types.js';
import { clusterKeys, leaseHolder } from './keys.js';
import type { ClusterKeys } from './keys.js';
import { defineClusterScripts } from './scripts.js';
import type { ClusterCommands } from './scripts.js';

/** What every instance hears: an owner's status change, a call it served, a change of definitions. */
export type ClusterEvent =
  | { type: 'status'; from: string; row: EndpointStatusRow }
  | { type: 'call'; from: string; call: ToolCallEntry }
  /** Definitions or overlays changed in the store (API CRUD, enable/disable, tool toggles). */
  | { type: 'changed'; from: string }
  /** An instance stopped and released its leases: its endpoints are free. */
  | { type: 'left'; from: string }
  /** An instance gave up some endpoints for balance: they are free. */
  | { type: 'freed'; from: string };

/** What one instance asks the owner of an endpoint to do. */
export type ClusterCommand = { type: 'retry'; endpoint: string };

/**
 * The hub's view of the other instances (docs/architecture.md, "Cluster"): who is alive, the
 * owners' live status, events for every instance's event streams, commands to an owner.
 * Leases are the Ownership port's business; this port never decides who owns what.
 */
export interface ClusterPort {
  readonly instance: string;
  /** The instances alive at the last heartbeat, this one included (sorted). */
  members(): readonly string[];
  /**
   * Whether the membership has been read twice (a heartbeat apart): until then an instance
   * that started together with others may not see them yet, and would claim their shares.
   */
  readonly joined: boolean;
  /** Writes the owner's live status and tells every instance; false when fenced out. */
  writeStatus(row: EndpointStatusRow): Promise<boolean>;
  /** The live status rows of these endpoints (absent: never written, or gone). */
  readStatus(endpointIds: readonly string[]): Promise<EndpointStatusRow[]>;
  /** Who holds each of these endpoints' leases now; '' when nobody does. */
  holders(endpointIds: readonly string[]): Promise<string[]>;
  /** The status of a removed endpoint is forgotten. */
  forget(endpointId: string): Promise<void>;
  publish(event: ClusterEvent): void;
  onEvent(listener: (event: ClusterEvent) => void): void;
  /**
   * Sends a command to one instance and waits for its answer: true done, false refused (it
   * does not hold the endpoint), undefined when no answer came within the timeout.
   */
  send(to: string, command: ClusterCommand): Promise<boolean | undefined>;
  onCommand(handler: (command: ClusterCommand) => boolean | Promise<boolean>): void;
  /** Called when the link to the others came back after a break: events may have been missed. */
  onResync(listener: () => void): void;
  close(): Promise<void>;
}

export interface RedisClusterOptions {
  /** For commands; the scripts are defined on it. Yours to close, after close(). */
  redis: Redis;
  /** A second connection, for subscriptions only (a subscribed connection runs no commands). */
  subscriber: Redis;
  instance: string;
  prefix?: string;
  /** The lease TTL: heartbeats run at a third of it and count for all of it. Default 10000. */
  ttlMs?: number;
  /** How long send() waits for an answer. Default 1000. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

interface Envelope {
  /** A command's id and its sender, or an answer to one (`answer` set). */
  id: string;
  from: string;
  command?: ClusterCommand;
  answer?: boolean;
}

/**
 * The cluster over Redis: membership as a sorted set of heartbeats scored by Redis's clock,
 * live status as a hash per endpoint written by a fence-checking script that also publishes the
 * change, events on one channel, commands on a channel per instance with an answer back.
 */
export class RedisCluster implements ClusterPort {
  readonly instance: string;
  private readonly redis: Redis & ClusterCommands;
  private readonly sub: Redis;
  private readonly keys: ClusterKeys;
  private readonly ttlMs: number;
  private readonly commandTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private live: string[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly eventListeners = new Set<(event: ClusterEvent) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private commandHandler: ((command: ClusterCommand) => boolean | Promise<boolean>) | undefined;
  private readonly waiting = new Map<string, (answer: boolean | undefined) => void>();
  private closed = false;
  private wasReady = false;
  private beatFailed = false;
  private beats = 0;

  constructor(options: RedisClusterOptions) {
    this.instance = options.instance;
    this.redis = defineClusterScripts(options.redis);
    this.sub = options.subscriber;
    this.keys = clusterKeys(options.prefix);
    this.ttlMs = options.ttlMs ?? 10_000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 1_000;
    this.logger = options.logger;
    this.live = [this.instance];
  }

  /** Starts the heartbeat and subscribes, retrying until Redis answers (or close()). */
  async start(): Promise<void> {
    this.sub.on('message', (channel: string, text: string) => this.onMessage(channel, text));
    // A subscriber that reconnects is resubscribed by ioredis; what was said meanwhile is lost.
    this.sub.on('ready', () => {
      if (this.wasReady) this.resync();
    });
    void this.beat();
    while (!this.closed) {
      try {
        await this.sub.subscribe(this.keys.events, this.keys.commands(this.instance));
        this.wasReady = true;
        return;
      } catch (error) {
        this.logger?.debug({ err: error }, 'cluster subscription failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000).unref());
      }
    }
  }

  get joined(): boolean {
    return this.beats >= 2;
  }

  members(): readonly string[] {
    return this.live;
  }

  async writeStatus(row: EndpointStatusRow): Promise<boolean> {
    const event: ClusterEvent = { type: 'status', from: this.instance, row };
    const written = await this.redis.tetherWriteStatus(
      this.keys.status(row.endpointId),
      row.fence,
      JSON.stringify(row),
      this.keys.events,
      JSON.stringify(event),
    );
    return written === 1;
  }

  async readStatus(endpointIds: readonly string[]): Promise<EndpointStatusRow[]> {
    const out: EndpointStatusRow[] = [];
    for (const chunk of chunks(endpointIds, 500)) {
      const pipeline = this.redis.pipeline();
      for (const id of chunk) pipeline.hget(this.keys.status(id), 'row');
      for (const [error, text] of (await pipeline.exec()) ?? []) {
        if (error || typeof text !== 'string') continue;
        const row = parseRow(text);
        if (row) out.push(row);
      }
    }
    return out;
  }

  async holders(endpointIds: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    // One GET per key in a pipeline rather than MGET: an endpoint's keys live in its own slot.
    for (const chunk of chunks(endpointIds, 500)) {
      const pipeline = this.redis.pipeline();
      for (const id of chunk) pipeline.get(this.keys.lease(id));
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        out.push(!error && typeof value === 'string' ? leaseHolder(value) : '');
      }
    }
    return out;
  }

  async forget(endpointId: string): Promise<void> {
    await this.redis.del(this.keys.status(endpointId));
  }

  publish(event: ClusterEvent): void {
    void this.redis
      .publish(this.keys.events, JSON.stringify(event))
      .catch((error: Error) => this.logger?.debug({ err: error }, 'could not publish an event'));
  }

  onEvent(listener: (event: ClusterEvent) => void): void {
    this.eventListeners.add(listener);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.add(listener);
  }

  onCommand(handler: (command: ClusterCommand) => boolean | Promise<boolean>): void {
    this.commandHandler = handler;
  }

  async send(to: string, command: ClusterCommand): Promise<boolean | undefined> {
    if (to === this.instance) return this.commandHandler?.(command) ?? false;
    const id = randomBytes(8).toString('hex');
    const answered = new Promise<boolean | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, this.commandTimeoutMs);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answer);
      });
    });
    const envelope: Envelope = { id, from: this.instance, command };
    try {
      const receivers = await this.redis.publish(this.keys.commands(to), JSON.stringify(envelope));
      // Nobody listens on that channel: the instance is gone; no need to wait.
      if (receivers === 0) this.waiting.get(id)?.(undefined);
    } catch {
      this.waiting.get(id)?.(undefined);
    }
    return answered;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    for (const resolve of [...this.waiting.values()]) resolve(undefined);
    // Leaving at once, so the others recount their shares now rather than at the TTL.
    const left: ClusterEvent = { type: 'left', from: this.instance };
    await Promise.race([
      this.redis
        .multi()
        .zrem(this.keys.instances, this.instance)
        .publish(this.keys.events, JSON.stringify(left))
        .exec()
        .catch(() => null),
      new Promise((r) => setTimeout(r, 500).unref()),
    ]);
    await this.sub.unsubscribe().catch(() => {});
  }

  private async beat(): Promise<void> {
    try {
      const live = await this.redis.tetherHeartbeat(this.keys.instances, this.instance, this.ttlMs);
      this.live = [...new Set([...live, this.instance])].sort();
      this.beats++;
      // A subscription can go silent without its socket failing; a ping makes its socket
      // timeout notice (and reconnect, and resync) when it has.
      if (this.wasReady) void this.sub.ping().catch(() => {});
      if (this.beatFailed) this.resync();
      this.beatFailed = false;
    } catch (error) {
      // Cut off, the others are unknown; the leases decide meanwhile (ours run out, and the
      // claim rounds cannot take any), so the last count stands.
      if (!this.beatFailed) this.logger?.debug({ err: error }, 'cluster heartbeat failed');
      this.beatFailed = true;
    }
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(() => void this.beat(), Math.max(100, this.ttlMs / 3));
    this.heartbeatTimer.unref();
  }

  /** The link to the others was broken: what was said meanwhile is lost, so reread it. */
  private resync(): void {
    for (const listener of this.resyncListeners) listener();
  }

  private onMessage(channel: string, text: string): void {
    if (text.length > 1_000_000) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (channel === this.keys.events) {
      const event = message as ClusterEvent;
      if (!isEvent(event) || event.from === this.instance) return;
      if (event.type === 'left') this.live = this.live.filter((name) => name !== event.from);
      for (const listener of this.eventListeners) {
        try {
          listener(event);
        } catch (error) {
          this.logger?.error({ err: error }, 'cluster event listener threw');
        }
      }
      return;
    }
    const envelope = message as Envelope;
    if (typeof envelope?.id !== 'string' || typeof envelope.from !== 'string') return;
    if (envelope.answer !== undefined) {
      this.waiting.get(envelope.id)?.(envelope.answer === true);
      return;
    }
    if (!envelope.command) return;
    void this.answer(envelope);
  }

  private async answer(envelope: Envelope): Promise<void> {
    let done = false;
    try {
      done = (await this.commandHandler?.(envelope.command!)) ?? false;
    } catch (error) {
      this.logger?.warn({ err: error }, 'a cluster command failed');
    }
    const reply: Envelope = { id: envelope.id, from: this.instance, answer: done };
    await this.redis
      .publish(this.keys.commands(envelope.from), JSON.stringify(reply))
      .catch(() => {});
  }
}

const EVENT_TYPES = new Set(['status', 'call', 'changed', 'left', 'freed']);

function isEvent(event: unknown): event is ClusterEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as { type?: unknown; from?: unknown };
  return typeof e.from === 'string' && EVENT_TYPES.has(e.type as string);
}

function parseRow(text: string): EndpointStatusRow | undefined {
  try {
    const row = JSON.parse(text) as EndpointStatusRow;
    return typeof row?.endpointId === 'string' ? row : undefined;
  } catch {
    return undefined;
  }
}

function* chunks<T>(list: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}
