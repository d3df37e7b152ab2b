import { wsSocketFactory } from '@tether/link/node';
import type { LinkOptions } from '@tether/link';
import { buildCatalog, catalogFor } from './catalog/catalog.js';
import type { CatalogEntry } from './catalog/catalog.js';
import { diffConfig } from './config/index.js';
import type { EndpointConfig, ServerConfig, TetherConfig } from './config/types.js';
import { EndpointSession } from './endpoint/session.js';
import type { EndpointStatus } from './endpoint/session.js';
import type { Logger } from './log/logger.js';
import { LocalOwnership } from './coord/ownership.js';
import type { Lease, Ownership } from './coord/ownership.js';
import { StatusMirror } from './monitor/mirror.js';
import { Notifier } from './notify/index.js';
import type { MonitorSettings } from './config/types.js';
import type { Store } from './store/types.js';
import { Upstream } from './upstream/index.js';
import type { CallOptions, ToolResult, UpstreamStatus } from './upstream/types.js';
import { UpstreamError } from './upstream/types.js';

export interface HubOptions {
  logger: Logger;
  /** This process's name in status rows, timelines and the API. */
  instance?: string;
  /** The durable mirror and history; without one the hub keeps state in memory only. */
  store?: Store;
  ownership?: Ownership;
  /** Notifier overrides (tests: a fake clock, shorter limits). */
  notify?: Partial<ConstructorParameters<typeof Notifier>[0]>;
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
  readonly instance: string;
  private readonly ownership: Ownership;
  private readonly mirror: StatusMirror | undefined;
  private readonly leases = new Map<string, Lease>();
  private monitorTimer: NodeJS.Timeout | undefined;
  private readonly notifier: Notifier;

  constructor(
    config: TetherConfig,
    private readonly options: HubOptions,
  ) {
    this.config = config;
    this.instance = options.instance ?? 'local';
    this.ownership = options.ownership ?? new LocalOwnership(this.instance);
    this.mirror = options.store && new StatusMirror(options.store, this.instance, options.logger);
    this.notifier = new Notifier({
      channels: () => this.config.notifications,
      logger: options.logger.child({ part: 'notify' }),
      downAfterMs: config.hub.notifyDownAfterMs,
      ...options.notify,
    });
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.started;
  }

  get store(): Store | undefined {
    return this.options.store;
  }

  get settings() {
    return this.config.hub;
  }

