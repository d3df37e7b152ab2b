/**
 * The configuration the hub runs on, after loading, expansion, aliasing and validation.
 * The file format (tether.config.json, JSONC) is described in README.md, "Configuration", and
 * docs/architecture.md, "hub"; these are the resolved values.
 */
export interface ToolFilter {
  /** Globs over exposed tool names (`prefix__tool`, as served). Default `["*"]`. */
  include: string[];
  /** Globs removed after include. Default `[]`. */
  exclude: string[];
  /**
   * The most tools the endpoint is sent directly. With more allowed than this, it is sent the
   * pinned tools and the router instead: `tether__find_tools` and `tether__call_tool`
   * (endpoint/served.ts; README, "Configuration"). Absent: no limit.
   */
  budget?: number;
  /** Names or globs (over served names) of tools sent directly even over the budget. */
  pinned?: string[];
  /**
   * Repair what is unambiguous in a model's arguments against the tool's schema before the
   * call (a name in another case or style, "5" for a number…; docs/architecture.md, "Argument
   * repair"), and log each repair. Default false: arguments go as sent.
   */
  repairArguments?: boolean;
}

/**
 * Connection and monitoring settings with the meaning the seed platform gave them: how often
 * the monitor checks, how fast a silent link is declared dead, how long reconnects may wait at
 * most, and how many failed attempts park an endpoint. Global in `hub.monitor`, overridable
 * per endpoint in `endpoints[].monitor`.
 */
export interface MonitorSettings {
  /** Reconcile and zombie check interval. Default 5 s. */
  checkIntervalMs: number;
  /** WebSocket ping interval P. Default 5 s. */
  heartbeatIntervalMs: number;
  /** Intervals without any sign of life before the socket is cut (M). Default 2: 10 s. */
  heartbeatMisses: number;
  /** Longest wait between reconnect attempts (the backoff cap). Default 30 s. */
  reconnectCooldownMs: number;
  /** Failed attempts in a row (over at least a minute) before the endpoint parks. Default 10. */
  maxAttempts: number;
  /** A parked endpoint probes this often. Default 5 min. */
  probeIntervalMs: number;
}

/** The services Tether can post to. Each has its own body shape (notify/format.ts). */
export const CHANNEL_KINDS = [
  'generic',
  'feishu',
  'dingtalk',
  'wecom',
  'slack',
  'discord',
  'ntfy',
] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export interface NotificationChannel {
  name: string;
  kind: ChannelKind;
  url: string;
  /** DingTalk signing secret. */
  secret?: string;
  /** Which events; default all: endpoint.down, endpoint.parked, endpoint.recovered, server.crashloop. */
  events: string[];
  /** Deliver to private, loopback and link-local addresses too (a webhook on the LAN). Default false. */
  allowPrivate: boolean;
}

export interface EndpointConfig {
  name: string;
  url: string;
  enabled: boolean;
  tools: ToolFilter;
  /** Upstream server names this endpoint gets; undefined means all. */
  servers?: string[];
  /** Overrides of the hub's monitor settings for this endpoint. */
  monitor?: Partial<MonitorSettings>;
  /** Where it came from: the file, or the MCP_ENDPOINT environment variable. */
  source: 'file' | 'env' | 'api';
}

interface ServerCommon {
  name: string;
  enabled: boolean;
  /** Per-call timeout for this server's tools; progress notifications reset it. */
  timeoutMs?: number;
  /**
   * A ping this often; one unanswered for the interval marks the server `unresponsive`, which
   * kills and restarts it. 0: never (a server that cannot answer while it works). Default 10 s
   * for stdio, 30 s for HTTP and SSE.
   */
  pingIntervalMs?: number;
  /** Description overrides by the server's own tool name. */
  descriptions?: Record<string, string>;
  /**
   * What its tools' served names start with, joined to the tool's own name by `__`. Absent: the
   * server's name; `""`: none, the tool's own name alone (catalog/names.ts).
   */
  toolPrefix?: string;
}

export interface StdioServerConfig extends ServerCommon {
  type: 'stdio';
  command: string;
  args: string[];
  /** Added to the parent's environment. */
  env: Record<string, string>;
  cwd?: string;
}

export interface HttpServerConfig extends ServerCommon {
  type: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
}

export type ServerConfig = StdioServerConfig | HttpServerConfig;

/**
 * Sizes and counts checked at the door, before anything is parsed or forwarded
 * (docs/security.md lists each with its reason).
 */
export interface HubLimits {
  /** Largest request body on any API route, bytes. Default 1 MiB. */
  bodyBytes: number;
  /** Largest body of `POST /api/login` (unauthenticated), bytes. Default 4 KiB. */
  loginBodyBytes: number;
  /** Deepest nesting of a JSON body. Default 64. */
  jsonDepth: number;
  /** Largest frame accepted from an endpoint (the socket's maxPayload), bytes. Default 4 MiB. */
  frameBytes: number;
  /** Largest `arguments` sent to an upstream, bytes of JSON. Default 1 MiB. */
  argumentsBytes: number;
  /** Largest message read from an upstream (a tool result), bytes. Default 8 MiB. */
  resultBytes: number;
  /** Tool calls running at once per endpoint; more are refused with a clear error. Default 32. */
  callsPerEndpoint: number;
  /** Open `/api/events` streams. Default 32. */
  sseClients: number;
}

/** Several instances on PostgreSQL and Redis (docs/architecture.md, "Cluster"). */
export interface ClusterSettings {
  /** How long an endpoint's lease lives without a renewal; renewed at a third of it. Default 10 s. */
  leaseTtlMs: number;
  /** Prefix of every Redis key and channel, so tests and tenants sharing a Redis never collide. Default `tether:`. */
  keyPrefix: string;
}

export interface HubSettings {
  host: string;
  port: number;
  /** Host names (or host:port) the HTTP server answers to besides loopback and its bound host. */
  allowedHosts: string[];
  /**
   * Believe X-Forwarded-For/-Proto from a proxy in front: true from peers on loopback or a
   * private network, a list from those addresses or CIDR ranges only. Default false.
   */
  trustProxy: boolean | string[];
  limits: HubLimits;
  cluster: ClusterSettings;
  /** Default per-call timeout, ms. */
  callTimeoutMs: number;
  /** Largest tool result sent to an endpoint, in bytes of JSON. */
  resultBudgetBytes: number;
  /** A change of the tool set reaches Xiaozhi endpoints by a reconnect this long after the last change. */
  toolChangeDebounceMs: number;
  /** Answer a call still running after this long with a "still running" note and a result handle. */
  earlyReplyMs: number;
  monitor: MonitorSettings;
  /** An endpoint must be down this long before anyone is notified. Default 30 s. */
  notifyDownAfterMs: number;
}

export interface TetherConfig {
  endpoints: EndpointConfig[];
  servers: ServerConfig[];
  hub: HubSettings;
  notifications: NotificationChannel[];
  /** The file it was read from, if any. */
  file?: string;
}
