import { wsSocketFactory } from '@tether/link/node';
import type { LinkOptions } from '@tether/link';
import { buildCatalog, catalogFor } from './catalog/catalog.js';
import type { CatalogEntry } from './catalog/catalog.js';
import { diffConfig } from './config/index.js';
import type { EndpointConfig, ServerConfig, TetherConfig } from './config/types.js';
import { EndpointSession } from './endpoint/session.js';
import type { EndpointStatus } from './endpoint/session.js';
import type { Logger } from './log/logger.js';
import { Upstream } from './upstream/index.js';
import type { CallOptions, ToolResult, UpstreamStatus } from './upstream/types.js';
import { UpstreamError } from './upstream/types.js';

export interface HubOptions {
  logger: Logger;
  /** Link settings for every endpoint (tests shorten intervals). */
  linkOptions?: Partial<LinkOptions>;
  version?: string;
}

/**
 * The hub on one node: upstream servers, the aggregated catalog, and one session per endpoint.
 * Composition happens here and nowhere else; each part only knows the ports it is given.
 */
export class Hub {
  private config: TetherConfig;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly sessions = new Map<string, EndpointSession>();
  private catalog: CatalogEntry[] = [];
  private started = false;

  constructor(
    config: TetherConfig,
    private readonly options: HubOptions,
  ) {
    this.config = config;
  }

  get settings() {
    return this.config.hub;
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all(this.config.servers.map((server) => this.startUpstream(server)));
    this.rebuild();
    for (const endpoint of this.config.endpoints) this.startSession(endpoint);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.sessions.values()].map((s) => s.stop(1001, 'tether shutting down')));
    this.sessions.clear();
    await Promise.all([...this.upstreams.values()].map((u) => u.stop()));
    this.upstreams.clear();
  }

  /** Applies a new configuration, restarting only what changed. */
  async apply(next: TetherConfig): Promise<void> {
    const diff = diffConfig(this.config, next);
    this.config = next;
    const byName = <T extends { name: string }>(list: T[], name: string) =>
      list.find((x) => x.name === name)!;
    for (const name of [...diff.servers.removed, ...diff.servers.changed]) {
      await this.upstreams.get(name)?.stop();
      this.upstreams.delete(name);
    }
    await Promise.all(
      [...diff.servers.added, ...diff.servers.changed].map((name) =>
        this.startUpstream(byName(next.servers, name)),
      ),
    );
    for (const name of [...diff.endpoints.removed, ...diff.endpoints.changed]) {
      await this.sessions.get(name)?.stop(1000, 'configuration changed');
      this.sessions.delete(name);
    }
    for (const name of [...diff.endpoints.added, ...diff.endpoints.changed])
      this.startSession(byName(next.endpoints, name));
    this.rebuild();
    this.options.logger.info(
      { endpoints: diff.endpoints, servers: diff.servers },
      'configuration applied',
    );
  }

  endpoints(): EndpointStatus[] {
    return [...this.sessions.values()].map((s) => s.status);
  }

  servers(): UpstreamStatus[] {
    return [...this.upstreams.values()].map((u) => u.status);
  }

  /** Every tool of every ready server, with the endpoints that see it. */
  tools(): Array<CatalogEntry & { endpoints: string[] }> {
    return this.catalog.map((entry) => ({
      ...entry,
      endpoints: this.config.endpoints
        .filter((e) => catalogFor([entry], e).length > 0)
        .map((e) => e.name),
    }));
  }

  /** Calls a tool by its exposed name, as the API and `tether call` do. */
  callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    options: Partial<CallOptions> = {},
  ): Promise<ToolResult> {
    const entry = this.catalog.find((e) => e.name === name);
    if (!entry)
      return Promise.reject(new UpstreamError('UPSTREAM_UNKNOWN_TOOL', `Unknown tool: ${name}`));
    return this.invoke(entry, args, { timeoutMs: this.config.hub.callTimeoutMs, ...options });
  }

  /** Asks an endpoint to reconnect at once (a person's "retry now"). */
  retry(endpoint: string): boolean {
    const session = this.sessions.get(endpoint);
    session?.link.retryNow();
    return session !== undefined;
  }

  private invoke(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult> {
    const upstream = this.upstreams.get(entry.server);
    if (!upstream)
      return Promise.reject(
        new UpstreamError('UPSTREAM_UNAVAILABLE', `server ${entry.server} is not running`),
      );
    const server = this.config.servers.find((s) => s.name === entry.server);
    return upstream.callTool(entry.tool, args, {
      ...options,
      timeoutMs: server?.timeoutMs ?? options.timeoutMs,
    });
  }

  private async startUpstream(config: ServerConfig): Promise<void> {
    if (!config.enabled) return;
    const upstream = new Upstream(config, { logger: this.options.logger });
    this.upstreams.set(config.name, upstream);
    upstream.on('tools', () => this.rebuild());
    upstream.on('state', () => this.rebuild());
    await upstream.start();
  }

  private startSession(config: EndpointConfig): void {
    if (!this.started) return;
    const session = new EndpointSession(config, {
      logger: this.options.logger.child({ endpoint: config.name }),
      settings: this.config.hub,
      tools: () => catalogFor(this.catalog, config),
      callTool: (entry, args, options) => this.invoke(entry, args, options),
      linkOptions: { socketFactory: wsSocketFactory(), ...this.options.linkOptions },
      ...(this.options.version ? { version: this.options.version } : {}),
    });
    this.sessions.set(config.name, session);
    session.start();
  }

  /** Rebuilds the catalog from the servers that are up; endpoints whose set changed reconnect. */
  private rebuild(): void {
    this.catalog = buildCatalog(
      [...this.upstreams.entries()]
        .filter(([, u]) => u.status.state === 'ready')
        .map(([name, u]) => {
          const config = this.config.servers.find((s) => s.name === name);
          return {
            server: name,
            tools: u.tools,
            ...(config?.descriptions ? { descriptions: config.descriptions } : {}),
          };
        }),
    );
    for (const session of this.sessions.values()) session.toolsChanged();
  }
}
