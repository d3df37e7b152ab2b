import type { Transition } from '@tether/link';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { EndpointConfig, HubSettings, ServerConfig } from '../config/types.js';
import type { ServedTools } from '../endpoint/served.js';
import type { EndpointStatus } from '../endpoint/status.js';
import type { CallMeta, Store, ToolCallEntry } from '../store/types.js';
import type { CallOptions, ToolResult, UpstreamStatus } from '../upstream/types.js';
import type { EndpointInput } from './admin.js';

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

/** An endpoint's status and which instance serves it ('' while unknown). */
export type OwnedEndpointStatus = EndpointStatus & { owner: string };

/**
 * What the hub offers its front ends (the HTTP API, its event stream, the metrics): they
 * depend on this port, not on the class that composes the hub.
 */
export interface HubPort {
  readonly instance: string;
  readonly running: boolean;
  readonly store: Store | undefined;
  readonly settings: HubSettings;
  on<E extends keyof HubEvents>(event: E, listener: (...args: HubEvents[E]) => void): unknown;
  off<E extends keyof HubEvents>(event: E, listener: (...args: HubEvents[E]) => void): unknown;
  endpoints(): OwnedEndpointStatus[];
  endpoint(name: string): OwnedEndpointStatus | undefined;
  servers(): UpstreamStatus[];
  tools(): Array<CatalogEntry & { endpoints: string[] }>;
  /**
   * What `/mcp` serves: every tool of every ready server, or with `endpoint` exactly what that
   * endpoint is sent and may call (its servers, globs, tool switches and budget:
   * endpoint/served.ts); undefined when there is no such endpoint. The same object until the
   * catalog or the endpoint's definition changes.
   */
  servedTools(endpoint?: string): ServedTools | undefined;
  /**
   * A call by exposed name, logged with `how.meta`; with `how.endpoint`, only a tool that
   * endpoint may call.
   */
  callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    options?: Partial<CallOptions>,
    how?: { endpoint?: string; meta?: CallMeta },
  ): Promise<ToolResult>;
  definitions(): EndpointConfig[];
  /** One endpoint's definition, without a pass over all of them (the event stream's path). */
  definition(name: string): EndpointConfig | undefined;
  serverDefinitions(): ServerConfig[];
  fileServerNames(): Set<string>;
  setEnabled(name: string, enabled: boolean): Promise<void>;
  setTool(name: string, tool: string, enabled: boolean): Promise<void>;
  endpointTools(name: string): Array<{ name: string; server: string; enabled: boolean }>;
  saveEndpoint(row: EndpointInput, creating: boolean): Promise<void>;
  deleteEndpoint(name: string): Promise<void>;
  saveServer(config: ServerConfig, creating: boolean): Promise<void>;
  deleteServer(name: string): Promise<void>;
  restartServer(name: string): Promise<void>;
  retry(endpoint: string): Promise<boolean>;
}
