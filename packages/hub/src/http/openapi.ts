import { z } from 'zod';
import {
  ApiErrorSchema,
  CallItemSchema,
  EndpointInputSchema,
  EndpointToolSchema,
  EndpointViewSchema,
  LinkStateSchema,
  McpSessionItemSchema,
  ServerInputSchema,
  ServerViewSchema,
  SessionInfoSchema,
  TimelineItemSchema,
  ToolStatsSchema,
  ToolViewSchema,
  UptimeSchema,
} from '@tether/protocol';
import { TOOL_STATS_LIMITS } from '../monitor/tool-stats.js';
import { UPTIME_LIMITS } from '../monitor/uptime.js';
import { MAX_PAGE } from './paging.js';

type Method = 'get' | 'post' | 'put' | 'delete';
interface Route {
  method: Method;
  path: string;
  summary: string;
  body?: z.ZodType;
  response?: z.ZodType;
  query?: Array<{ name: string; description: string; schema: z.ZodType }>;
  /** Headers of the 200 answer. */
  headers?: Record<string, { description: string; schema: z.ZodType }>;
  /** What a 400 means, for a route whose query is checked. */
  badRequest?: string;
}

const ok = z.object({ ok: z.literal(true) });
const page = (item: z.ZodType) => z.object({ items: z.array(item), next: z.number().nullable() });

