import type { JsonRpcId } from '@tether/protocol';

export type SimMode = 'official' | 'relay';

/** What the endpoint does when a second provider socket arrives for a token that has one. */
export type SecondSocketPolicy = 'replace' | 'reject' | 'allow';

export interface CloseSpec {
  code: number;
  reason?: string;
}

export interface SimulatorOptions {
  /** `official` behaves like xiaozhi.me, `relay` like xiaozhi-esp32-server's mcp-endpoint-server. */
  mode?: SimMode;
  host?: string;
  port?: number;
  /** Accepted tokens, or a predicate. Default: any non-empty token. */
  tokens?: readonly string[] | ((token: string) => boolean);
  /** How a bad token is closed once the upgrade was accepted. Default 1008 "invalid token". */
  badToken?: CloseSpec;
  /** Default `replace`: the old socket is closed with 1000, as both real endpoints do. */
  secondSocket?: SecondSocketPolicy;
  /** Close used by the `reject` policy. Default 1008 "already connected". */
  rejectClose?: CloseSpec;
  /**
   * The relay's known bug: after a replacement the close of the old socket unregisters the
   * *new* one, which then stays open and receives nothing.
   */
  replaceBug?: boolean;
  /** Official mode: the provider must answer `initialize` within this time, else close 4004. */
  handshakeTimeoutMs?: number;
  /**
   * Official mode: JSON-RPC `ping` requests every `intervalMs`; after `maxMissed` unanswered in a
   * row the socket is closed with 4004. The real interval is unknown; default off.
   */
  jsonRpcPing?: { intervalMs: number; maxMissed?: number } | false;
  /**
   * WebSocket ping frames; no pong within `timeoutMs` closes with `closeCode`.
   * Default: off in official mode; 20 s / 20 s / 1011 in relay mode.
   */
  wsPing?: { intervalMs: number; timeoutMs: number; closeCode?: number } | false;
  /** How long `callTool` waits for a result. Default 10 s (official), 30 s (relay robots). */
  callTimeoutMs?: number;
  /** After the simulator starts a close, how long the peer has to complete it. Default 2 s. */
  closeTimeoutMs?: number;
  /** Largest frame accepted, in bytes. Default 100 MiB. */
  maxPayload?: number;
  /** Frames kept in the log; the oldest are dropped beyond this. Default 100,000. */
  maxFrames?: number;
  /** agentId placed in the `_meta` of tool calls. */
  agentId?: number;
}

export type FrameDirection = 'in' | 'out';

/** One frame as the endpoint saw it: `in` came from the provider (or robot), `out` went to it. */
export interface FrameRecord {
  at: number;
  socketId: string;
  token: string;
  direction: FrameDirection;
  data: string;
  binary?: boolean;
}

export type ViolationKind =
  'reply-to-notification' | 'unknown-id' | 'wrong-socket' | 'duplicate-reply' | 'malformed-frame';

export interface Violation {
  at: number;
  kind: ViolationKind;
  socketId: string;
  token: string;
  detail: string;
  frame: string;
}

export type TimelineEvent =
  | { at: number; type: 'open'; socketId: string }
  | { at: number; type: 'ready'; socketId: string; tools: number }
  | {
      at: number;
      type: 'close';
      socketId: string;
      code: number;
      reason: string;
      /** Who started the close: the simulator (on demand, policy, penalty) or the provider. */
      by: 'simulator' | 'provider';
    };

export interface TokenAccounting {
  token: string;
  openNow: number;
  maxOpen: number;
  opens: number;
  closes: number;
  handshakes: number;
  timeline: TimelineEvent[];
}

export type SocketState = 'handshaking' | 'ready' | 'unregistered' | 'closing' | 'closed';

export interface SocketInfo {
  id: string;
  token: string;
  kind: 'provider' | 'robot';
  state: SocketState;
  openedAt: number;
  closedAt?: number;
  tools: readonly ToolInfo[];
}

export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema?: unknown;
  [key: string]: unknown;
}

export type CallOutcome =
  | { ok: true; id: JsonRpcId; result: unknown; ms: number }
  | {
      ok: false;
      id: JsonRpcId;
      error: { code: number; message: string; data?: unknown };
      ms: number;
    };
