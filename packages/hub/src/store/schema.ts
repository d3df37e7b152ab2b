import type { ColumnType, Generated } from 'kysely';
import type { LatencyColumn } from './tool-hours.js';

/**
 * The tables as Kysely sees them. Times are integer milliseconds (bigint in PostgreSQL, read
 * back as numbers by the pool's type parser); JSON is text in both dialects.
 */
export interface Database {
  endpoints: EndpointsTable;
  servers: ServersTable;
  endpoint_status: EndpointStatusTable;
  timeline: TimelineTable;
  tool_calls: ToolCallsTable;
  channels: ChannelsTable;
  overlays: OverlaysTable;
  tool_usage: ToolUsageTable;
  tool_hours: ToolHoursTable;
}

/** Per tool and clock hour: counts and a latency histogram (store/tool-hours.ts). */
export type ToolHoursTable = {
  tool: string;
  hour: number;
  server: string;
  calls: number;
  errors: number;
  sum_ms: number;
} & Record<LatencyColumn, number>;

/** Calls per exposed tool name since counting began; bumped with every batch of the log. */
export interface ToolUsageTable {
  tool: string;
  calls: number;
  last_at: number;
}

export interface OverlaysTable {
  endpoint_id: string;
  disabled: Bool;
  /** JSON array of exposed tool names switched off for this endpoint. */
  disabled_tools: string;
  updated_at: number;
}

/**
 * Written as 0/1 everywhere: better-sqlite3 cannot bind JS booleans, and PostgreSQL's boolean
 * input accepts '1' and '0'. Read back as a boolean (PostgreSQL) or 0/1 (SQLite).
 */
export type Bool = ColumnType<boolean | number, number, number>;

export interface EndpointsTable {
  id: string;
  name: string;
  url: string;
  enabled: Bool;
  source: string;
  tools: string;
  servers: string | null;
  overrides: string;
  created_at: number;
  updated_at: number;
}

export interface ServersTable {
  id: string;
  name: string;
  source: string;
  enabled: Bool;
  config: string;
  created_at: number;
  updated_at: number;
}

export interface EndpointStatusTable {
  endpoint_id: string;
  state: string;
  since: number;
  last_close_code: number | null;
  last_close_reason: string | null;
  last_close_at: number | null;
  last_error: string | null;
  attempts: number;
  next_retry_at: number | null;
  health: number | null;
  owner: string;
  fence: number;
  updated_at: number;
}

export interface TimelineTable {
  id: Generated<number>;
  endpoint_id: string;
  at: number;
  from_state: string;
  to_state: string;
  cause: string;
  code: number | null;
  reason: string | null;
  detected_by: string | null;
  instance: string;
}

export interface ToolCallsTable {
  id: Generated<number>;
  endpoint_id: string | null;
  tool: string;
  server: string;
  at: number;
  duration_ms: number;
  outcome: string;
  args_bytes: number;
  result_bytes: number;
  error: string | null;
  /** JSON of the call's CallMeta, bounded (store/call-meta.ts); null when it has none. */
  meta: string | null;
}

export interface ChannelsTable {
  id: string;
  name: string;
  kind: string;
  url: string;
  enabled: Bool;
  events: string;
  created_at: number;
}
