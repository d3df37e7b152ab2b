import type { Clock } from '@tether/link';
import { catalogFor } from '../catalog/catalog.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { EndpointConfig, ServerConfig, TetherConfig, ToolFilter } from '../config/types.js';
import type { Overlay, Store } from '../store/types.js';
import { HubError } from './errors.js';

type OverlayChange = (o: Omit<Overlay, 'updatedAt'>) => Omit<Overlay, 'updatedAt'>;

export interface EndpointInput {
  name: string;
  url: string;
  enabled: boolean;
  tools: ToolFilter;
  servers: string[] | null;
}

export interface AdminPorts {
  /** Absent: the hub keeps definitions in the file only, and CRUD is refused. */
  store?: Store;
  clock: Clock;
  /** The definitions in force (file, API, overlays). */
  config(): TetherConfig;
  /** The file's definitions alone (read-only through the API). */
  fileConfig(): TetherConfig;
  catalog(): readonly CatalogEntry[];
  /** Brings what runs in line with the definitions; changes run one at a time. */
  reconcile(): Promise<void>;
  /** Runs `work` and then reconciles, as one change (no other change in between). */
  changeThenReconcile(work: () => Promise<void>): Promise<void>;
  /** Tells the other instances that definitions or overlays changed in the store. */
  changed(): void;
  /** The live status of a removed endpoint is forgotten cluster-wide. */
  forget(name: string): Promise<void>;
}

/**
 * A person's changes: endpoints and servers created through the API, and the overlays an
 * operator puts on any endpoint (switched off, tools switched off). Each change is written to
 * the store first, then reconciled, then told to the other instances.
 */
export class Admin {
  /** Overlays by endpoint; `effectiveConfig` lays them over the definitions. */
  readonly overlays = new Map<string, Overlay>();

  constructor(private readonly ports: AdminPorts) {}

  /** Rereads the overlays (at start, and when another instance changed them). */
  async loadOverlays(): Promise<void> {
    const overlays = (await this.ports.store?.overlays.list()) ?? [];
    this.overlays.clear();
    for (const overlay of overlays) this.overlays.set(overlay.endpointId, overlay);
  }

  /** Switches an endpoint on or off: an overlay, allowed on provisioned endpoints too. */
  async setEnabled(name: string, enabled: boolean): Promise<void> {
    this.known(name);
    await this.putOverlay(name, (o) => ({ ...o, disabled: !enabled }));
    this.ports.changed();
  }

  /** Switches one tool on or off for one endpoint. */
  async setTool(name: string, tool: string, enabled: boolean): Promise<void> {
    this.known(name);
    await this.putOverlay(name, (o) => ({
      ...o,
      disabledTools: enabled
        ? o.disabledTools.filter((t) => t !== tool)
        : [...new Set([...o.disabledTools, tool])],
    }));
    this.ports.changed();
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
    return catalogFor(this.ports.catalog(), base).map((e) => ({
      name: e.name,
      server: e.server,
      enabled: !off.has(e.name),
    }));
  }

  async saveEndpoint(row: EndpointInput, creating: boolean): Promise<void> {
    const store = this.requireStore();
    const config = this.ports.config();
    const existing = config.endpoints.find((e) => e.name === row.name);
    if (creating && existing)
      throw new HubError('CONFLICT', `an endpoint named ${row.name} exists`);
    if (!creating && !existing) throw new HubError('NOT_FOUND', `no endpoint ${row.name}`);
    if (existing && existing.source !== 'api')
      throw new HubError(
        'READ_ONLY',
        `${row.name} comes from the ${existing.source === 'env' ? 'MCP_ENDPOINT variable' : 'configuration file'}; edit it there`,
      );
    for (const server of row.servers ?? []) {
      if (!config.servers.some((s) => s.name === server))
        throw new HubError('NOT_FOUND', `no server ${server}`);
    }
    await store.endpoints.put({ id: row.name, source: 'api', overrides: {}, ...row });
    await this.ports.reconcile();
    this.ports.changed();
  }

  async deleteEndpoint(name: string): Promise<void> {
    const store = this.requireStore();
    const existing = this.known(name);
    if (existing.source !== 'api')
      throw new HubError('READ_ONLY', `${name} comes from the configuration; remove it there`);
    await store.endpoints.remove(name);
    await store.overlays.remove(name);
    this.overlays.delete(name);
    await this.ports.reconcile();
    this.ports.changed();
    await this.ports.forget(name).catch(() => {});
  }

  async saveServer(config: ServerConfig, creating: boolean): Promise<void> {
    const store = this.requireStore();
    const existing = this.ports.config().servers.find((s) => s.name === config.name);
    if (creating && existing)
      throw new HubError('CONFLICT', `a server named ${config.name} exists`);
    if (!creating && !existing) throw new HubError('NOT_FOUND', `no server ${config.name}`);
    if (existing && this.fromFile(config.name))
      throw new HubError(
        'READ_ONLY',
        `${config.name} comes from the configuration file; edit it there`,
      );
    const { name, enabled, ...rest } = config;
    await store.servers.put({
      id: name,
      name,
      enabled,
      source: 'api',
      config: rest as Record<string, unknown>,
    });
    await this.ports.reconcile();
    this.ports.changed();
  }

  async deleteServer(name: string): Promise<void> {
    const store = this.requireStore();
    if (!this.ports.config().servers.some((s) => s.name === name))
      throw new HubError('NOT_FOUND', `no server ${name}`);
    if (this.fromFile(name))
      throw new HubError('READ_ONLY', `${name} comes from the configuration file; remove it there`);
    await store.servers.remove(name);
    await this.ports.reconcile();
    this.ports.changed();
  }

  /** An endpoint's definition in force, or NOT_FOUND. */
  known(name: string): EndpointConfig {
    const endpoint = this.ports.config().endpoints.find((e) => e.name === name);
    if (!endpoint) throw new HubError('NOT_FOUND', `no endpoint ${name}`);
    return endpoint;
  }

  private fromFile(server: string): boolean {
    return this.ports.fileConfig().servers.some((s) => s.name === server);
  }

  private requireStore(): Store {
    if (!this.ports.store) throw new HubError('NO_STORE', 'this hub runs without a store');
    return this.ports.store;
  }

  /** Two overlay edits at once could each read the state before the other wrote it. */
  private putOverlay(name: string, change: OverlayChange): Promise<void> {
    return this.ports.changeThenReconcile(async () => {
      const current = this.overlays.get(name) ?? {
        endpointId: name,
        disabled: false,
        disabledTools: [],
        updatedAt: 0,
      };
      const next = change(current);
      const stored = this.ports.store
        ? await this.ports.store.overlays.put(next)
        : { ...next, updatedAt: this.ports.clock.now() };
      this.overlays.set(name, stored);
    });
  }
}
