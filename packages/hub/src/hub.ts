import { wsSocketFactory } from '@tether/link/node';
import { ConnectBudget } from '@tether/link';
import type { LinkOptions, Transition } from '@tether/link';
import { absentEntry, buildCatalog, callRecord, catalogFor } from './catalog/catalog.js';
import type { CatalogEntry } from './catalog/catalog.js';
import { diffConfig } from './config/index.js';
import type { EndpointConfig, HubSettings, ServerConfig, TetherConfig } from './config/types.js';
import { EndpointSession } from './endpoint/session.js';
import type { EndpointStatus } from './endpoint/session.js';
import type { Logger } from './log/logger.js';
import { Balancer } from './coord/balance.js';
import type { ClusterEvent, ClusterPort } from './coord/cluster.js';
import { LocalOwnership } from './coord/ownership.js';
import type { Lease, Ownership } from './coord/ownership.js';
import { HealthTracker } from './monitor/health.js';
import { StatusMirror } from './monitor/mirror.js';
import { Notifier } from './notify/index.js';
import type { MonitorSettings } from './config/types.js';
import type { EndpointStatusRow, Overlay, Store } from './store/types.js';
import { effectiveConfig } from './definitions.js';
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { ToolCallEntry } from './store/types.js';
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
  /** The other instances (membership, live status, events, commands); absent on one node. */
  cluster?: ClusterPort;
  /** Notifier overrides (tests: a fake clock, shorter limits). */
  notify?: Partial<ConstructorParameters<typeof Notifier>[0]>;
  /** Link settings for every endpoint (tests shorten intervals). */
  linkOptions?: Partial<LinkOptions>;
  /** Shared ownership: how often endpoints nobody here holds are claimed. Default 1,000. */
  claimIntervalMs?: number;
  version?: string;
}

/**
 * The hub on one node: upstream servers, the aggregated catalog, and one session per endpoint.
 * Composition happens here and nowhere else; each part only knows the ports it is given.
 */
export type HubErrorCode =
  'NOT_FOUND' | 'READ_ONLY' | 'CONFLICT' | 'NO_STORE' | 'OWNER_UNREACHABLE';

/** A person's request the hub cannot honour, with a code the API maps to a status. */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** What changed, for the event stream (the API turns names into views). */
export interface HubEvents {
  endpoint: [name: string];
  transition: [name: string, transition: Transition];
  'endpoint-removed': [name: string];
  server: [name: string];
  tools: [];
  /** A call served here, or (remote) one another instance served, for the event streams. */
  call: [entry: ToolCallEntry, remote?: boolean];
}

export class Hub extends EventEmitter<HubEvents> {
  private config: TetherConfig;
  /** The file's configuration; `config` is it plus API entries and operator overlays. */
  private fileConfig: TetherConfig;
  private readonly overlays = new Map<string, Overlay>();
  private readonly health = new Map<string, HealthTracker>();
  /** Which tools each running session serves; updated in place when only that changes. */
  private readonly toolViews = new Map<string, EndpointConfig>();
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
  /** Several instances share the endpoints (a Redis lease); false on one node. */
  private readonly shared: boolean;
  private claimTimer: NodeJS.Timeout | undefined;
  private readonly claiming = new Set<string>();
  /** Shared ownership: the owners' status rows of the endpoints held elsewhere. */
  private remote = new Map<string, EndpointStatusRow>();
  private readonly cluster: ClusterPort | undefined;
  private readonly balancer = new Balancer();
  /**
   * One budget for every endpoint's connection attempts: when the endpoint host comes back
   * after taking thousands of sockets with it, they return spread out, not all in one burst.
   */
  private readonly connectBudget = new ConnectBudget();
  private claimRounds = 0;
  private claimRunning = false;
  private claimAgain = false;
  /** Endpoints nobody held at the last claim round. */
  private seenFree = new Set<string>();
  /** Endpoints this instance gave up for balance, and when: not taken back at once. */
  private readonly handedOver = new Map<string, number>();

