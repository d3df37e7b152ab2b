import type { ArgumentRepair } from '../repair/types.js';

export type { ArgumentRepair, RepairKind } from '../repair/types.js';

/**
 * The store port. Supervisors own the truth; the store mirrors it and keeps history. Nothing
 * outside `store/` touches a database driver or Kysely (the hub sees only this interface).
 */

/** An endpoint as stored. `source: 'file'` rows are provisioned from the config file (read-only through the API). */
export interface EndpointRow {
  id: string;
  name: string;
  url: string;
  enabled: boolean;
  source: 'file' | 'api';
  /** JSON: { include: string[]; exclude: string[] } */
  tools: { include: string[]; exclude: string[] };
  /** Server names this endpoint gets; null = all. */
  servers: string[] | null;
  /** Per-endpoint overrides of link and monitor settings (heartbeat, backoff, cooldown…). */
  overrides: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface ServerRow {
  id: string;
  name: string;
  source: 'file' | 'api';
  enabled: boolean;
  /** The server's config (type, command/url, args, env, headers…) as JSON. */
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** The mirror of one endpoint's supervisor, written by its owner only, one atomic write per change. */
export interface EndpointStatusRow {
  endpointId: string;
  state: 'disabled' | 'connecting' | 'open' | 'ready' | 'backoff' | 'parked' | 'reconnecting';
  since: number;
  lastCloseCode: number | null;
  lastCloseReason: string | null;
  lastCloseAt: number | null;
  lastError: string | null;
  attempts: number;
  nextRetryAt: number | null;
  health: number | null;
  /** The instance that owns the endpoint, and the fencing token of its lease. */
  owner: string;
  fence: number;
  updatedAt: number;
}

/** One state change, as the timeline shows it. */
export interface TimelineEntry {
  id?: number;
  endpointId: string;
  at: number;
  from: string;
  to: string;
  /** close | error | heartbeat | timeout | dead | person | open | ready | timer | network | reconnect | startup */
  cause: string;
  code: number | null;
  reason: string | null;
  /** How the loss was detected, e.g. "close frame", "heartbeat", "connect timeout". */
  detectedBy: string | null;
  instance: string;
}

export interface ToolCallEntry {
  id?: number;
  endpointId: string | null;
  tool: string;
  server: string;
  at: number;
  durationMs: number;
  outcome: 'ok' | 'error' | 'timeout' | 'cancelled' | 'dropped' | 'early';
  argsBytes: number;
  resultBytes: number;
  error: string | null;
  /** How the call came and what was done to it; absent when there is nothing to say. */
  meta?: CallMeta;
}

/**
 * Kept with a call in the log as one JSON column, bounded (store/call-meta.ts): strings are
 * cut, oversized repair values replaced by `{ $cut: bytes }`, and repairs past the budget
 * dropped and counted in `repairsOmitted`, so a hostile call cannot bloat the log.
 */
export interface CallMeta {
  /** Which door the call came through: the HTTP API, /mcp (or `tether mcp`), or the router tool. */
  via?: 'api' | 'mcp' | 'router';
  /** The MCP client's name and version, as it said in `initialize`. */
  client?: string;
  /** The router's search, when a call went through it. */
  query?: string;
  /** What that search answered, best first (tool names). */
  found?: string[];
  /** What argument repair changed, in the order it was done. */
  repairs?: ArgumentRepair[];
  /** Repairs that did not fit in the log's budget for one call. */
  repairsOmitted?: number;
}

/** What the per-tool figures read of a logged call: enough for counts and percentiles. */
export interface ToolCallSample {
  tool: string;
  server: string;
  at: number;
  durationMs: number;
  outcome: ToolCallEntry['outcome'];
}

/**
 * A tool's calls since the store began counting, kept apart from the call log because the log
 * is pruned (HubOptions.callLog in hub.ts): the count would otherwise fall as old rows go.
 */
export interface ToolUsage {
  tool: string;
  calls: number;
  lastAt: number;
}

/**
 * One tool's calls in one clock hour, from the hourly rollup (store/tool-hours.ts): kept apart
 * from the call log, which is pruned by rows, so a window's counts stay whole.
 */
export interface ToolHour {
  tool: string;
  /** The server of the hour's latest batch. */
  server: string;
  /** The hour's start, ms since the epoch (a multiple of 3,600,000). */
  hour: number;
  calls: number;
  /** Outcome error or timeout. */
  errors: number;
  /** The durations of the timed calls (TIMED_OUTCOMES) added up. */
  sumMs: number;
  /** Timed calls per latency bucket (LATENCY_BOUNDS_MS, then one above the last bound). */
  latency: number[];
}

export interface ChannelRow {
  id: string;
  name: string;
  kind: 'generic' | 'feishu' | 'dingtalk' | 'wecom' | 'slack' | 'discord' | 'ntfy';
  url: string;
  enabled: boolean;
  /** Which events: endpoint.down, endpoint.parked, endpoint.recovered, server.crashloop. */
  events: string[];
  createdAt: number;
}

/** Operator actions on an endpoint, kept apart from its definition (file or API). */
export interface Overlay {
  endpointId: string;
  /** Switched off by a person, whatever the definition says. */
  disabled: boolean;
  /** Exposed tool names switched off for this endpoint. */
  disabledTools: string[];
  updatedAt: number;
}

/** What a status batch did not write: rows refused by the fence, and endpoints not stored. */
export interface StatusBatchResult {
  fenced: string[];
  gone: string[];
}

export interface Page<T> {
  items: T[];
  /** Pass as `before` for the next (older) page; null at the end. */
  next: number | null;
}

export interface PageQuery {
  limit?: number;
  /** Only entries with id < before (newest first). */
  before?: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  close(): Promise<void>;

  endpoints: {
    list(): Promise<EndpointRow[]>;
    get(id: string): Promise<EndpointRow | undefined>;
    /** Creates or replaces by id. */
    put(row: Omit<EndpointRow, 'createdAt' | 'updatedAt'>): Promise<EndpointRow>;
    remove(id: string): Promise<boolean>;
    /** Makes the provisioned (`source: 'file'`) rows exactly `rows`; API rows are untouched. */
    provision(rows: Array<Omit<EndpointRow, 'createdAt' | 'updatedAt' | 'source'>>): Promise<void>;
  };
  servers: {
    list(): Promise<ServerRow[]>;
    get(id: string): Promise<ServerRow | undefined>;
    put(row: Omit<ServerRow, 'createdAt' | 'updatedAt'>): Promise<ServerRow>;
    remove(id: string): Promise<boolean>;
    provision(rows: Array<Omit<ServerRow, 'createdAt' | 'updatedAt' | 'source'>>): Promise<void>;
  };
  status: {
    /**
     * Upserts the mirror row in one statement, only if `row.fence` is not older than the stored
     * fence: a deposed owner's late write is refused. Returns whether it was written.
     */
    write(row: EndpointStatusRow): Promise<boolean>;
    /**
     * The mirror's batch, in one transaction: each row upserted under the same fence rule as
     * `write`, then the timeline entries appended in their order. At most one row per endpoint
     * (the newest). A row refused by the fence takes the batch's entries of its endpoint with it;
     * an endpoint no longer stored (removed while its writes waited) is skipped with its entries,
     * not a failure of the batch. Both are said by endpoint id, in the order of `rows`.
     */
    writeBatch(
      rows: readonly EndpointStatusRow[],
      timeline: readonly TimelineEntry[],
    ): Promise<StatusBatchResult>;
    get(endpointId: string): Promise<EndpointStatusRow | undefined>;
    list(): Promise<EndpointStatusRow[]>;
    /**
     * At start-up: rows left "live" (connecting/open/ready) by `owner` — or by anyone when
     * owner is undefined — become `backoff` with lastError "hub restarted". Returns how many.
     * Their fence is kept, so the new owner's first write still passes the guard.
     */
    resetStale(owner?: string, now?: number): Promise<number>;
  };
  timeline: {
    append(entry: TimelineEntry): Promise<void>;
    page(endpointId: string | undefined, query?: PageQuery): Promise<Page<TimelineEntry>>;
    /**
     * The endpoint's entries with `from <= at < to`, oldest first. At most `limit`: past that,
     * the newest `limit` (a flapping endpoint's day must not be read whole).
     */
    between(endpointId: string, from: number, to: number, limit: number): Promise<TimelineEntry[]>;
    /** The endpoint's newest entry before `at`: the state a window starts in. */
    lastBefore(endpointId: string, at: number): Promise<TimelineEntry | undefined>;
  };
  toolCalls: {
    /** Logs one call and counts it in its tool's usage, in one transaction. */
    append(entry: ToolCallEntry): Promise<void>;
    /**
     * Several entries in one transaction: the hub logs calls in batches, off the call path.
     * Each distinct tool's usage, and each distinct tool-hour of the rollup, is bumped once per
     * batch in the same transaction.
     */
    appendMany(entries: readonly ToolCallEntry[]): Promise<void>;
    /** Calls with `from <= at < to`, newest first, at most `limit`. */
    between(from: number, to: number, limit: number): Promise<ToolCallSample[]>;
    /** Every tool's usage count and last call, whatever the log still holds. */
    usage(): Promise<ToolUsage[]>;
    /** The hourly rollup's rows with `from <= hour < to`, whatever the log still holds. */
    hours(from: number, to: number): Promise<ToolHour[]>;
    /** Drops rollup hours that ended more than `keepMs` before now (TOOL_HOURS_KEEP_MS). */
    pruneHours(keepMs?: number, now?: number): Promise<number>;
    page(query?: PageQuery & { endpointId?: string; tool?: string }): Promise<Page<ToolCallEntry>>;
    /** Keeps the newest `keep` rows and nothing older than `maxAgeMs`; returns rows removed. */
    prune(keep: number, maxAgeMs: number, now?: number): Promise<number>;
  };
  overlays: {
    list(): Promise<Overlay[]>;
    get(endpointId: string): Promise<Overlay | undefined>;
    put(overlay: Omit<Overlay, 'updatedAt'>): Promise<Overlay>;
    remove(endpointId: string): Promise<boolean>;
  };
  channels: {
    list(): Promise<ChannelRow[]>;
    put(row: Omit<ChannelRow, 'createdAt'>): Promise<ChannelRow>;
    remove(id: string): Promise<boolean>;
  };
}
