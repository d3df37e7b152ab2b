import { EventEmitter } from 'node:events';
import { wsSocketFactory } from '@tether/link/node';
import { ConnectBudget, systemClock } from '@tether/link';
import type { Clock, LinkOptions, SocketFactory } from '@tether/link';
import { CallRouter } from './calls/router.js';
import { catalogFor } from './catalog/catalog.js';
import type { CatalogEntry } from './catalog/catalog.js';
import type {
  EndpointConfig,
  MonitorSettings,
  ServerConfig,
  TetherConfig,
} from './config/types.js';
import { ClaimRounds } from './coord/claims.js';
import type { ClusterEvent, ClusterPort } from './coord/cluster.js';
import { LocalOwnership } from './coord/ownership.js';
import type { Ownership } from './coord/ownership.js';
import { servedTools } from './endpoint/served.js';
import type { ServedTools } from './endpoint/served.js';
import { EndpointSession } from './endpoint/session.js';
import { Admin } from './hub/admin.js';
import { HubError } from './hub/errors.js';
import type { HubEvents, HubPort, OwnedEndpointStatus } from './hub/port.js';
import type { EndpointInput } from './hub/admin.js';
import { effectiveConfig, provision } from './hub/definitions.js';
import { reconcile } from './hub/reconcile.js';
import { SessionTable } from './hub/sessions.js';
import { UpstreamPool } from './hub/upstreams.js';
import type { Logger } from './log/logger.js';
import type { JobStore } from './endpoint/jobs.js';
import type { HealthTracker } from './monitor/health.js';
import { StatusMirror } from './monitor/mirror.js';
import { Sweep } from './monitor/sweep.js';
import { Notifier } from './notify/index.js';
import type { CallMeta, Store } from './store/types.js';
import type { CallOptions, ToolResult, UpstreamStatus } from './upstream/types.js';
import { UpstreamError } from './upstream/types.js';

export { HubError } from './hub/errors.js';
export type { HubErrorCode } from './hub/errors.js';
export type { HubEvents, HubPort } from './hub/port.js';

export interface HubOptions {
  logger: Logger;
  /** This process's name in status rows, timelines and the API. */
  instance?: string;
  /** Time for the hub's own timers and every endpoint session's. Default: the system clock. */
  clock?: Clock;
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
  /** How long an endpoint has to send `initialize` (EndpointSessionDeps.handshakeTimeoutMs). */
  handshakeTimeoutMs?: number;
  /** The call log is pruned to this many rows and this age at every sweep. */
  callLog?: { maxRows?: number; maxAgeMs?: number };
  version?: string;
}

/**
 * The hub: upstream servers, the aggregated catalog, and one session per endpoint. Composition
 * and start/stop happen here and nowhere else; each part only knows the ports it is given
 * (docs/architecture.md, "hub"):
 *
 *   UpstreamPool (hub/upstreams.ts)  servers and the catalog
 *   CallRouter   (calls/router.ts)   which server answers a tool, and the API's calls
 *   SessionTable (hub/sessions.ts)   one session per endpoint, and the leases
 *   ClaimRounds  (coord/claims.ts)   which endpoints this instance serves in a cluster
 *   Admin        (hub/admin.ts)      a person's changes: CRUD and overlays
 *   reconcile    (hub/reconcile.ts)  from one configuration to the next
 *   Sweep        (monitor/sweep.ts)  zombie sockets, and the safety net under reconcile
 */
export class Hub extends EventEmitter<HubEvents> implements HubPort {
  readonly instance: string;
  private config: TetherConfig;
  /** The file's configuration; `config` is it plus API entries and operator overlays. */
  private fileConfig: TetherConfig;
  private started = false;
  private readonly clock: Clock;
  private readonly ownership: Ownership;
  private readonly cluster: ClusterPort | undefined;
  private readonly mirror: StatusMirror | undefined;
  private readonly notifier: Notifier;
  private readonly upstreams: UpstreamPool;
  private readonly router: CallRouter;
  private readonly sessions: SessionTable;
  private readonly claims: ClaimRounds | undefined;
  private readonly admin: Admin;
  private readonly sweep: Sweep;
  /**
   * One budget for every endpoint's connection attempts: when the endpoint host comes back
   * after taking thousands of sockets with it, they return spread out, not all in one burst.
   */
  private readonly connectBudget: ConnectBudget;
  private reconciling: Promise<void> = Promise.resolve();
  /**
   * Each endpoint's tools, by catalog and by definition: sessions ask at every handshake,
   * status read and call, and endpoints with the same definition share one array (and so one
   * serialised tool set). Both keys are replaced, never changed, when anything changes.
   */
  private readonly toolViews = new WeakMap<
    readonly CatalogEntry[],
    WeakMap<EndpointConfig, CatalogEntry[]>
  >();
  /** One socket factory per frame limit, shared by every endpoint's link. */
  private socketFactory: { frameBytes: number; factory: SocketFactory } | undefined;

