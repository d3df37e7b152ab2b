import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import { buildCatalog } from '../catalog/catalog.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { HubSettings, ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { Upstream } from '../upstream/index.js';
import type { UpstreamStatus } from '../upstream/types.js';

export interface UpstreamPoolPorts {
  logger: Logger;
  clock: Clock;
  /** The hub's limits, read when a server starts. */
  settings(): HubSettings;
  /** The definition in force, for a server's tool descriptions. */
  definition(name: string): ServerConfig | undefined;
  /** A server changed state (notifications, the event stream). */
  onState(name: string, status: UpstreamStatus): void;
  /** The catalog was rebuilt: sessions check whether their tool set changed. */
  onCatalog(): void;
}

/**
 * Servers started before the hub that will run them exists (`tether start` starts the file's
 * servers while the store opens), keyed by the very definition object the hub will be given;
 * UpstreamPool.start takes one over instead of starting the server a second time.
 */
const early = new WeakMap<ServerConfig, Upstream>();

export interface EarlyStart {
  /** Stops the servers no pool took over (the start failed before the hub started them). */
  release(): Promise<void>;
}

/**
 * Starts the enabled servers of `servers` now, for a pool to take over (see `early`): their
 * children boot while the rest of the hub loads. The options are those the pool would use.
 */
export function startEarly(
  servers: readonly ServerConfig[],
  options: { logger: Logger; settings: HubSettings; clock?: Clock },
): EarlyStart {
  const started: Array<[ServerConfig, Upstream]> = [];
  for (const config of servers) {
    if (!config.enabled || early.has(config)) continue;
    const upstream = newUpstream(
      config,
      options.logger,
      options.clock ?? systemClock,
      options.settings,
    );
    early.set(config, upstream);
    started.push([config, upstream]);
    // What the first start says reaches the pool that takes the server over.
    void upstream.start().catch(() => {});
  }
  return {
    async release() {
      const left = started.filter(([config]) => early.get(config) !== undefined);
      for (const [config] of left) early.delete(config);
      await Promise.all(left.map(([, upstream]) => upstream.stop()));
    },
  };
}

function newUpstream(config: ServerConfig, logger: Logger, clock: Clock, settings: HubSettings) {
  const { limits } = settings;
  return new Upstream(config, {
    logger,
    clock,
    maxResultBytes: limits.resultBytes,
    maxArgumentsBytes: limits.argumentsBytes,
  });
}

/** The running upstream servers and the catalog of the tools of those that are up. */
export class UpstreamPool {
  private readonly running = new Map<string, Upstream>();
  /** Servers in their first start, until it has succeeded or failed. */
  private readonly starting = new Map<string, Promise<void>>();
  /** The catalog changed while servers were in their first start: told once they all are done. */
  private changedWhileStarting = false;
  private entries: CatalogEntry[] = [];

  constructor(private readonly ports: UpstreamPoolPorts) {}

  get catalog(): readonly CatalogEntry[] {
    return this.entries;
  }

  get upstreams(): ReadonlyMap<string, Upstream> {
    return this.running;
  }

  statuses(): UpstreamStatus[] {
    return [...this.running.values()].map((u) => u.status);
  }

  /**
   * Settles once those of `names` (default: every server) that are in their first start have
   * finished it, up or not; undefined when none is, so a caller with nothing to wait for does
   * not wait a tick. The catalog then has the tools of those that came up.
   */
  ready(names?: readonly string[]): Promise<void> | undefined {
    if (this.starting.size === 0) return undefined;
    const waits = names
      ? names.flatMap((name) => this.starting.get(name) ?? [])
      : [...this.starting.values()];
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => {});
  }

  /**
   * Starts a server (a disabled one is not started) and waits for its first listing. A server
   * started early with this very definition (startEarly) is taken over, not started again.
   */
  async start(config: ServerConfig): Promise<void> {
    if (!config.enabled) return;
    const adopted = early.get(config);
    early.delete(config);
    const upstream =
      adopted ?? newUpstream(config, this.ports.logger, this.ports.clock, this.ports.settings());
    this.running.set(config.name, upstream);
    upstream.on('tools', () => this.rebuild());
    upstream.on('state', (status) => {
      this.ports.onState(config.name, status);
      this.rebuild();
    });
    // A server started early said its first states to nobody: its state now is said now.
    if (adopted) {
      this.ports.onState(config.name, adopted.status);
      this.rebuild();
    }
    const first = upstream.start();
    const settled = first.then(
      () => {},
      () => {},
    );
    this.starting.set(config.name, settled);
    try {
      await first;
    } finally {
      if (this.starting.get(config.name) === settled) this.starting.delete(config.name);
      if (this.starting.size === 0 && this.changedWhileStarting) {
        this.changedWhileStarting = false;
        this.ports.onCatalog();
      }
    }
  }

  async stop(name: string): Promise<void> {
    const upstream = this.running.get(name);
    this.running.delete(name);
    await upstream?.stop();
  }

  /**
   * Stops a server and starts it again from its definition (a person's "restart"): the child
   * and its whole tree are reaped first, so the new one never runs beside the old.
   */
  async restart(config: ServerConfig): Promise<void> {
    await this.stop(config.name);
    this.rebuild();
    await this.start(config);
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((u) => u.stop()));
  }

  /**
   * Rebuilds the catalog from the servers that are up, named among the last listed tools of
   * every running one: a server down for a while does not rename the tools it collides with.
   * While some are in their first start, the sessions hear of it once all have finished: a
   * tools/list waiting for them then answers with the whole set, and an endpoint answered
   * before (the wait's bound) reconnects once for the servers that came late, not once per
   * server (each change of the set costs a reconnect).
   */
  rebuild(): void {
    this.entries = buildCatalog(
      [...this.running.entries()].map(([name, u]) => {
        const { descriptions, toolPrefix } = this.ports.definition(name) ?? {};
        return {
          server: name,
          tools: u.tools,
          ready: u.status.state === 'ready',
          ...(descriptions ? { descriptions } : {}),
          ...(toolPrefix !== undefined ? { prefix: toolPrefix } : {}),
        };
      }),
    );
    if (this.starting.size > 0) this.changedWhileStarting = true;
    else this.ports.onCatalog();
  }
}
