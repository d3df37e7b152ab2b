import type { CallItem, EndpointView, McpSessionItem, ServerView } from '@tether/protocol';
import type { EndpointConfig, ServerConfig } from '../config/types.js';
import type { HubPort, OwnedEndpointStatus } from '../hub/port.js';
import { maskCommandLine } from '../log/mask.js';
import { maskHeaders, maskUrl } from '../log/redact.js';
import type { McpHttp } from '../mcp/http.js';
import type { ToolCallEntry } from '../store/types.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Every endpoint as the API and the dashboard show it: the supervisor's truth, URL masked. */
export function endpointViews(hub: HubPort): EndpointView[] {
  const definitions = new Map(hub.definitions().map((d) => [d.name, d]));
  return hub.endpoints().map((e) => view(e, definitions.get(e.name)?.source));
}

/** One endpoint's view, without building every other one (the event stream's per-change path). */
export function endpointView(hub: HubPort, name: string): EndpointView | undefined {
  const status = hub.endpoint(name);
  return status && view(status, hub.definition(name)?.source);
}

/** The view of a defined endpoint, given its status already read (a page of the list). */
export function endpointViewOf(
  definition: EndpointConfig,
  status: OwnedEndpointStatus,
): EndpointView {
  return view(status, definition.source);
}

/** The state the API shows: an endpoint switched off is `disabled`, whatever its link says. */
export function shownState(e: OwnedEndpointStatus): EndpointView['state'] {
  return e.enabled ? e.state : 'disabled';
}

function view(
  e: NonNullable<ReturnType<HubPort['endpoint']>>,
  source: EndpointView['source'] | undefined,
): EndpointView {
  return {
    id: e.name,
    name: e.name,
    url: e.url,
    enabled: e.enabled,
    source: source ?? 'file',
    state: shownState(e),
    since: iso(e.since),
    lastClose: e.lastClose && { ...e.lastClose, at: iso(e.lastClose.at) },
    lastError: e.lastError,
    attempts: e.attempts,
    nextRetryAt: e.nextRetryAt === null ? null : iso(e.nextRetryAt),
    health: e.health.score,
    owner: e.owner,
    tools: e.tools,
    callsInFlight: e.callsInFlight,
  };
}

export function serverViews(hub: HubPort, fileNames: ReadonlySet<string>): ServerView[] {
  const running = new Map(hub.servers().map((s) => [s.name, s]));
  return hub.serverDefinitions().map((config) => {
    const status = running.get(config.name);
    return {
      id: config.name,
      name: config.name,
      type: config.type,
      source: fileNames.has(config.name) ? 'file' : 'api',
      enabled: config.enabled,
      state: !config.enabled ? 'disabled' : (status?.state ?? 'stopped'),
      since: status ? iso(status.since) : null,
      tools: status?.tools ?? 0,
      restarts: status?.restarts ?? 0,
      lastError: status?.lastError ?? null,
      stderrTail: status?.stderrTail ?? [],
      target: target(config),
      health: null,
    };
  });
}

/**
 * What a server runs, safe to show: a command line with its credential arguments masked
 * (`--api-key VALUE`, `--token=VALUE`, tokens in URLs, as `tether config get` masks them), or a
 * URL with its credentials masked and its headers by name only.
 */
export function target(config: ServerConfig): string {
  if (config.type === 'stdio') return maskCommandLine(config.command, config.args);
  const headers = Object.keys(maskHeaders(config.headers));
  return `${maskUrl(config.url)}${headers.length ? ` (headers: ${headers.join(', ')})` : ''}`;
}

export function callItem(entry: ToolCallEntry & { id?: number }): CallItem | Omit<CallItem, 'id'> {
  return { ...entry, at: iso(entry.at) } as CallItem;
}

export function mcpSessionItems(mcp: McpHttp): McpSessionItem[] {
  return mcp
    .sessions()
    .map((s) => ({ ...s, createdAt: iso(s.createdAt), lastActivityAt: iso(s.lastActivityAt) }));
}
