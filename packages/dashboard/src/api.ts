import type {
  ApiError,
  CallItem,
  EndpointInput,
  EndpointTool,
  EndpointView,
  Health,
  McpSessionItem,
  Page,
  ServerInput,
  ServerView,
  SessionInfo,
  TimelineItem,
  ToolCallResult,
  ToolStats,
  ToolView,
  Uptime,
} from '@tether/protocol';

/** Every failure the dashboard shows: the hub's `{error: {code, message}}`, or a local code. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

let unauthorized: (() => void) | undefined;

/** Called on any 401 outside the login itself: the session ended, so the page asks again. */
export function onUnauthorized(handler: (() => void) | undefined): void {
  unauthorized = handler;
}

async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { body?: unknown } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch (error) {
    throw new ApiFailure(0, 'NETWORK', (error as Error).message);
  }
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page, say): the status and text tell what happened.
  }
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/login') unauthorized?.();
    const error = isApiError(data) ? data.error : undefined;
    throw error
      ? new ApiFailure(response.status, error.code, error.message)
      : new ApiFailure(
          response.status,
          `HTTP_${response.status}`,
          text.slice(0, 200) || response.statusText,
        );
  }
  // The shapes are the ones @tether/protocol types; the hub checks them against its schemas.
  return data as T;
}

function isApiError(value: unknown): value is ApiError {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

const id = encodeURIComponent;

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const api = {
  session: (): Promise<SessionInfo> => request('GET', '/api/session'),
  login: (token: string): Promise<unknown> => request('POST', '/api/login', { body: { token } }),
  logout: (): Promise<unknown> => request('POST', '/api/logout'),

  endpoints: (): Promise<EndpointView[]> => request('GET', '/api/endpoints'),
  createEndpoint: (input: EndpointInput): Promise<EndpointView> =>
    request('POST', '/api/endpoints', { body: input }),
  updateEndpoint: (endpoint: string, input: EndpointInput): Promise<EndpointView> =>
    request('PUT', `/api/endpoints/${id(endpoint)}`, { body: input }),
  deleteEndpoint: (endpoint: string): Promise<unknown> =>
    request('DELETE', `/api/endpoints/${id(endpoint)}`),
  endpointAction: (endpoint: string, action: 'retry' | 'enable' | 'disable'): Promise<unknown> =>
    request('POST', `/api/endpoints/${id(endpoint)}/${action}`),
  endpointTools: (endpoint: string): Promise<EndpointTool[]> =>
    request('GET', `/api/endpoints/${id(endpoint)}/tools`),
  setEndpointTool: (endpoint: string, tool: string, enabled: boolean): Promise<EndpointTool[]> =>
    request('PUT', `/api/endpoints/${id(endpoint)}/tools/${id(tool)}`, { body: { enabled } }),
  timeline: (endpoint: string, before: number | null, limit: number): Promise<Page<TimelineItem>> =>
    request('GET', `/api/endpoints/${id(endpoint)}/timeline${query({ before, limit })}`),
  health: (endpoint: string): Promise<Health> =>
    request('GET', `/api/endpoints/${id(endpoint)}/health`),
  uptime: (endpoint: string, hours: number, buckets: number): Promise<Uptime> =>
    request('GET', `/api/endpoints/${id(endpoint)}/uptime${query({ hours, buckets })}`),

  servers: (): Promise<ServerView[]> => request('GET', '/api/servers'),
  createServer: (input: ServerInput): Promise<ServerView> =>
    request('POST', '/api/servers', { body: input }),
  updateServer: (server: string, input: ServerInput): Promise<ServerView> =>
    request('PUT', `/api/servers/${id(server)}`, { body: input }),
  deleteServer: (server: string): Promise<unknown> =>
    request('DELETE', `/api/servers/${id(server)}`),

  tools: (): Promise<ToolView[]> => request('GET', '/api/tools'),
  toolStats: (hours: number): Promise<ToolStats> =>
    request('GET', `/api/tools/stats${query({ hours })}`),
  mcpSessions: (): Promise<McpSessionItem[]> => request('GET', '/api/mcp/sessions'),
  callTool: (name: string, args: Record<string, unknown>): Promise<ToolCallResult> =>
    request('POST', '/api/tools/call', { body: { name, arguments: args } }),
  calls: (filter: {
    endpoint: string;
    tool: string;
    before: number | null;
    limit: number;
  }): Promise<Page<CallItem>> => request('GET', `/api/calls${query(filter)}`),
};
