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

export interface EndpointConfig {
  name: string;
  url: string;
  enabled: boolean;
  tools: ToolFilter;
  /** Upstream server names this endpoint gets; undefined means all. */
  servers?: string[];
  /** Where it came from: the file, or the MCP_ENDPOINT environment variable. */
  source: 'file' | 'env';
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
}

export interface TetherConfig {
  endpoints: EndpointConfig[];
  servers: ServerConfig[];
  hub: HubSettings;
  /** The file it was read from, if any. */
  file?: string;
}
