import { z } from 'zod';

/**
 * The hub's HTTP API and event stream, shared by the hub and the dashboard so the two cannot
 * drift. Times are ISO 8601 strings; URLs are always masked (`token=eyJh***`).
 */
export const LinkStateSchema = z.enum([
  'disabled',
  'connecting',
  'open',
  'ready',
  'backoff',
  'parked',
  /** A planned reconnect (tools changed, a person's retry): the old socket is closing. */
  'reconnecting',
]);
export type LinkState = z.infer<typeof LinkStateSchema>;

export const ToolFilterSchema = z.object({
  include: z.array(z.string()).default(['*']),
  exclude: z.array(z.string()).default([]),
  /** Over this many tools the endpoint gets its pinned tools and the router (README). */
  budget: z.number().int().min(1).optional(),
  pinned: z.array(z.string().min(1)).optional(),
  /** Repair unambiguous argument mistakes against the tool's schema (README). */
  repairArguments: z.boolean().optional(),
});

/** Begins every tool name of a server: `""` for none; the hub's config rules (README). */
const ToolPrefixSchema = z
  .string()
  .max(61)
  .regex(/^[A-Za-z0-9_-]*$/, 'may hold only letters, digits, "_" and "-"')
  .refine((p) => !p.endsWith('__'), 'must not end with "__"')
  .optional();

export const EndpointViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  enabled: z.boolean(),
  source: z.enum(['file', 'env', 'api']),
  state: LinkStateSchema,
  since: z.string(),
  lastClose: z.object({ code: z.number(), reason: z.string(), at: z.string() }).nullable(),
  lastError: z.string().nullable(),
  attempts: z.number(),
  nextRetryAt: z.string().nullable(),
  health: z.number().nullable(),
  owner: z.string(),
  tools: z.number(),
  callsInFlight: z.number(),
});
export type EndpointView = z.infer<typeof EndpointViewSchema>;

/** Body of POST /api/endpoints and PUT /api/endpoints/:id. */
export const EndpointInputSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  // The message never quotes the URL: it carries the endpoint's token.
  url: z
    .string()
    .regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL')
    .refine(parses, 'must be a valid URL (check for spaces or stray characters)'),
  enabled: z.boolean().default(true),
  tools: ToolFilterSchema.default({ include: ['*'], exclude: [] }),
  servers: z.array(z.string()).nullable().default(null),
});
export type EndpointInput = z.input<typeof EndpointInputSchema>;

export const ServerViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['stdio', 'http', 'sse']),
  source: z.enum(['file', 'api']),
  enabled: z.boolean(),
  /** `unresponsive`: it stopped answering pings, was killed, and waits to be restarted. */
  state: z.enum([
    'starting',
    'ready',
    'restarting',
    'unresponsive',
    'failed',
    'stopped',
    'disabled',
  ]),
  since: z.string().nullable(),
  tools: z.number(),
  restarts: z.number(),
  lastError: z.string().nullable(),
  stderrTail: z.array(z.string()),
  /** What runs: the command line or the URL, with credentials masked. */
  target: z.string(),
  health: z.number().nullable(),
});
export type ServerView = z.infer<typeof ServerViewSchema>;

/**
 * How often the hub pings the server; one unanswered for the interval marks it `unresponsive`
 * (killed and restarted). 0: never. Default 10 s for stdio, 30 s for HTTP and SSE.
 */
const PingIntervalSchema = z
  .number()
  .int()
  .refine((ms) => ms === 0 || ms >= 1000, 'must be 0 (never ping) or at least 1000 ms')
  .optional();

/** Body of POST /api/servers and PUT /api/servers/:id. */
export const ServerInputSchema = z.union([
  z.object({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/),
    type: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    pingIntervalMs: PingIntervalSchema,
    toolPrefix: ToolPrefixSchema,
    enabled: z.boolean().default(true),
  }),
  z.object({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/),
    type: z.enum(['http', 'sse']),
    url: z
      .string()
      .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
      .refine(parses, 'must be a valid URL (check for spaces or stray characters)'),
    headers: z.record(z.string(), z.string()).default({}),
    pingIntervalMs: PingIntervalSchema,
    toolPrefix: ToolPrefixSchema,
    enabled: z.boolean().default(true),
  }),
]);
export type ServerInput = z.input<typeof ServerInputSchema>;

