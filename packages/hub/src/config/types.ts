/**
 * The configuration the hub runs on, after loading, expansion, aliasing and validation.
 * The file format is PRODUCT.md's `tether.config.json` contract; these are the resolved values.
 */
export interface ToolFilter {
  /** Globs over exposed tool names (`server__tool`). Default `["*"]`. */
  include: string[];
  /** Globs removed after include. Default `[]`. */
  exclude: string[];
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

export interface NotificationChannel {
  name: string;
  kind: 'generic' | 'feishu' | 'dingtalk' | 'wecom' | 'slack' | 'discord' | 'ntfy';
  url: string;
  /** DingTalk signing secret. */
  secret?: string;
  /** Which events; default all: endpoint.down, endpoint.parked, endpoint.recovered, server.crashloop. */
  events: string[];
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
  /** Description overrides by the server's own tool name. */
  descriptions?: Record<string, string>;
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

export interface HubSettings {
  host: string;
  port: number;
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
