import type { Clock } from '@tether/link';
import { absentEntry, catalogFor } from '../catalog/catalog.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { EndpointConfig } from '../config/types.js';
import type { CallMeta, ToolCallEntry } from '../store/types.js';
import type { CallOptions, ToolResult, UpstreamStatus, UpstreamTool } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';
import { repairCall } from '../repair/index.js';
import { callRecord, jsonBytes, outcomeOf } from './record.js';

/** What the router needs of a running upstream server. */
export interface RoutedUpstream {
  readonly tools: readonly UpstreamTool[];
  readonly status: Pick<UpstreamStatus, 'state'>;
  callTool(
    tool: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult>;
}

export interface RouterPorts {
  clock: Clock;
  /** The tools of the servers that are up. */
  catalog(): readonly CatalogEntry[];
  /** Every running upstream by server name. */
  upstreams(): ReadonlyMap<string, RoutedUpstream>;
  /** A server's own call timeout, when its definition sets one. */
  serverTimeoutMs(server: string): number | undefined;
  /** A server's `toolPrefix`, when its definition sets one (its tools' names begin with it). */
  toolPrefix?(server: string): string | undefined;
  /** The hub's call timeout, read at every call (a live edit applies at once). */
  callTimeoutMs(): number;
  /** The API's calls go into the same log as the endpoints' calls. */
  record(call: ToolCallEntry): void;
}

/** Calls by exposed tool name: which server, which of its tools, with which timeout. */
export class CallRouter {
  constructor(private readonly ports: RouterPorts) {}

  /**
   * The entry a call names: a tool of a ready server, or one of a known server that is down
   * (its tools left the catalog), so the caller hears that the server is restarting rather than
   * that the tool is unknown. With `endpoint`, only what that endpoint would get.
   */
  find(name: string, endpoint?: EndpointConfig): CatalogEntry | undefined {
    const catalog = endpoint ? catalogFor(this.ports.catalog(), endpoint) : this.ports.catalog();
    return catalog.find((e) => e.name === name) ?? this.absent(name, endpoint);
  }

  /** A tool of a known server that is not ready, by the name it had (see find()). */
  absent(name: string, endpoint?: EndpointConfig): CatalogEntry | undefined {
    const servers = [...this.ports.upstreams()].map(([server, u]) => {
      const prefix = this.ports.toolPrefix?.(server);
      return {
        server,
        tools: u.tools,
        ready: u.status.state === 'ready',
        ...(prefix !== undefined && { prefix }),
      };
    });
    const entry = absentEntry(name, servers);
    if (!entry || (endpoint && catalogFor([entry], endpoint).length === 0)) return undefined;
    return entry;
  }

  /** Sends the call to the entry's server with that server's timeout, if it sets one. */
  invoke(
    entry: CatalogEntry,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult> {
    const upstream = this.ports.upstreams().get(entry.server);
    if (!upstream)
      return Promise.reject(
        new UpstreamError('UPSTREAM_UNAVAILABLE', `server ${entry.server} is not running`),
      );
    return upstream.callTool(entry.tool, args, {
      ...options,
      timeoutMs: this.ports.serverTimeoutMs(entry.server) ?? options.timeoutMs,
    });
  }

  /**
   * A call from the API, `tether call` or `/mcp`, by exposed name, logged like an endpoint's;
   * `meta` says in the log which door it came through (and, from /mcp, which client).
   */
  async call(
    name: string,
    asSent: Record<string, unknown> | undefined,
    options: Partial<CallOptions> = {},
    asCame?: CallMeta,
    /** The endpoint the call speaks for (/mcp/<endpoint>) has argument repair on. */
    repair = false,
  ): Promise<ToolResult> {
    const entry = this.find(name);
    if (!entry) throw new UpstreamError('UPSTREAM_UNKNOWN_TOOL', `Unknown tool: ${name}`);
    const { args, meta } = repairCall(repair, entry.definition.inputSchema, asSent, asCame);
    const { clock } = this.ports;
    const started = clock.now();
    try {
      const result = await this.invoke(entry, args, {
        timeoutMs: this.ports.callTimeoutMs(),
        ...options,
      });
      this.ports.record(
        callRecord(
          null,
          entry,
          args,
          started,
          clock.now(),
          outcomeOf({ result }),
          jsonBytes(result),
          null,
          meta,
        ),
      );
      return result;
    } catch (error) {
      this.ports.record(
        callRecord(
          null,
          entry,
          args,
          started,
          clock.now(),
          outcomeOf({ error }),
          0,
          (error as Error).message,
          meta,
        ),
      );
      throw error;
    }
  }
}
