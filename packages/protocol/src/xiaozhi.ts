/**
 * Names and constants of the Xiaozhi MCP endpoint, as docs/xiaozhi-endpoint.md describes it.
 * Kept in one place so the simulator, the link and the hub cannot disagree.
 */
export const MCP_PROTOCOL_VERSION = '2024-11-05';

export const Method = {
  Initialize: 'initialize',
  Initialized: 'notifications/initialized',
  ToolsList: 'tools/list',
  ToolsCall: 'tools/call',
  Ping: 'ping',
  Cancelled: 'notifications/cancelled',
  ToolsListChanged: 'notifications/tools/list_changed',
} as const;

/** WebSocket close codes that carry meaning on Xiaozhi endpoints. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  /** Self-hosted relay: bad token (accepted at the upgrade, then closed). */
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  /** Self-hosted relay: no pong within its keepalive window. */
  InternalError: 1011,
  /** Official endpoint: "Internal server error", also sent on a bad handshake and when idle. */
  XiaozhiInternal: 4004,
} as const;

/** The clientInfo the official endpoint sends in its `initialize`. */
export const XIAOZHI_CLIENT_INFO = { name: 'xz-mcp-broker', version: '0.0.1' } as const;