  async start(): Promise<void> {
    this.started = true;
    const store = this.options.store;
    if (store) {
      // Rows a crashed predecessor left "connected" are reset before anything else is said.
      const reset = await store.status.resetStale();
      if (reset > 0)
        this.options.logger.info(
          { rows: reset },
          'reset stale live status rows left by a previous run',
        );
      await this.provision();
    }
    await Promise.all(this.config.servers.map((server) => this.startUpstream(server)));
    this.rebuild();
    for (const endpoint of this.config.endpoints) this.startSession(endpoint);
    this.scheduleMonitor();
  }

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.monitorTimer);
    await Promise.all([...this.sessions.values()].map((s) => s.stop(1001, 'tether shutting down')));
    this.sessions.clear();
    await Promise.all([...this.upstreams.values()].map((u) => u.stop()));
    this.upstreams.clear();
    await this.mirror?.flush();
    this.notifier.close();
  }

  get notifications() {
    return this.notifier.stats();
  }

  /** Resolves when every status and history write queued so far has landed. */
  async flush(): Promise<void> {
    await this.mirror?.flush();
  }

  /** Applies a new configuration, restarting only what changed. */
  async apply(next: TetherConfig): Promise<void> {
    const diff = diffConfig(this.config, next);
    this.config = next;
    // Rows first: status and timeline rows belong to an endpoint row (and go with it).
    if (this.options.store) await this.provision();
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
      const session = this.sessions.get(name);
      this.sessions.delete(name);
      await session?.stop(1000, 'configuration changed');
      const lease = this.leases.get(name);
      this.leases.delete(name);
      if (lease) await this.ownership.release(lease);
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
    upstream.on('state', (status) => {
      this.notifier.serverState(config.name, status.state, status);
      this.rebuild();
    });
    await upstream.start();
  }

  private startSession(config: EndpointConfig): void {
    if (!this.started) return;
    const session = new EndpointSession(config, {
      logger: this.options.logger.child({ endpoint: config.name }),
      settings: this.config.hub,
      tools: () => catalogFor(this.catalog, config),
      callTool: (entry, args, options) => this.invoke(entry, args, options),
      linkOptions: {
        socketFactory: wsSocketFactory(),
        ...linkOptionsFrom({ ...this.config.hub.monitor, ...config.monitor }),
        ...this.options.linkOptions,
      },
      report: {
        transition: (t, status) => {
          const lease = this.leases.get(config.name);
          if (lease) this.mirror?.transition(lease, t, status, status.health.score);
          this.notifier.endpointState(
            config.name,
            config.enabled ? status.state : 'disabled',
            status,
          );
        },
        call: (entry) => this.mirror?.toolCall(entry),
      },
      ...(this.options.version ? { version: this.options.version } : {}),
    });
    this.sessions.set(config.name, session);
    // Ownership first: on one node it is immediate; on several, only the lease holder connects.
    void this.ownership.acquire(config.name).then((lease) => {
      if (!lease || this.sessions.get(config.name) !== session) return;
      this.leases.set(config.name, lease);
      session.start();
    });
  }

  /** Config-file entries are provisioned into the store: updated from the file, read-only through the API. */
  private async provision(): Promise<void> {
    const store = this.options.store!;
    await store.endpoints.provision(
      this.config.endpoints.map((e) => ({
        id: e.name,
        name: e.name,
        url: e.url,
        enabled: e.enabled,
        tools: e.tools,
        servers: e.servers ?? null,
        overrides: e.monitor ?? {},
      })),
    );
    await store.servers.provision(
      this.config.servers.map((s) => {
        const { name, enabled, ...rest } = s;
        return { id: name, name, enabled, config: rest as Record<string, unknown> };
      }),
    );
  }

  /*
   * The monitor: every checkIntervalMs it reconciles what should run with what runs, and finds
   * zombies — sockets that claim to be open but have shown no sign of life for longer than the
   * heartbeat allows — and has their link terminate them. It never reconnects anything itself:
   * the link's own supervisor is the only reconnect loop.
   */
  private scheduleMonitor(): void {
    clearTimeout(this.monitorTimer);
    if (!this.started) return;
    this.monitorTimer = setTimeout(() => {
      this.checkOnce();
      this.scheduleMonitor();
    }, this.config.hub.monitor.checkIntervalMs);
    this.monitorTimer.unref();
  }

  /** One monitor pass; returns the endpoints it found to be zombies. */
  checkOnce(now = Date.now()): string[] {
    const zombies: string[] = [];
    for (const wanted of this.config.endpoints) {
      if (!this.sessions.has(wanted.name)) this.startSession(wanted);
    }
    for (const [name, session] of this.sessions) {
      if (!this.config.endpoints.some((e) => e.name === name)) {
        this.sessions.delete(name);
        void session.stop(1000, 'removed');
        continue;
      }
      const lastAlive = session.link.lastAliveAt;
      const { intervalMs, maxMissed } = session.link.heartbeat;
      if (lastAlive !== null && now - lastAlive > intervalMs * (maxMissed + 1)) {
        zombies.push(name);
        this.options.logger.warn(
          { silentMs: now - lastAlive, endpoint: name },
          'zombie socket: terminating it',
        );
        session.link.declareDead(`zombie: no sign of life for ${now - lastAlive} ms`);
      }
    }
    if (this.options.store)
      void this.options.store.toolCalls.prune(10_000, 7 * 24 * 3_600_000).catch(() => {});
    return zombies;
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

/** The seed platform's settings, in the link's terms. */
function linkOptionsFrom(monitor: MonitorSettings): Partial<LinkOptions> {
  return {
    pingIntervalMs: monitor.heartbeatIntervalMs,
    maxMissedPongs: monitor.heartbeatMisses,
    backoff: { capMs: monitor.reconnectCooldownMs },
    maxFailures: monitor.maxAttempts,
    probeIntervalMs: monitor.probeIntervalMs,
  };
}