  constructor(
    config: TetherConfig,
    private readonly options: HubOptions,
  ) {
    super();
    this.config = config;
    this.fileConfig = config;
    this.instance = options.instance ?? 'local';
    this.ownership = options.ownership ?? new LocalOwnership(this.instance);
    this.shared = !(this.ownership instanceof LocalOwnership);
    this.cluster = options.cluster;
    this.cluster?.onEvent((event) => this.onClusterEvent(event));
    this.cluster?.onCommand((command) => this.onClusterCommand(command));
    this.cluster?.onResync(() => void this.resync());
    // A lost lease or a fenced-out write means another instance owns the endpoint now: the
    // socket goes at once, so there is never a second one.
    this.ownership.onLost((name) => this.surrender(name, 'lease lost'));
    this.mirror =
      options.store &&
      new StatusMirror(
        options.store,
        this.instance,
        options.logger,
        (name) => this.surrender(name, 'fenced out'),
        this.cluster && ((row) => this.cluster!.writeStatus(row)),
      );
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
      // Rows a crashed predecessor left "connected" are reset before anything else is said; in
      // a cluster only our own, since the others' rows are live.
      const reset = await store.status.resetStale(this.shared ? this.instance : undefined);
      if (reset > 0)
        this.options.logger.info(
          { rows: reset },
          'reset stale live status rows left by a previous run',
        );
      await this.provision();
      for (const overlay of await store.overlays.list())
        this.overlays.set(overlay.endpointId, overlay);
    }
    this.config = await this.effective();
    await Promise.all(this.config.servers.map((server) => this.startUpstream(server)));
    this.rebuild();
    for (const endpoint of this.config.endpoints) this.startSession(endpoint);
    this.scheduleMonitor();
    if (this.shared) {
      this.scheduleClaims();
      this.claimSoon();
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.monitorTimer);
    clearTimeout(this.claimTimer);
    if (this.claimSoonTimer) clearImmediate(this.claimSoonTimer);
    await Promise.all([...this.sessions.values()].map((s) => s.stop(1001, 'tether shutting down')));
    this.sessions.clear();
    // Sockets are closed: the leases go now, so other instances take the endpoints at once.
    this.leases.clear();
    await this.ownership.close();
    await this.cluster?.close();
    await Promise.all([...this.upstreams.values()].map((u) => u.stop()));
    this.upstreams.clear();
    await this.mirror?.flush();
    this.mirror?.close();
    this.notifier.close();
  }

  get notifications() {
    return this.notifier.stats();
  }

  /** Resolves when every status and history write queued so far has landed. */
  async flush(): Promise<void> {
    await this.mirror?.flush();
  }

  /** Applies a new configuration file, restarting only what changed. */
  async apply(file: TetherConfig): Promise<void> {
    this.fileConfig = file;
    // Rows first: status and timeline rows belong to an endpoint row (and go with it).
    if (this.options.store) await this.provision();
    await this.reconcile();
  }

  /** Brings what runs in line with the file, the API's entries and the overlays. */
  reconcile(): Promise<void> {
    return this.serially(async () => this.applyEffective(await this.effective()));
  }

  /**
   * Changes run one at a time: two requests reconciling at once could each start the same
   * session, and two overlay edits could each read the state before the other wrote it.
   */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.reconciling.then(work);
    this.reconciling = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private reconciling: Promise<void> = Promise.resolve();

  private async effective(): Promise<TetherConfig> {
    const store = this.options.store;
    const [endpoints, servers] = store
      ? await Promise.all([store.endpoints.list(), store.servers.list()])
      : [[], []];
    return effectiveConfig(this.fileConfig, endpoints, servers, this.overlays);
  }

  private async applyEffective(next: TetherConfig): Promise<void> {
    const diff = diffConfig(this.config, next);
    const previous = this.config.endpoints;
    const before = this.config.hub;
    this.config = next;
    for (const name of diff.endpoints.removed) this.emit('endpoint-removed', name);
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
    // A change of the tool set alone is no reason to tear a session down: the endpoint reads
    // tools only at the handshake, so it gets the debounced reconnect and keeps its history.
    const retooled = diff.endpoints.changed.filter((name) => {
      const before = previous.find((e) => e.name === name);
      const after = byName(next.endpoints, name);
      const session = this.sessions.get(name);
      if (!before || !session || !sameButTools(before, after)) return false;
      this.toolViews.set(name, after);
      return true;
    });
    const restarted = diff.endpoints.changed.filter((name) => !retooled.includes(name));
    for (const name of [...diff.endpoints.removed, ...restarted]) {
      const session = this.sessions.get(name);
      this.sessions.delete(name);
      await session?.stop(1000, 'configuration changed');
      const lease = this.leases.get(name);
      this.leases.delete(name);
      if (lease) await this.ownership.release(lease);
    }
    for (const name of [...diff.endpoints.added, ...restarted])
      this.startSession(byName(next.endpoints, name));
    this.rebuild();
    if (diff.hubChanged) this.applyHub(before, next.hub);
    this.options.logger.info(
      { endpoints: diff.endpoints, servers: diff.servers },
      'configuration applied',
    );
  }

  /**
   * Every endpoint's status with its owner: the supervisor's own truth for the endpoints held
   * here, the owner's mirrored row (at most a claim interval old) for those held elsewhere.
   */
  endpoints(): Array<EndpointStatus & { owner: string }> {
    return [...this.sessions.keys()].map((name) => this.endpoint(name)!);
  }

  /** One endpoint's status with its owner (see endpoints()); undefined when there is none. */
  endpoint(name: string): (EndpointStatus & { owner: string }) | undefined {
    const session = this.sessions.get(name);
    if (!session) return undefined;
    const status = session.status;
    if (!this.shared || this.leases.has(name)) return { ...status, owner: this.instance };
    const row = this.remote.get(name);
    // No word from the owner yet, or only our own old row: we do not hold it, so who does is
    // unknown until the owner speaks.
    if (!row || row.owner === this.instance) return { ...status, owner: '' };
    return {
      ...status,
      state: row.state,
      since: row.since,
      lastClose:
        row.lastCloseCode === null
          ? null
          : {
              code: row.lastCloseCode,
              reason: row.lastCloseReason ?? '',
              at: row.lastCloseAt ?? 0,
            },
      lastError: row.lastError,
      attempts: row.attempts,
      nextRetryAt: row.nextRetryAt,
      callsInFlight: 0,
      owner: row.owner,
    };
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
    // A tool of a server that is down goes on to its upstream, which says when it is back.
    const entry = this.catalog.find((e) => e.name === name) ?? this.absentTool(name);
    if (!entry)
      return Promise.reject(new UpstreamError('UPSTREAM_UNKNOWN_TOOL', `Unknown tool: ${name}`));
    const started = Date.now();
    // Calls from the API and the CLI go into the same log as the endpoints' calls.
    const record = (
      outcome: ToolCallEntry['outcome'],
      result: ToolResult | undefined,
      error: string | null,
    ) => {
      const call = callRecord(null, entry, args, started, outcome, result, error);
      this.mirror?.toolCall(call);
      this.emit('call', call);
    };
    return this.invoke(entry, args, { timeoutMs: this.config.hub.callTimeoutMs, ...options }).then(
      (result) => {
        record(result.isError ? 'error' : 'ok', result, null);
        return result;
      },
      (error: unknown) => {
        const code = error instanceof UpstreamError ? error.code : '';
        record(
          code === 'UPSTREAM_TIMEOUT'
            ? 'timeout'
            : code === 'UPSTREAM_CANCELLED'
              ? 'cancelled'
              : 'error',
          undefined,
          (error as Error).message,
        );
        throw error;
      },
    );
  }

  /** The endpoint definitions in force (file, API), with where each came from. */
  definitions(): EndpointConfig[] {
    return this.config.endpoints;
  }

  serverDefinitions(): ServerConfig[] {
    return this.config.servers;
  }

  /** Servers defined in the configuration file (read-only through the API). */
  fileServerNames(): Set<string> {
    return new Set(this.fileConfig.servers.map((s) => s.name));
  }

  /** A person switches an endpoint on or off: an overlay, allowed on provisioned endpoints too. */
  async setEnabled(name: string, enabled: boolean): Promise<void> {
    this.known(name);
    await this.putOverlay(name, (o) => ({ ...o, disabled: !enabled }));
    this.changed();
  }

  /** A person switches one tool on or off for one endpoint. */
  async setTool(name: string, tool: string, enabled: boolean): Promise<void> {
    this.known(name);
    await this.putOverlay(name, (o) => ({
      ...o,
      disabledTools: enabled
        ? o.disabledTools.filter((t) => t !== tool)
        : [...new Set([...o.disabledTools, tool])],
    }));
    this.changed();
  }

  /** Every tool the endpoint could get (its servers and globs), and whether it is switched on. */
  endpointTools(name: string): Array<{ name: string; server: string; enabled: boolean }> {
    const endpoint = this.known(name);
    const off = new Set(this.overlays.get(name)?.disabledTools ?? []);
    const base = {
      ...endpoint,
      tools: {
        include: endpoint.tools.include,
        exclude: endpoint.tools.exclude.filter((t) => !off.has(t)),
      },
    };
    return catalogFor(this.catalog, base).map((e) => ({
      name: e.name,
      server: e.server,
      enabled: !off.has(e.name),
    }));
  }

  async saveEndpoint(
    row: {
      name: string;
      url: string;
      enabled: boolean;
      tools: { include: string[]; exclude: string[] };
      servers: string[] | null;
    },
    creating: boolean,
  ): Promise<void> {
    const store = this.requireStore();
    const existing = this.config.endpoints.find((e) => e.name === row.name);
    if (creating && existing)
      throw new HubError('CONFLICT', `an endpoint named ${row.name} exists`);
    if (!creating && !existing) throw new HubError('NOT_FOUND', `no endpoint ${row.name}`);
    if (existing && existing.source !== 'api')
      throw new HubError(
        'READ_ONLY',
        `${row.name} comes from the ${existing.source === 'env' ? 'MCP_ENDPOINT variable' : 'configuration file'}; edit it there`,
      );
    for (const server of row.servers ?? []) {
      if (!this.config.servers.some((s) => s.name === server))
        throw new HubError('NOT_FOUND', `no server ${server}`);
    }
    await store.endpoints.put({ id: row.name, source: 'api', overrides: {}, ...row });
    await this.reconcile();
    this.changed();
  }

  async deleteEndpoint(name: string): Promise<void> {
    const store = this.requireStore();
    const existing = this.known(name);
    if (existing.source !== 'api')
      throw new HubError('READ_ONLY', `${name} comes from the configuration; remove it there`);
    await store.endpoints.remove(name);
    await store.overlays.remove(name);
    this.overlays.delete(name);
    await this.reconcile();
    this.changed();
    await this.cluster?.forget(name).catch(() => {});
  }

  async saveServer(config: ServerConfig, creating: boolean): Promise<void> {
    const store = this.requireStore();
    const existing = this.config.servers.find((s) => s.name === config.name);
    if (creating && existing)
      throw new HubError('CONFLICT', `a server named ${config.name} exists`);
    if (!creating && !existing) throw new HubError('NOT_FOUND', `no server ${config.name}`);
    if (existing && this.fileConfig.servers.some((s) => s.name === config.name)) {
      throw new HubError(
        'READ_ONLY',
        `${config.name} comes from the configuration file; edit it there`,
      );
    }
    const { name, enabled, ...rest } = config;
    await store.servers.put({
      id: name,
      name,
      enabled,
      source: 'api',
      config: rest as Record<string, unknown>,
    });
    await this.reconcile();
    this.changed();
  }

  async deleteServer(name: string): Promise<void> {
    const store = this.requireStore();
    if (!this.config.servers.some((s) => s.name === name))
      throw new HubError('NOT_FOUND', `no server ${name}`);
    if (this.fileConfig.servers.some((s) => s.name === name))
      throw new HubError('READ_ONLY', `${name} comes from the configuration file; remove it there`);
    await store.servers.remove(name);
    await this.reconcile();
    this.changed();
  }

  private healthOf(name: string): HealthTracker {
    let tracker = this.health.get(name);
    if (!tracker) this.health.set(name, (tracker = new HealthTracker()));
    return tracker;
  }

  private known(name: string): EndpointConfig {
    const endpoint = this.config.endpoints.find((e) => e.name === name);
    if (!endpoint) throw new HubError('NOT_FOUND', `no endpoint ${name}`);
    return endpoint;
  }

  private requireStore(): Store {
    if (!this.options.store) throw new HubError('NO_STORE', 'this hub runs without a store');
    return this.options.store;
  }

  private putOverlay(
    name: string,
    change: (o: Omit<Overlay, 'updatedAt'>) => Omit<Overlay, 'updatedAt'>,
  ): Promise<void> {
    return this.serially(async () => {
      await this.writeOverlay(name, change);
      await this.applyEffective(await this.effective());
    });
  }

  private async writeOverlay(
    name: string,
    change: (o: Omit<Overlay, 'updatedAt'>) => Omit<Overlay, 'updatedAt'>,
  ): Promise<void> {
    const current = this.overlays.get(name) ?? {
      endpointId: name,
      disabled: false,
      disabledTools: [],
      updatedAt: 0,
    };
    const next = change(current);
    const stored = this.options.store
      ? await this.options.store.overlays.put(next)
      : { ...next, updatedAt: Date.now() };
    this.overlays.set(name, stored);
  }

  /**
   * Asks an endpoint to reconnect at once (a person's "retry now"), on whichever instance holds
   * it. False when there is no such endpoint.
   */
  async retry(endpoint: string): Promise<boolean> {
    if (!this.sessions.has(endpoint)) return false;
    if (!this.cluster || this.leases.has(endpoint)) return this.retryHere(endpoint);
    const [holder = ''] = await this.cluster.holders([endpoint]);
    // Nobody holds it: the next claim round connects it anyway.
    if (holder === '') return true;
    const answer = await this.cluster.send(holder, { type: 'retry', endpoint });
    if (answer === undefined)
      throw new HubError(
        'OWNER_UNREACHABLE',
        `${holder}, which serves ${endpoint}, did not answer within a second`,
      );
    return true;
  }

  private retryHere(endpoint: string): boolean {
    const session = this.sessions.get(endpoint);
    session?.link.retryNow();
    return session !== undefined;
  }

  /**
   * A tool of a known server that is not ready (its tools left the catalog), by the name it
   * had, and only if `endpoint` (when given) would get it; undefined: the tool is unknown.
   */
  private absentTool(name: string, endpoint?: EndpointConfig): CatalogEntry | undefined {
    const servers = [...this.upstreams.entries()].map(([server, u]) => ({
      server,
      tools: u.tools,
      ready: u.status.state === 'ready',
    }));
    const entry = absentEntry(name, servers);
    if (!entry || (endpoint && catalogFor([entry], endpoint).length === 0)) return undefined;
    return entry;
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
    const limits = this.config.hub.limits;
    const upstream = new Upstream(config, {
      logger: this.options.logger,
      maxResultBytes: limits.resultBytes,
      maxArgumentsBytes: limits.argumentsBytes,
    });
    this.upstreams.set(config.name, upstream);
    upstream.on('tools', () => this.rebuild());
    upstream.on('state', (status) => {
      this.notifier.serverState(config.name, status.state, status);
      this.emit('server', config.name);
      this.rebuild();
    });
    await upstream.start();
  }

  /**
   * A live edit of the hub's own settings. Sessions read the settings at every use; the
   * monitor is rescheduled; the listener's address cannot move under its clients, so a change
   * of host or port is said to need a restart rather than claimed applied.
   */
  private applyHub(before: HubSettings, after: HubSettings): void {
    if (before.host !== after.host || before.port !== after.port)
      this.options.logger.warn(
        { before: `${before.host}:${before.port}`, after: `${after.host}:${after.port}` },
        'hub.host or hub.port changed: the HTTP listener stays where it is until a restart',
      );
    if (!isDeepStrictEqual(before.monitor, after.monitor)) {
      this.scheduleMonitor();
      // The heartbeat reaches the running links at once, no reconnect needed.
      const wanted = new Map(this.config.endpoints.map((e) => [e.name, e]));
      for (const [name, session] of this.sessions) {
        const monitor = { ...after.monitor, ...wanted.get(name)?.monitor };
        session.link.configure({
          pingIntervalMs: monitor.heartbeatIntervalMs,
          maxMissedPongs: monitor.heartbeatMisses,
        });
      }
    }
  }

  private startSession(config: EndpointConfig): void {
    if (!this.started) return;
    const current = () => this.config.hub;
    this.toolViews.set(config.name, config);
    const session = new EndpointSession(config, {
      logger: this.options.logger.child({ endpoint: config.name }),
      // Read at every use, so a live edit of hub settings (timeouts, budgets, early replies)
      // reaches running sessions.
      get settings() {
        return current();
      },
      health: this.healthOf(config.name),
      tools: () => catalogFor(this.catalog, this.toolViews.get(config.name) ?? config),
      callTool: (entry, args, options) => this.invoke(entry, args, options),
      absentTool: (name) => this.absentTool(name, this.toolViews.get(config.name) ?? config),
      linkOptions: {
        // Frames over the limit are refused by ws from their header, before any is buffered.
        socketFactory: wsSocketFactory({ maxPayload: this.config.hub.limits.frameBytes }),
        ...linkOptionsFrom({ ...this.config.hub.monitor, ...config.monitor }),
        connectBudget: this.connectBudget,
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
          this.emit('transition', config.name, t);
          this.emit('endpoint', config.name);
        },
        call: (entry) => {
          this.mirror?.toolCall(entry);
          this.emit('call', entry);
          this.cluster?.publish({ type: 'call', from: this.instance, call: entry });
        },
      },
      ...(this.options.version ? { version: this.options.version } : {}),
    });
    this.sessions.set(config.name, session);
    // With a cluster, the claim rounds take endpoints by share; otherwise every one is tried.
    if (this.cluster) this.claimSoon();
    else this.claim(config.name);
  }

  /** Ownership first: on one node it is immediate; on several, only the lease holder connects. */
  private claim(name: string): void {
    const session = this.sessions.get(name);
    if (!session || this.leases.has(name) || this.claiming.has(name)) return;
    this.claiming.add(name);
    void this.ownership
      .acquire(name)
      .then(async (lease) => {
        if (!lease) return;
        if (this.sessions.get(name) !== session || !this.started) {
          await this.ownership.release(lease);
          return;
        }
        this.leases.set(name, lease);
        session.start();
      })
      .catch((error: Error) =>
        this.options.logger.warn({ err: error, endpoint: name }, 'could not claim the endpoint'),
      )
      .finally(() => this.claiming.delete(name));
  }

  /**
   * Another instance owns the endpoint now: our socket closes at once, and a fresh, unclaimed
   * session waits to be claimed again once the socket is gone.
   */
  private surrender(name: string, why: string): void {
    if (this.sessions.has(name))
      this.options.logger.warn({ endpoint: name, why }, `endpoint ${name}: handed over (${why})`);
    // Cut at once, not closed politely: the lease is gone, and the next owner may connect
    // before a polite close would have finished.
    void this.dropSession(name, why, undefined, 0);
  }

  /**
   * Closes our socket for the endpoint, then runs `afterClose` (releasing the lease: nobody can
   * take it while the socket is open), and leaves a fresh, unclaimed session in its place if
   * the endpoint is still wanted.
   */
  private dropSession(
    name: string,
    why: string,
    afterClose?: () => Promise<void>,
    graceMs?: number,
  ): Promise<void> {
    const session = this.sessions.get(name);
    this.leases.delete(name);
    this.remote.delete(name);
    if (!session) return Promise.resolve();
    this.sessions.delete(name);
    return session
      .stop(1001, why, graceMs)
      .then(afterClose)
      .catch(() => {})
      .finally(() => {
        const wanted = this.config.endpoints.find((e) => e.name === name);
        if (this.started && wanted && !this.sessions.has(name)) this.startSession(wanted);
      });
  }

  /** Shared ownership: a claim round every claim interval (and soon after a change). */
  private scheduleClaims(): void {
    clearTimeout(this.claimTimer);
    this.claimTimer = setTimeout(() => {
      if (!this.started) return;
      void this.claimRound(true).finally(() => this.scheduleClaims());
    }, this.options.claimIntervalMs ?? 1_000);
    this.claimTimer.unref();
  }

  private claimSoonTimer: NodeJS.Immediate | undefined;

  private claimSoon(): void {
    if (this.claimSoonTimer || !this.started) return;
    this.claimSoonTimer = setImmediate(() => {
      this.claimSoonTimer = undefined;
      void this.claimRound();
    });
  }

  /**
   * One round: take what is missing from this instance's share among the endpoints nobody
   * holds, or give up some when over it (coord/balance.ts); every few rounds, reread the
   * owners' live status of the endpoints held elsewhere, in case an event was missed.
   */
  private async claimRound(scheduled = false): Promise<void> {
    if (!this.started) return;
    // One round at a time; a round asked for meanwhile runs right after (a neighbour left).
    if (this.claimRunning) {
      this.claimAgain = true;
      return;
    }
    this.claimRunning = true;
    try {
      const names = [...this.sessions.keys()];
      if (this.cluster && this.claimRounds++ % 5 === 0) await this.refreshRemote(names);
      const instances = this.cluster?.members().length ?? 1;
      // Not before the others are known; and claims still being acquired count as held, or a
      // slow acquisition would make every round claim another share.
      if (this.cluster && !this.cluster.joined) return;
      const held = this.leases.size + this.claiming.size;
      const { claim, shed } = this.balancer.next(
        names.length,
        instances,
        held,
        this.lowestElsewhere(),
      );
      // Shedding keeps the pace of the scheduled rounds (gradual), whatever triggers extra ones.
      if (shed > 0 && scheduled) this.shed(shed);
      const free = names.filter((n) => !this.leases.has(n) && !this.claiming.has(n));
      let candidates = free;
      if (this.cluster && free.length > 0) {
        const holders = await this.cluster.holders(free);
        // Ours already (a lease kept after its socket went, e.g. a fenced-out write): acquire
        // hands it back, so it is claimed like a free one, never left unserved.
        candidates = free.filter((_, i) => holders[i] === '' || holders[i] === this.instance);
      }
      // Free for a whole round already: whoever is meant to take it has not (an instance that
      // died has not left the count yet, or the count is stale). Anyone takes it now, over its
      // share if need be — balancing evens it out later. Not what we just gave away ourselves.
      const now = Date.now();
      const overdue = candidates.filter(
        (n) => this.seenFree.has(n) && now - (this.handedOver.get(n) ?? 0) > 5_000,
      );
      this.seenFree = new Set(candidates);
      for (const [name, at] of this.handedOver) if (now - at > 5_000) this.handedOver.delete(name);
      const isOverdue = new Set(overdue);
      // The rest up to the share: first those that rendezvous hashing gives to this instance,
      // so that instances claiming at once (a neighbour left) split the free endpoints without
      // colliding; then any, in an order of our own.
      const members = this.cluster?.members() ?? [this.instance];
      const mine: string[] = [];
      const others: string[] = [];
      for (const n of candidates)
        if (!isOverdue.has(n))
          (preferredOwner(n, members) === this.instance ? mine : others).push(n);
      const wanted = Math.max(0, claim - overdue.length);
      for (const name of [...overdue, ...[...mine, ...shuffled(others)].slice(0, wanted)])
        this.claim(name);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'claim round failed');
    } finally {
      this.claimRunning = false;
      if (this.claimAgain) {
        this.claimAgain = false;
        this.claimSoon();
      }
    }
  }

  /**
   * Rereads the owners' status of the endpoints held elsewhere, in case an event was missed:
   * from Redis, or from PostgreSQL when Redis cannot be reached (cut off, this instance's view
   * would otherwise freeze at the moment of the cut).
   */
  private async refreshRemote(names: readonly string[]): Promise<void> {
    const elsewhere = names.filter((n) => !this.leases.has(n));
    let rows: EndpointStatusRow[];
    try {
      rows = await this.cluster!.readStatus(elsewhere);
    } catch {
      const wanted = new Set(elsewhere);
      rows = ((await this.options.store?.status.list().catch(() => [])) ?? []).filter((r) =>
        wanted.has(r.endpointId),
      );
    }
    this.remote = new Map(rows.map((r) => [r.endpointId, r]));
  }

  /** The fewest endpoints another live instance holds, by the owners' status rows we have. */
  private lowestElsewhere(): number | undefined {
    const others = (this.cluster?.members() ?? []).filter((m) => m !== this.instance);
    if (others.length === 0) return undefined;
    const counts = new Map(others.map((m) => [m, 0]));
    for (const row of this.remote.values())
      if (counts.has(row.owner)) counts.set(row.owner, counts.get(row.owner)! + 1);
    return Math.min(...counts.values());
  }

  /** Gives up `count` endpoints (idle ones first) so that instances below their share take them. */
  private shed(count: number): void {
    const held = [...this.leases.keys()]
      .map((name) => ({ name, busy: this.sessions.get(name)?.status.callsInFlight ?? 0 }))
      .sort((a, b) => a.busy - b.busy)
      .slice(0, count);
    const released = held.map(({ name }) => {
      this.handedOver.set(name, Date.now());
      return this.handOver(name, 'handed to another instance (balancing)');
    });
    // Told once they are free, instances below their share claim them now, not a round later.
    void Promise.all(released).then(() =>
      this.cluster?.publish({ type: 'freed', from: this.instance }),
    );
  }

  /** Closes our socket, then releases the lease: nobody can take it while the socket is open. */
  private handOver(name: string, why: string): Promise<void> {
    const lease = this.leases.get(name);
    if (!lease || !this.sessions.has(name)) return Promise.resolve();
    this.options.logger.info({ endpoint: name }, `endpoint ${name}: ${why}`);
    return this.dropSession(name, why, () => this.ownership.release(lease));
  }

  private onClusterEvent(event: ClusterEvent): void {
    switch (event.type) {
      case 'status': {
        const name = event.row.endpointId;
        if (this.leases.has(name) || !this.sessions.has(name)) return;
        this.remote.set(name, event.row);
        this.emit('endpoint', name);
        return;
      }
      case 'call':
        this.emit('call', event.call, true);
        return;
      case 'changed':
        void this.resync();
        return;
      case 'left':
      case 'freed':
        // Endpoints are free now: the shares are recounted and taken at once.
        this.claimSoon();
        return;
    }
  }

  private async onClusterCommand(command: { type: 'retry'; endpoint: string }): Promise<boolean> {
    if (!this.leases.has(command.endpoint)) return false;
    return this.retryHere(command.endpoint);
  }

  /** Rereads what another instance may have changed in the store: overlays and definitions. */
  private async resync(): Promise<void> {
    const store = this.options.store;
    if (!store || !this.started) return;
    try {
      const overlays = await store.overlays.list();
      this.overlays.clear();
      for (const overlay of overlays) this.overlays.set(overlay.endpointId, overlay);
      await this.reconcile();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not reread the shared configuration');
    }
  }

  /** Tells the other instances that definitions or overlays changed in the store. */
  private changed(): void {
    this.cluster?.publish({ type: 'changed', from: this.instance });
  }

  /** Config-file entries are provisioned into the store: updated from the file, read-only through the API. */
  private async provision(): Promise<void> {
    const store = this.options.store!;
    await store.endpoints.provision(
      this.fileConfig.endpoints.map((e) => ({
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
      this.fileConfig.servers.map((s) => {
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
    }, this.sweepIntervalMs());
    this.monitorTimer.unref();
  }

  /** The sweep runs as often as the most demanding endpoint asks (its own checkIntervalMs). */
  private sweepIntervalMs(): number {
    let ms = this.config.hub.monitor.checkIntervalMs;
    for (const e of this.config.endpoints) ms = Math.min(ms, e.monitor?.checkIntervalMs ?? ms);
    return ms;
  }

  /** When each endpoint was last checked for being a zombie. */
  private readonly checkedAt = new Map<string, number>();

  /** One monitor pass; returns the endpoints it found to be zombies. */
  checkOnce(now = Date.now()): string[] {
    const zombies: string[] = [];
    const wantedByName = new Map(this.config.endpoints.map((e) => [e.name, e]));
    for (const wanted of this.config.endpoints) {
      if (!this.sessions.has(wanted.name)) this.startSession(wanted);
    }
    for (const [name, session] of this.sessions) {
      const wanted = wantedByName.get(name);
      if (!wanted) {
        this.sessions.delete(name);
        this.checkedAt.delete(name);
        const lease = this.leases.get(name);
        this.leases.delete(name);
        void session
          .stop(1000, 'removed')
          .then(() => lease && this.ownership.release(lease))
          .catch(() => {});
        continue;
      }
      // Each endpoint is checked at its own interval (hub.monitor's unless it sets one).
      const every = wanted.monitor?.checkIntervalMs ?? this.config.hub.monitor.checkIntervalMs;
      // A little early is on time: timers drift by a few ms.
      if (now - (this.checkedAt.get(name) ?? -Infinity) < every * 0.9) continue;
      this.checkedAt.set(name, now);
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
    this.emit('tools');
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

/** Two definitions of an endpoint that differ at most in which tools and servers it gets. */
function sameButTools(a: EndpointConfig, b: EndpointConfig): boolean {
  const strip = ({ tools: _t, servers: _s, ...rest }: EndpointConfig) => JSON.stringify(rest);
  return strip(a) === strip(b);
}

function shuffled<T>(list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Rendezvous (highest random weight) hashing: the member an endpoint goes to by default. */
function preferredOwner(name: string, members: readonly string[]): string {
  let best = '';
  let bestWeight = -1;
  for (const member of members) {
    const weight = fnv1a(`${name}\u0000${member}`);
    if (weight > bestWeight || (weight === bestWeight && member < best)) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // MurmurHash3's finalizer: the last characters (the member's name) move every bit.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