/** Every route, with the same zod schemas the hub validates with and the dashboard reads with. */
const ROUTES: Route[] = [
  { method: 'get', path: '/healthz', summary: 'The process is alive', response: ok },
  { method: 'get', path: '/readyz', summary: 'The hub is serving and its store answers' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics' },
  {
    method: 'get',
    path: '/api/session',
    summary: 'Whether a login is needed, and whether this client has one',
    response: SessionInfoSchema,
  },
  {
    method: 'post',
    path: '/api/login',
    summary: 'Exchange the admin token for a session cookie',
    body: z.object({ token: z.string() }),
    response: ok,
  },
  { method: 'post', path: '/api/logout', summary: 'End the session', response: ok },
  {
    method: 'get',
    path: '/api/endpoints',
    summary:
      'Every endpoint with its live state, one array; with any of limit, after or state, ' +
      'one page of them in name order',
    response: z.array(EndpointViewSchema),
    query: [
      {
        name: 'limit',
        description: `At most this many endpoints (1 to ${MAX_PAGE}); without it, all after the cursor`,
        schema: z.int().min(1).max(MAX_PAGE),
      },
      {
        name: 'after',
        description:
          'Start after the endpoint of this name (the last one of the previous page). A name ' +
          'that is not an endpoint (one deleted since) starts where it would sort',
        schema: z.string(),
      },
      {
        name: 'state',
        description: 'Only endpoints in this state',
        schema: LinkStateSchema,
      },
    ],
    headers: {
      Link: {
        description:
          'With limit, while more follow: the next page (RFC 8288), relative to the hub, ' +
          'e.g. `</api/endpoints?limit=50&after=ep-49>; rel="next"`; absent on the last page',
        schema: z.string(),
      },
      'X-Total-Count': {
        description:
          'With any of limit, after or state: how many endpoints match the state asked for ' +
          '(all of them without one), the same on every page',
        schema: z.int().min(0),
      },
    },
    badRequest: `limit is not a whole number from 1 to ${MAX_PAGE}, or state is not a state`,
  },
  {
    method: 'post',
    path: '/api/endpoints',
    summary: 'Create an endpoint',
    body: EndpointInputSchema,
    response: EndpointViewSchema,
  },
  {
    method: 'get',
    path: '/api/endpoints/{id}',
    summary: 'One endpoint',
    response: EndpointViewSchema,
  },
  {
    method: 'put',
    path: '/api/endpoints/{id}',
    summary: 'Change an endpoint created through the API',
    body: EndpointInputSchema,
    response: EndpointViewSchema,
  },
  {
    method: 'delete',
    path: '/api/endpoints/{id}',
    summary: 'Delete an endpoint created through the API',
    response: ok,
  },
  { method: 'post', path: '/api/endpoints/{id}/retry', summary: 'Reconnect now', response: ok },
  { method: 'post', path: '/api/endpoints/{id}/enable', summary: 'Switch on', response: ok },
  { method: 'post', path: '/api/endpoints/{id}/disable', summary: 'Switch off', response: ok },
  {
    method: 'get',
    path: '/api/endpoints/{id}/tools',
    summary: 'Tools this endpoint could get, and which it does',
    response: z.array(EndpointToolSchema),
  },
  {
    method: 'put',
    path: '/api/endpoints/{id}/tools/{tool}',
    summary: 'Switch one tool on or off for this endpoint',
    body: z.object({ enabled: z.boolean() }),
    response: z.array(EndpointToolSchema),
  },
  {
    method: 'get',
    path: '/api/endpoints/{id}/timeline',
    summary: 'State changes, newest first (?before=&limit=)',
    response: page(TimelineItemSchema),
  },
  {
    method: 'get',
    path: '/api/endpoints/{id}/uptime',
    summary:
      'The last hours as buckets of time ready, degraded (a recovery under a minute), down ' +
      '(parked, or a recovery past a minute), disabled and unknown, with the losses by cause',
    response: UptimeSchema,
    query: [
      {
        name: 'hours',
        description: `The window, 1 to ${UPTIME_LIMITS.maxHours} hours (default ${UPTIME_LIMITS.defaultHours})`,
        schema: z.int().min(1).max(UPTIME_LIMITS.maxHours),
      },
      {
        name: 'buckets',
        description:
          `How many buckets, 1 to ${UPTIME_LIMITS.maxBuckets} (default ` +
          `${UPTIME_LIMITS.defaultBuckets}), each a whole number of minutes, aligned to the clock`,
        schema: z.int().min(1).max(UPTIME_LIMITS.maxBuckets),
      },
    ],
    badRequest: 'hours or buckets out of range, or buckets not of whole minutes',
  },
  { method: 'get', path: '/api/endpoints/{id}/health', summary: 'Health score and its parts' },
  {
    method: 'get',
    path: '/api/servers',
    summary: 'Upstream MCP servers with their state',
    response: z.array(ServerViewSchema),
  },
  {
    method: 'post',
    path: '/api/servers',
    summary: 'Add a server',
    body: ServerInputSchema,
    response: ServerViewSchema,
  },
  {
    method: 'put',
    path: '/api/servers/{id}',
    summary: 'Change a server added through the API',
    body: ServerInputSchema,
    response: ServerViewSchema,
  },
  {
    method: 'delete',
    path: '/api/servers/{id}',
    summary: 'Remove a server added through the API',
    response: ok,
  },
  {
    method: 'post',
    path: '/api/servers/{id}/restart',
    summary: "Restart a server (this instance's copy); answers once its first listing is done",
    response: ServerViewSchema,
  },
  {
    method: 'get',
    path: '/api/tools',
    summary: 'Every tool served, and the endpoints that see it',
    response: z.array(ToolViewSchema),
  },
  {
    method: 'get',
    path: '/api/tools/stats',
    summary:
      'Per tool over the last hours: calls, errors, p50/p95 latency, calls per hour; and ' +
      'calls and last use since counting began',
    response: ToolStatsSchema,
    query: [
      {
        name: 'hours',
        description: `The window, 1 to ${TOOL_STATS_LIMITS.maxHours} hours (default ${TOOL_STATS_LIMITS.defaultHours})`,
        schema: z.int().min(1).max(TOOL_STATS_LIMITS.maxHours),
      },
    ],
    badRequest: 'hours out of range',
  },
  {
    method: 'post',
    path: '/api/tools/call',
    summary: 'Call a tool',
    body: z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).optional() }),
  },
  {
    method: 'get',
    path: '/api/calls',
    summary: 'The tool-call log, newest first (?endpoint=&tool=&before=&limit=)',
    response: page(CallItemSchema),
  },
  {
    method: 'get',
    path: '/api/events',
    summary: 'Server-Sent Events: endpoint, endpoint-removed, server, tools, call',
  },
  {
    method: 'get',
    path: '/api/mcp/sessions',
    summary: 'MCP clients connected to /mcp: who, which endpoint they see, since when',
    response: z.array(McpSessionItemSchema),
  },
  ...(['post', 'get', 'delete'] as const).flatMap((method) =>
    ['/mcp', '/mcp/{endpoint}'].map((path) => ({
      method,
      path,
      summary:
        'MCP Streamable HTTP (docs/mcp.md): every tool at /mcp, what one endpoint sees at ' +
        '/mcp/{endpoint}. POST carries JSON-RPC, GET opens the event stream, DELETE ends the ' +
        'session (Mcp-Session-Id)',
    })),
  ),
  { method: 'get', path: '/api/openapi.json', summary: 'This document' },
];

export function openApiDocument(): Record<string, unknown> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const parameters = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(route.query ?? []).map((q) => ({
        name: q.name,
        in: 'query',
        required: false,
        description: q.description,
        schema: schema(q.schema),
      })),
    ];
    const error = { 'application/json': { schema: schema(ApiErrorSchema) } };
    (paths[route.path] ??= {})[route.method] = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema(route.body) } },
            },
          }
        : {}),
      responses: {
        '200': {
          description: 'OK',
          ...(route.headers
            ? {
                headers: Object.fromEntries(
                  Object.entries(route.headers).map(([name, h]) => [
                    name,
                    { description: h.description, schema: schema(h.schema) },
                  ]),
                ),
              }
            : {}),
          ...(route.response
            ? { content: { 'application/json': { schema: schema(route.response) } } }
            : {}),
        },
        ...(route.badRequest ? { '400': { description: route.badRequest, content: error } } : {}),
        default: { description: 'An error', content: error },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tether hub API', version: '0.1.0' },
    components: { securitySchemes: { admin: { type: 'http', scheme: 'bearer' } } },
    security: [{ admin: [] }],
    paths,
  };
}
