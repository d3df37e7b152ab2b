import type { Clock } from '@tether/link';
import type { Logger } from '../log/logger.js';

/** What the sweep needs of one endpoint's link. */
export interface Watched {
  /** When the socket last showed a sign of life; null when there is no socket. */
  readonly lastAliveAt: number | null;
  readonly heartbeat: { intervalMs: number; maxMissed: number };
  /** Terminates the socket; the link's own supervisor reconnects. */
  declareDead(reason: string): void;
}

export interface SweepOptions {
  clock: Clock;
  logger: Logger;
  /** How often a pass runs, read before each pass (a live edit applies at the next). */
  intervalMs(): number;
  /** An endpoint's own check interval (hub.monitor's unless it sets one). */
  checkIntervalMs(name: string): number;
  /** The links to check, by endpoint name. */
  links(): Iterable<[string, Watched]>;
  /** Runs first in every pass: what should run is brought in line with what runs. */
  align(): void;
  /** Runs last in every pass (housekeeping such as pruning the call log). */
  tidy?(): void;
}

/**
 * The monitor's sweep: every pass it aligns what should run with what runs, and finds
 * zombies — sockets that claim to be open but have shown no sign of life for longer than the
 * heartbeat allows — and has their link terminate them. It never reconnects anything itself:
 * the link's own supervisor is the only reconnect loop.
 */
export class Sweep {
  private timer: unknown;
  private running = false;
  /** The interval the pending pass was timed with. */
  private scheduledMs = 0;
  /** When each endpoint was last checked. */
  private readonly checkedAt = new Map<string, number>();

  constructor(private readonly options: SweepOptions) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.options.clock.clearTimeout(this.timer);
  }

  /** After a live edit: if the interval changed, the next pass is timed afresh with it. */
  reschedule(): void {
    if (this.running && this.options.intervalMs() !== this.scheduledMs) this.schedule();
  }

  private schedule(): void {
    const { clock } = this.options;
    clock.clearTimeout(this.timer);
    this.scheduledMs = this.options.intervalMs();
    this.timer = clock.setTimeout(() => {
      if (!this.running) return;
      this.pass();
      this.schedule();
    }, this.scheduledMs);
  }

  /** One pass; returns the endpoints it found to be zombies. */
  pass(now = this.options.clock.now()): string[] {
    const { logger } = this.options;
    this.options.align();
    const zombies: string[] = [];
    const seen = new Set<string>();
    for (const [name, link] of this.options.links()) {
      seen.add(name);
      // A little early is on time: timers drift by a few ms.
      const every = this.options.checkIntervalMs(name);
      if (now - (this.checkedAt.get(name) ?? -Infinity) < every * 0.9) continue;
      this.checkedAt.set(name, now);
      const lastAlive = link.lastAliveAt;
      const { intervalMs, maxMissed } = link.heartbeat;
      if (lastAlive !== null && now - lastAlive > intervalMs * (maxMissed + 1)) {
        zombies.push(name);
        logger.warn({ silentMs: now - lastAlive, endpoint: name }, 'zombie socket: terminating it');
        link.declareDead(`zombie: no sign of life for ${now - lastAlive} ms`);
      }
    }
    for (const name of this.checkedAt.keys()) if (!seen.has(name)) this.checkedAt.delete(name);
    this.options.tidy?.();
    return zombies;
  }
}
