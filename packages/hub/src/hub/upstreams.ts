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

/** The running upstream servers and the catalog of the tools of those that are up. */
export class UpstreamPool {
  private readonly running = new Map<string, Upstream>();
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

  /** Starts a server (a disabled one is not started) and waits for its first listing. */
  async start(config: ServerConfig): Promise<void> {
    if (!config.enabled) return;
    const limits = this.ports.settings().limits;
    const upstream = new Upstream(config, {
      logger: this.ports.logger,
      clock: this.ports.clock,
      maxResultBytes: limits.resultBytes,
      maxArgumentsBytes: limits.argumentsBytes,
    });
    this.running.set(config.name, upstream);
    upstream.on('tools', () => this.rebuild());
    upstream.on('state', (status) => {
      this.ports.onState(config.name, status);
      this.rebuild();
    });
    await upstream.start();
  }

  async stop(name: string): Promise<void> {
    const upstream = this.running.get(name);
    this.running.delete(name);
    await upstream?.stop();
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((u) => u.stop()));
  }

  /** Rebuilds the catalog from the servers that are up. */
  rebuild(): void {
    this.entries = buildCatalog(
      [...this.running.entries()]
        .filter(([, u]) => u.status.state === 'ready')
        .map(([name, u]) => {
          const descriptions = this.ports.definition(name)?.descriptions;
          return { server: name, tools: u.tools, ...(descriptions ? { descriptions } : {}) };
        }),
    );
    this.ports.onCatalog();
  }
}