export const ToolViewSchema = z.object({
  name: z.string(),
  server: z.string(),
  tool: z.string(),
  description: z.string().nullable(),
  inputSchema: z.record(z.string(), z.unknown()),
  /** Endpoints that see this tool now. */
  endpoints: z.array(z.string()),
});
export type ToolView = z.infer<typeof ToolViewSchema>;

/** GET /api/endpoints/:id/tools: every tool the endpoint could get, and whether it does. */
export const EndpointToolSchema = z.object({
  name: z.string(),
  server: z.string(),
  enabled: z.boolean(),
});
export type EndpointTool = z.infer<typeof EndpointToolSchema>;

export const TimelineItemSchema = z.object({
  id: z.number(),
  at: z.string(),
  from: z.string(),
  to: z.string(),
  cause: z.string(),
  code: z.number().nullable(),
  reason: z.string().nullable(),
  detectedBy: z.string().nullable(),
  instance: z.string(),
});
export type TimelineItem = z.infer<typeof TimelineItemSchema>;

export const CallItemSchema = z.object({
  id: z.number(),
  endpointId: z.string().nullable(),
  tool: z.string(),
  server: z.string(),
  at: z.string(),
  durationMs: z.number(),
  outcome: z.enum(['ok', 'error', 'timeout', 'cancelled', 'dropped', 'early']),
  argsBytes: z.number(),
  resultBytes: z.number(),
  error: z.string().nullable(),
  /** How the call came and what was done to it (the hub's CallMeta); absent when nothing. */
  meta: z
    .object({
      via: z.enum(['api', 'mcp', 'router']).optional(),
      client: z.string().optional(),
      query: z.string().optional(),
      found: z.array(z.string()).optional(),
      repairs: z
        .array(
          z.object({
            path: z.string(),
            kind: z.enum(['rename', 'prefix', 'number', 'integer', 'boolean', 'wrap']),
            before: z.unknown(),
            after: z.unknown(),
          }),
        )
        .optional(),
      repairsOmitted: z.number().optional(),
    })
    .optional(),
});
export type CallItem = z.infer<typeof CallItemSchema>;

/**
 * One page of a list, newest first (GET /api/endpoints/:id/timeline, GET /api/calls): `next` is
 * the `before` that asks for the next, older page; null at the end.
 */
export const PageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next: z.number().nullable() });
export type Page<T> = z.infer<ReturnType<typeof PageSchema<z.ZodType<T>>>>;

/** GET /api/endpoints/:id/health: the score of the last hour and the parts it comes from. */
export const HealthSchema = z.object({
  /** 0–100: uptime less penalties for flaps, failures and slow handshakes. */
  score: z.number(),
  /** Share of the window spent up, 0–1. */
  uptime: z.number(),
  /** Times it went from up to down in the window. */
  flaps: z.number(),
  /** Failed attempts in the window. */
  failures: z.number(),
  /** Median time from connecting to up, in the window; null when there was none. */
  handshakeMs: z.number().nullable(),
  windowMs: z.number(),
});
export type Health = z.infer<typeof HealthSchema>;

/** Answer of POST /api/tools/call: the result as the upstream gave it, and how long it took. */
export const ToolCallResultSchema = z.object({ result: z.unknown(), ms: z.number() });
export type ToolCallResult = z.infer<typeof ToolCallResultSchema>;

/** Every error answer of the API. */
export const ApiErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

/** Server-Sent Events on GET /api/events (`event:` is the type, `data:` the JSON). */
export const HubEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('endpoint'), endpoint: EndpointViewSchema }),
  z.object({ type: z.literal('endpoint-removed'), id: z.string() }),
  z.object({ type: z.literal('server'), server: ServerViewSchema }),
  z.object({ type: z.literal('tools') }),
  z.object({ type: z.literal('call'), call: CallItemSchema.omit({ id: true }) }),
]);
export type HubEvent = z.infer<typeof HubEventSchema>;