  constructor(
    config: TetherConfig,
    private readonly options: HubOptions,
  ) {
    super();
    const { logger } = options;
    this.config = config;
    this.fileConfig = config;
    this.instance = options.instance ?? 'local';
    this.clock = options.clock ?? systemClock;
    this.ownership = options.ownership ?? new LocalOwnership(this.instance, this.clock.now());
    this.cluster = options.cluster;
    this.connectBudget = new ConnectBudget({ clock: this.clock });
    this.notifier = new Notifier({
      channels: () => this.config.notifications,
      clock: this.clock,
      logger: logger.child({ part: 'notify' }),
      downAfterMs: config.hub.notifyDownAfterMs,
      ...options.notify,
    });
    this.upstreams = new UpstreamPool({
      logger,
      clock: this.clock,
      settings: () => this.config.hub,
      definition: (name) => this.config.servers.find((s) => s.name === name),
      onState: (name, status) => {
        this.notifier.serverState(name, status.state, status);
        this.emit('server', name);
      },
      onCatalog: () => {
        this.sessions.toolsChanged();
        this.emit('tools');
      },
    });
    this.router = new CallRouter({
      clock: this.clock,
      catalog: () => this.upstreams.catalog,
      upstreams: () => this.upstreams.upstreams,
      serverTimeoutMs: (name) => this.config.servers.find((s) => s.name === name)?.timeoutMs,
      toolPrefix: (name) => this.config.servers.find((s) => s.name === name)?.toolPrefix,
      callTimeoutMs: () => this.config.hub.callTimeoutMs,
      record: (call) => {
        this.mirror?.toolCall(call);
        this.emit('call', call);
      },
    });
    this.sessions = new SessionTable({
      logger,
      clock: this.clock,
      ownership: this.ownership,
      wanted: (name) => this.definition(name),
      running: () => this.started,
      create: (endpoint, view, health, jobs) => this.createSession(endpoint, view, health, jobs),
      // With a cluster, the claim rounds take endpoints by share; otherwise every one is tried.
      placed: (name) =>
        this.claims && this.cluster ? this.claims.claimSoon() : this.sessions.claim(name),
      dropped: (name) => this.claims?.forget(name),
    });
    const sessions = this.sessions;
    const shared = !(this.ownership instanceof LocalOwnership);
    this.claims = shared
      ? new ClaimRounds({
          instance: this.instance,
          ...(this.cluster ? { cluster: this.cluster } : {}),
          table: {
            names: () => this.sessions.names(),
            has: (name) => this.sessions.has(name),
            holds: (name) => this.sessions.holds(name),
            isFree: (name) => this.sessions.isFree(name),
            get heldCount() {
              return sessions.heldCount;
            },
            heldNames: () => this.sessions.heldNames(),
            busy: (name) => this.sessions.get(name)?.status.callsInFlight ?? 0,
            claim: (name) => this.sessions.claim(name),
            handOver: (name, why) => this.sessions.handOver(name, why),
          },
          logger,
          clock: this.clock,
          ...(options.store ? { store: options.store } : {}),
          ...(options.claimIntervalMs !== undefined ? { intervalMs: options.claimIntervalMs } : {}),
          onRemote: (name) => this.emit('endpoint', name),
        })
      : undefined;
    this.admin = new Admin({
      ...(options.store ? { store: options.store } : {}),
      clock: this.clock,
      config: () => this.config,
      fileConfig: () => this.fileConfig,
      catalog: () => this.upstreams.catalog,
      reconcile: () => this.reconcile(),
      changeThenReconcile: (work) =>
        this.serially(async () => {
          await work();
          await this.applyEffective();
        }),
      changed: () => this.cluster?.publish({ type: 'changed', from: this.instance }),
      forget: (name) => this.cluster?.forget(name) ?? Promise.resolve(),
    });
    this.sweep = new Sweep({
      clock: this.clock,
      logger,
      intervalMs: () => this.sweepIntervalMs(),
      checkIntervalMs: (name) =>
        this.definition(name)?.monitor?.checkIntervalMs ?? this.config.hub.monitor.checkIntervalMs,
      links: () => [...this.sessions.entries()].map(([name, s]) => [name, s.link] as const),
      align: () => this.sessions.align(this.config.endpoints),
      tidy: () => {
        const { maxRows = 10_000, maxAgeMs = 7 * 24 * 3_600_000 } = options.callLog ?? {};
        void options.store?.toolCalls.prune(maxRows, maxAgeMs).catch(() => {});
        void options.store?.toolCalls.pruneHours().catch(() => {});
      },
    });
    this.cluster?.onEvent((event) => this.onClusterEvent(event));
    this.cluster?.onCommand((command) =>
      this.sessions.holds(command.endpoint) ? this.sessions.retry(command.endpoint) : false,
    );
    this.cluster?.onResync(() => void this.resync());
    // A lost lease or a fenced-out write means another instance owns the endpoint now: the
    // socket goes at once, so there is never a second one.
    this.ownership.onLost((name) => this.sessions.surrender(name, 'lease lost'));
    this.mirror =
      options.store &&
      new StatusMirror(
        options.store,
        this.instance,
        logger,
        (name) => this.sessions.surrender(name, 'fenced out'),
        this.cluster && ((row) => this.cluster!.writeStatus(row)),
        { clock: this.clock },
      );
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

  get notifications() {
    return this.notifier.stats();
  }

  async start(): Promise<void> {
    this.started = true;
    const store = this.options.store;
    if (store) {
      // Rows a crashed predecessor left "connected" are reset before anything else is said; in
      // a cluster only our own, since the others' rows are live.
      const reset = await store.status.resetStale(this.claims ? this.instance : undefined);
      if (reset > 0)
        this.options.logger.info(
          { rows: reset },
          'reset stale live status rows left by a previous run',
        );
      await provision(store, this.fileConfig);
      await this.admin.loadOverlays();
    }
    this.config = await this.effective();
    // The endpoints are dialled while the servers start: the endpoint's `initialize` is answered
    // at once and its `tools/list` waits, bounded, for the endpoint's servers (endpoint/server.ts,
    // TOOLS_WAIT_MS), so the first answer is complete and the dial costs no time of its own. A
    // relay says nothing until a device session starts: it is dialled once the servers are up,
    // as before, so the catalog filling in does not count as a change of the tools it never read.
    const servers = Promise.all(this.config.servers.map((server) => this.upstreams.start(server)));
    const relay = (e: EndpointConfig) => /\/mcp_endpoint\//.test(e.url);
    for (const endpoint of this.config.endpoints)
      if (!relay(endpoint)) this.sessions.start(endpoint);
    await servers;
    if (!this.started) return; // stopped while its servers started
    this.upstreams.rebuild();
    for (const endpoint of this.config.endpoints)
      if (relay(endpoint)) this.sessions.start(endpoint);
    this.sweep.start();
    this.claims?.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.sweep.stop();
    this.claims?.stop();
    await this.sessions.stopAll(1001, 'tether shutting down');
    // Sockets are closed: the leases go now, so other instances take the endpoints at once.
    await this.ownership.close();
    await this.cluster?.close();
    await this.upstreams.stopAll();
    await this.mirror?.flush();
    this.mirror?.close();
    this.notifier.close();
  }

  /** Resolves when every status and history write queued so far has landed. */
  async flush(): Promise<void> {
    await this.mirror?.flush();
  }

  /** Applies a new configuration file, restarting only what changed. */
  async apply(file: TetherConfig): Promise<void> {
    this.fileConfig = file;
    // Rows first: status and timeline rows belong to an endpoint row (and go with it).
    if (this.options.store) await provision(this.options.store, file);
    await this.reconcile();
  }

  /** Brings what runs in line with the file, the API's entries and the overlays. */
  reconcile(): Promise<void> {
    return this.serially(() => this.applyEffective());
  }

  /** One monitor pass (monitor/sweep.ts); returns the endpoints it found to be zombies. */
  checkOnce(now = this.clock.now()): string[] {
    return this.sweep.pass(now);
  }

  /**
   * Every endpoint's status with its owner: the supervisor's own truth for the endpoints held
   * here, the owner's mirrored row (at most a claim interval old) for those held elsewhere.
   */
  endpoints(): OwnedEndpointStatus[] {
    return this.sessions.names().map((name) => this.endpoint(name)!);
  }

  /** One endpoint's status with its owner (see endpoints()); undefined when there is none. */
  endpoint(name: string): OwnedEndpointStatus | undefined {
    const session = this.sessions.get(name);
    if (!session) return undefined;
    const status = session.status;
    if (!this.claims || this.sessions.holds(name)) return { ...status, owner: this.instance };
    const row = this.claims.remoteRow(name);
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
    return this.upstreams.statuses();
  }

  /** Every tool of every ready server, with the endpoints that see it. */
  tools(): Array<CatalogEntry & { endpoints: string[] }> {
    // From each endpoint's own tool view (computed once per catalog), not a filter per pair.
    const seenBy = new Map<string, string[]>();
    for (const e of this.config.endpoints)
      for (const tool of this.toolsOf(e)) {
        const names = seenBy.get(tool.name);
        if (names) names.push(e.name);
        else seenBy.set(tool.name, [e.name]);
      }
    return this.upstreams.catalog.map((entry) => ({
      ...entry,
      endpoints: seenBy.get(entry.name) ?? [],
    }));
  }

  servedTools(endpoint?: string): ServedTools | undefined {
    if (endpoint === undefined) {
      const catalog = this.upstreams.catalog;
      if (this.wholeCatalog?.listed !== catalog)
        this.wholeCatalog = { listed: catalog, allowed: catalog };
      return this.wholeCatalog;
    }
    const config = this.definition(endpoint);
    return config && servedTools(this.toolsOf(config), config.tools);
  }

  /** The whole catalog as a served set, one object per catalog. */
  private wholeCatalog: ServedTools | undefined;

  /**
   * Calls a tool by its exposed name, as the API, `tether call` and `/mcp` do. With
   * `how.endpoint` (`/mcp/<endpoint>`), a tool that endpoint may not call is unknown, as it is
   * to the endpoint.
   */
  callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    options: Partial<CallOptions> = {},
    how: { endpoint?: string; meta?: CallMeta } = {},
  ): Promise<ToolResult> {
    let repair = false;
    if (how.endpoint !== undefined) {
      const view = this.definition(how.endpoint);
      if (!view || !this.router.find(name, view))
        return Promise.reject(new UpstreamError('UPSTREAM_UNKNOWN_TOOL', `Unknown tool: ${name}`));
      // /mcp/<endpoint> speaks for the endpoint: its argument repair applies too.
      repair = view.tools.repairArguments === true;
    }
    return this.router.call(name, args, options, how.meta, repair);
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

  setEnabled(name: string, enabled: boolean): Promise<void> {
    return this.admin.setEnabled(name, enabled);
  }

  setTool(name: string, tool: string, enabled: boolean): Promise<void> {
    return this.admin.setTool(name, tool, enabled);
  }

  endpointTools(name: string): Array<{ name: string; server: string; enabled: boolean }> {
    return this.admin.endpointTools(name);
  }

  saveEndpoint(row: EndpointInput, creating: boolean): Promise<void> {
    return this.admin.saveEndpoint(row, creating);
  }

  deleteEndpoint(name: string): Promise<void> {
    return this.admin.deleteEndpoint(name);
  }

  saveServer(config: ServerConfig, creating: boolean): Promise<void> {
    return this.admin.saveServer(config, creating);
  }

  deleteServer(name: string): Promise<void> {
    return this.admin.deleteServer(name);
  }

  /**
   * Restarts one server on this instance and resolves once its first listing is done (ready or
   * failed: the status says which). Every instance of a cluster runs its own copy of each
   * server, so this restarts the copy of the instance asked.
   */
  restartServer(name: string): Promise<void> {
    return this.serially(async () => {
      const config = this.config.servers.find((s) => s.name === name);
      if (!config) throw new HubError('NOT_FOUND', `no server ${name}`);
      if (!config.enabled)
        throw new HubError('CONFLICT', `${name} is disabled; enable it before restarting it`);
      await this.upstreams.restart(config);
    });
  }

  /**
   * Asks an endpoint to reconnect at once (a person's "retry now"), on whichever instance holds
   * it. False when there is no such endpoint.
   */
  async retry(endpoint: string): Promise<boolean> {
    if (!this.sessions.has(endpoint)) return false;
    if (!this.cluster || this.sessions.holds(endpoint)) return this.sessions.retry(endpoint);
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

  private async effective(): Promise<TetherConfig> {
    const store = this.options.store;
    const [endpoints, servers] = store
      ? await Promise.all([store.endpoints.list(), store.servers.list()])
      : [[], []];
    return effectiveConfig(this.fileConfig, endpoints, servers, this.admin.overlays);
  }

  private async applyEffective(): Promise<void> {
    const next = await this.effective();
    const before = this.config;
    this.config = next;
    await reconcile(before, next, {
      logger: this.options.logger,
      upstreams: this.upstreams,
      sessions: this.sessions,
      sweep: this.sweep,
      removed: (name) => this.emit('endpoint-removed', name),
      changed: (name) => this.emit('endpoint', name),
    });
  }

  /**
   * An endpoint's definition by name, from an index made once per configuration: the sweep and
   * the session table ask for every endpoint, and a search of the list each time made a pass
   * over 10,000 endpoints quadratic.
   */
  definition(name: string): EndpointConfig | undefined {
    const list = this.config.endpoints;
    if (this.endpointIndex?.of !== list)
      this.endpointIndex = { of: list, byName: new Map(list.map((e) => [e.name, e])) };
    return this.endpointIndex.byName.get(name);
  }

  private endpointIndex:
    { of: readonly EndpointConfig[]; byName: Map<string, EndpointConfig> } | undefined;

  /** The hub's monitor settings with the endpoint's own on top. */
  private monitorOf(name: string): MonitorSettings {
    const own = this.definition(name)?.monitor;
    return { ...this.config.hub.monitor, ...own };
  }

  /** The sweep runs as often as the most demanding endpoint asks (its own checkIntervalMs). */
  private sweepIntervalMs(): number {
    let ms = this.config.hub.monitor.checkIntervalMs;
    for (const e of this.config.endpoints) ms = Math.min(ms, e.monitor?.checkIntervalMs ?? ms);
    return ms;
  }

  private toolsOf(view: EndpointConfig): CatalogEntry[] {
    const catalog = this.upstreams.catalog;
    let byView = this.toolViews.get(catalog);
    if (!byView) this.toolViews.set(catalog, (byView = new WeakMap()));
    let tools = byView.get(view);
    if (!tools) byView.set(view, (tools = catalogFor(catalog, view)));
    return tools;
  }

  private sockets(): SocketFactory {
    const frameBytes = this.config.hub.limits.frameBytes;
    if (this.socketFactory?.frameBytes !== frameBytes)
      // Frames over the limit are refused by ws from their header, before any is buffered.
      this.socketFactory = { frameBytes, factory: wsSocketFactory({ maxPayload: frameBytes }) };
    return this.socketFactory.factory;
  }

  /** The wiring of one endpoint's session: catalog, calls, link settings, reports. */
  private createSession(
    config: EndpointConfig,
    view: () => EndpointConfig,
    health: HealthTracker,
    jobs: () => JobStore,
  ): EndpointSession {
    const current = () => this.config.hub;
    return new EndpointSession(config, {
      logger: this.options.logger.child({ endpoint: config.name }),
      clock: this.clock,
      // Read at every use, so a live edit of hub settings (timeouts, budgets, early replies)
      // reaches running sessions.
      get settings() {
        return current();
      },
      health,
      jobs,
      tools: () => this.toolsOf(view()),
      // The filter as it is now, so a reload of the budget or the pinned tools applies live.
      filter: () => view().tools,
      // While its servers are in their first start, a tools/list waits for them (bounded).
      ready: () => this.upstreams.ready(view().servers),
      callTool: (entry, args, options) => this.router.invoke(entry, args, options),
      absentTool: (name) => this.router.absent(name, view()),
      linkOptions: {
        socketFactory: this.sockets(),
        ...linkOptionsFrom({ ...this.config.hub.monitor, ...config.monitor }),
        connectBudget: this.connectBudget,
        ...this.options.linkOptions,
      },
      ...(this.options.handshakeTimeoutMs !== undefined
        ? { handshakeTimeoutMs: this.options.handshakeTimeoutMs }
        : {}),
      report: {
        transition: (t, status) => {
          const lease = this.sessions.lease(config.name);
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
  }

  private onClusterEvent(event: ClusterEvent): void {
    switch (event.type) {
      case 'status':
        this.claims?.heard(event.row);
        return;
      case 'call':
        this.emit('call', event.call, true);
        return;
      case 'changed':
        void this.resync();
        return;
      case 'left':
      case 'freed':
        // Endpoints are free now: the shares are recounted and taken at once.
        this.claims?.claimSoon();
        return;
    }
  }

  /** Rereads what another instance may have changed in the store: overlays and definitions. */
  private async resync(): Promise<void> {
    if (!this.options.store || !this.started) return;
    try {
      await this.admin.loadOverlays();
      await this.reconcile();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not reread the shared configuration');
    }
  }
}

/** The monitor settings of the configuration, in the link's terms. */
function linkOptionsFrom(monitor: MonitorSettings): Partial<LinkOptions> {
  return {
    pingIntervalMs: monitor.heartbeatIntervalMs,
    maxMissedPongs: monitor.heartbeatMisses,
    backoff: { capMs: monitor.reconnectCooldownMs },
    maxFailures: monitor.maxAttempts,
    probeIntervalMs: monitor.probeIntervalMs,
  };
}
