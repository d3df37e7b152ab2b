import type { Selectable } from 'kysely';
import { metaText } from './call-meta.js';
import { StoreError } from './errors.js';
import type {
  ChannelsTable,
  EndpointStatusTable,
  EndpointsTable,
  ServersTable,
  TimelineTable,
  ToolCallsTable,
} from './schema.js';
import type {
  CallMeta,
  ChannelRow,
  EndpointRow,
  EndpointStatusRow,
  ServerRow,
  TimelineEntry,
  ToolCallEntry,
} from './types.js';

/** Rows <-> columns. The only place that knows how booleans and JSON are spelled on disk. */

export const bit = (value: boolean): number => (value ? 1 : 0);

export function json(value: unknown): string {
  return JSON.stringify(value);
}

function parse<T>(text: string, column: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new StoreError('STORE_INVALID', `${column} holds invalid JSON`, { cause: error });
  }
}

export function endpointValues(row: Omit<EndpointRow, 'createdAt' | 'updatedAt'>) {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    enabled: bit(row.enabled),
    source: row.source,
    tools: json(row.tools),
    servers: row.servers === null ? null : json(row.servers),
    overrides: json(row.overrides),
  };
}

export function toEndpoint(row: Selectable<EndpointsTable>): EndpointRow {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    enabled: Boolean(row.enabled),
    source: row.source as EndpointRow['source'],
    tools: parse(row.tools, 'endpoints.tools'),
    servers: row.servers === null ? null : parse(row.servers, 'endpoints.servers'),
    overrides: parse(row.overrides, 'endpoints.overrides'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function serverValues(row: Omit<ServerRow, 'createdAt' | 'updatedAt'>) {
  return {
    id: row.id,
    name: row.name,
    source: row.source,
    enabled: bit(row.enabled),
    config: json(row.config),
  };
}

export function toServer(row: Selectable<ServersTable>): ServerRow {
  return {
    id: row.id,
    name: row.name,
    source: row.source as ServerRow['source'],
    enabled: Boolean(row.enabled),
    config: parse(row.config, 'servers.config'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function statusValues(row: EndpointStatusRow): Selectable<EndpointStatusTable> {
  return {
    endpoint_id: row.endpointId,
    state: row.state,
    since: row.since,
    last_close_code: row.lastCloseCode,
    last_close_reason: row.lastCloseReason,
    last_close_at: row.lastCloseAt,
    last_error: row.lastError,
    attempts: row.attempts,
    next_retry_at: row.nextRetryAt,
    health: row.health,
    owner: row.owner,
    fence: row.fence,
    updated_at: row.updatedAt,
  };
}

export function toStatus(row: Selectable<EndpointStatusTable>): EndpointStatusRow {
  return {
    endpointId: row.endpoint_id,
    state: row.state as EndpointStatusRow['state'],
    since: row.since,
    lastCloseCode: row.last_close_code,
    lastCloseReason: row.last_close_reason,
    lastCloseAt: row.last_close_at,
    lastError: row.last_error,
    attempts: row.attempts,
    nextRetryAt: row.next_retry_at,
    health: row.health,
    owner: row.owner,
    fence: row.fence,
    updatedAt: row.updated_at,
  };
}

export function timelineValues(entry: TimelineEntry) {
  return {
    endpoint_id: entry.endpointId,
    at: entry.at,
    from_state: entry.from,
    to_state: entry.to,
    cause: entry.cause,
    code: entry.code,
    reason: entry.reason,
    detected_by: entry.detectedBy,
    instance: entry.instance,
  };
}

export function toTimeline(row: Selectable<TimelineTable>): TimelineEntry {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    at: row.at,
    from: row.from_state,
    to: row.to_state,
    cause: row.cause,
    code: row.code,
    reason: row.reason,
    detectedBy: row.detected_by,
    instance: row.instance,
  };
}

export function toolCallValues(entry: ToolCallEntry) {
  return {
    endpoint_id: entry.endpointId,
    tool: entry.tool,
    server: entry.server,
    at: entry.at,
    duration_ms: entry.durationMs,
    outcome: entry.outcome,
    args_bytes: entry.argsBytes,
    result_bytes: entry.resultBytes,
    error: entry.error,
    meta: metaText(entry.meta),
  };
}

export function toToolCall(row: Selectable<ToolCallsTable>): ToolCallEntry {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    tool: row.tool,
    server: row.server,
    at: row.at,
    durationMs: row.duration_ms,
    outcome: row.outcome as ToolCallEntry['outcome'],
    argsBytes: row.args_bytes,
    resultBytes: row.result_bytes,
    error: row.error,
    // Absent rather than undefined, so a call without meta reads back as it was written.
    ...(row.meta === null ? {} : { meta: parse<CallMeta>(row.meta, 'tool_calls.meta') }),
  };
}

export function channelValues(row: Omit<ChannelRow, 'createdAt'>) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    url: row.url,
    enabled: bit(row.enabled),
    events: json(row.events),
  };
}

export function toChannel(row: Selectable<ChannelsTable>): ChannelRow {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as ChannelRow['kind'],
    url: row.url,
    enabled: Boolean(row.enabled),
    events: parse(row.events, 'channels.events'),
    createdAt: row.created_at,
  };
}