/** GET /api/session: whether this client may act, and whether a login is needed at all. */
export const SessionInfoSchema = z.object({
  authRequired: z.boolean(),
  authenticated: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

function parses(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/** GET /api/mcp/sessions: the MCP clients connected to /mcp now. */
export const McpSessionItemSchema = z.object({
  /** A digest of the session id, not the id a client presents. */
  id: z.string(),
  /** clientInfo from the client's initialize; null until it has sent one. */
  client: z.object({ name: z.string(), version: z.string() }).nullable(),
  /** The endpoint whose tools it is served (`/mcp/<endpoint>`); null for `/mcp`. */
  endpoint: z.string().nullable(),
  createdAt: z.string(),
  lastActivityAt: z.string(),
  callsInFlight: z.int().min(0),
  /** Event streams open now: its GET stream, and POSTs still answering. */
  streams: z.int().min(0),
});
export type McpSessionItem = z.infer<typeof McpSessionItemSchema>;

/** How a stretch of an endpoint's time counts (the hub's monitor/uptime.ts defines each). */
export const UptimeLevelSchema = z.enum(['ready', 'degraded', 'down', 'disabled', 'unknown']);
export type UptimeLevel = z.infer<typeof UptimeLevelSchema>;

/** Losses of the link grouped by how they happened: cause, close code, how it was noticed. */
export const UptimeCauseSchema = z.object({
  cause: z.string(),
  code: z.number().nullable(),
  detectedBy: z.string().nullable(),
  count: z.int().min(0),
});
export type UptimeCause = z.infer<typeof UptimeCauseSchema>;

const UptimeTimesSchema = z.object({
  readyMs: z.number(),
  degradedMs: z.number(),
  downMs: z.number(),
  disabledMs: z.number(),
  unknownMs: z.number(),
  /** Times the link left open or ready for anything but disabled. */
  reconnects: z.int().min(0),
});

export const UptimeBucketSchema = UptimeTimesSchema.extend({
  start: z.string(),
  /** The bucket's end; the last bucket ends at `to` (now). */
  end: z.string(),
  /** down with any down time, else degraded with any degraded time, else ready with any ready. */
  level: UptimeLevelSchema,
  causes: z.array(UptimeCauseSchema),
});
export type UptimeBucket = z.infer<typeof UptimeBucketSchema>;

/** GET /api/endpoints/:id/uptime: the endpoint's last hours as a strip of buckets. */
export const UptimeSchema = z.object({
  endpoint: z.string(),
  from: z.string(),
  to: z.string(),
  bucketMs: z.number(),
  /** A recovery counts as degraded this long, then as down. */
  downAfterMs: z.number(),
  buckets: z.array(UptimeBucketSchema),
  totals: UptimeTimesSchema.extend({
    /** Ready over ready + degraded + down, 0–1; null when none of them was seen. */
    uptime: z.number().nullable(),
  }),
  causes: z.array(UptimeCauseSchema),
  /** The window held more state changes than the hub reads: the oldest part is unknown. */
  truncated: z.boolean(),
});
export type Uptime = z.infer<typeof UptimeSchema>;

/** One tool's figures in GET /api/tools/stats. */
export const ToolStatsItemSchema = z.object({
  /** The exposed name, as /api/tools and the call log say it. */
  name: z.string(),
  server: z.string(),
  /** Calls in the window, any outcome; from the hourly rollup, whole however the log is pruned. */
  calls: z.int().min(0),
  /** Outcome error or timeout. */
  errors: z.int().min(0),
  errorRate: z.number().nullable(),
  /** Percentiles of the calls that ran to an end (not early, not cancelled). */
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  /**
   * `exact`: nearest rank over the logged durations, the log holding every call of the window.
   * `estimated`: the log was pruned below the window, so read from the hourly latency histogram
   * (log-scale buckets, interpolated within one).
   */
  latency: z.enum(['exact', 'estimated']),
  /** Calls per clock hour, oldest first; the last hour holds `to`. */
  perHour: z.array(z.int().min(0)),
  /** Calls since the hub began counting (not only the window, nor only the pruned log). */
  usageCount: z.int().min(0),
  lastUsedAt: z.string().nullable(),
});
export type ToolStatsItem = z.infer<typeof ToolStatsItemSchema>;

/** GET /api/tools/stats: every tool served (and any other called in the window). */
export const ToolStatsSchema = z.object({
  from: z.string(),
  to: z.string(),
  hours: z.int().min(1),
  tools: z.array(ToolStatsItemSchema),
  /** The window held more logged calls than the hub reads: some percentiles are estimated. */
  truncated: z.boolean(),
});
export type ToolStats = z.infer<typeof ToolStatsSchema>;
