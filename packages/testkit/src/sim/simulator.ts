import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { Method } from '@tether/protocol';
import type { JsonRpcMessage } from '@tether/protocol';
import { Accounting } from './accounting.js';
import { Referee } from './referee.js';
import { RelayRouter } from './relay.js';
import type { RobotPort } from './relay.js';
import { Robot } from './robot.js';
import type { RobotOptions } from './robot.js';
import { ProviderSession } from './session.js';
import type { SessionSettings } from './session.js';
import type {
  CallOutcome,
  CloseSpec,
  FrameRecord,
  SimMode,
  SimulatorOptions,
  SocketInfo,
  TokenAccounting,
  Violation,
} from './types.js';

const PATHS = {
  official: { provider: ['/mcp', '/mcp/'], robot: [] as string[] },
  relay: {
    provider: ['/mcp_endpoint/mcp', '/mcp_endpoint/mcp/'],
    robot: ['/mcp_endpoint/call', '/mcp_endpoint/call/'],
  },
} as const;

export interface SimulatorEvents {
  open: [SocketInfo];
  ready: [SocketInfo];
  close: [SocketInfo & { code: number; reason: string; by: 'simulator' | 'provider' }];
  violation: [Violation];
}

export interface SocketTarget {
  token?: string;
  socketId?: string;
}

/**
 * A Xiaozhi MCP endpoint on loopback, faithful to docs/xiaozhi-endpoint.md, with a referee that
 * records every frame and every breach of the protocol, and accounting of sockets per token.
 * `mode: 'official'` plays xiaozhi.me; `mode: 'relay'` plays the self-hosted mcp-endpoint-server
 * with its robots.
 */
export class EndpointSimulator extends EventEmitter<SimulatorEvents> {
  readonly mode: SimMode;
  readonly referee: Referee;
  private readonly ledger = new Accounting();
  private readonly sessions = new Map<string, ProviderSession>();
  /** Registered provider sockets per registration key (token, or token + server_id). */
  private readonly registry = new Map<string, ProviderSession[]>();
  private readonly robots = new Set<WebSocket>();
  private readonly relay: RelayRouter;
  private readonly settings: SessionSettings;
  private readonly wss: WebSocketServer;
  private seq = 0;

  private constructor(
    private readonly http: Server,
    private readonly options: SimulatorOptions,
  ) {
    super();
    this.mode = options.mode ?? 'official';
    this.referee = new Referee(options.maxFrames ?? 100_000, (v) => this.emit('violation', v));
    const relayDefaults = this.mode === 'relay';
    const jsonRpcPing = options.jsonRpcPing || undefined;
    const wsPing =
      options.wsPing === undefined
        ? relayDefaults
          ? { intervalMs: 20_000, timeoutMs: 20_000 }
          : undefined
        : options.wsPing || undefined;
    this.settings = {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 2_000,
      jsonRpcPing: jsonRpcPing && {
        intervalMs: jsonRpcPing.intervalMs,
        maxMissed: jsonRpcPing.maxMissed ?? 2,
      },
      wsPing: wsPing && { ...wsPing, closeCode: wsPing.closeCode ?? 1011 },
    };
    this.relay = new RelayRouter((token) => this.active({ token }));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload ?? 100 * 1024 * 1024,
    });
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  static async start(options: SimulatorOptions = {}): Promise<EndpointSimulator> {
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
    });
    const sim = new EndpointSimulator(http, options);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return sim;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** The URL a provider dials for `token`. */
  url(token = 'test-token', extraQuery = ''): string {
    const path = PATHS[this.mode].provider[1];
    return `ws://${this.host}:${this.port}${path}?token=${encodeURIComponent(token)}${extraQuery}`;
  }

  /** Relay mode: the URL a robot (device session) dials. */
  robotUrl(token = 'test-token'): string {
    return `ws://${this.host}:${this.port}${PATHS.relay.robot[1]}?token=${encodeURIComponent(token)}`;
  }

  get frames(): readonly FrameRecord[] {
    return this.referee.frames;
  }

  get violations(): readonly Violation[] {
    return this.referee.violations;
  }

  accounting(token = 'test-token'): TokenAccounting {
    return this.ledger.get(token);
  }

  sockets(token?: string): SocketInfo[] {
    return [...this.sessions.values()]
      .filter((s) => token === undefined || s.token === token)
      .map(info);
  }

  /** Waits until `predicate` holds, re-checked after every socket event; bounded. */
  waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`simulator: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        for (const event of ['open', 'ready', 'close', 'violation'] as const)
          this.off(event, check);
      };
      for (const event of ['open', 'ready', 'close', 'violation'] as const) this.on(event, check);
    });
  }

  /** Resolves once `count` handshakes have completed for the token (counted since start). */
  async waitForReady(
    options: { token?: string; count?: number; timeoutMs?: number } = {},
  ): Promise<SocketInfo> {
    const token = options.token ?? 'test-token';
    const count = options.count ?? 1;
    await this.waitFor(
      () => this.ledger.get(token).handshakes >= count,
      options.timeoutMs,
      `${count} handshake(s) on ${token}`,
    );
    const ready = this.active({ token });
    if (!ready) throw new Error(`simulator: ${token} completed a handshake but has no live socket`);
    return info(ready);
  }

  /** A `tools/call` as the endpoint sends it, extra keys included. */
  callTool(
    name: string,
    args: Record<string, unknown> = {},
    target: SocketTarget & { timeoutMs?: number } = {},
  ): Promise<CallOutcome> {
    return this.request(
      Method.ToolsCall,
      {
        name,
        arguments: args,
        clientId: null,
        serialNumber: null,
        _meta: { agentId: this.options.agentId ?? 123 },
      },
      target,
    );
  }

  /** Any request on the target socket (in relay mode, from an in-process robot). */
  async request(
    method: string,
    params: unknown = {},
    target: SocketTarget & { timeoutMs?: number } = {},
  ): Promise<CallOutcome> {
    const timeoutMs =
      target.timeoutMs ?? this.options.callTimeoutMs ?? (this.mode === 'relay' ? 30_000 : 10_000);
    if (this.mode === 'relay')
      return this.virtualRobotRequest(target.token ?? 'test-token', method, params, timeoutMs);
    const session = this.pick(target);
    return session.request(method, params, timeoutMs);
  }

  notify(method: string, params?: unknown, target: SocketTarget = {}): void {
    this.pick(target).notify(method, params);
  }

  /** Sends text as it is: malformed frames, oversize frames, anything. */
  sendRaw(text: string, target: SocketTarget = {}): void {
    this.pick(target).sendRaw(text);
  }

  /** Closes the matching live sockets with any code; returns how many. */
  closeSockets(close: CloseSpec, target: SocketTarget = {}): number {
    const matching = this.live(target);
    for (const session of matching) session.close(close.code, close.reason);
    return matching.length;
  }

  /** Drops the matching sockets without a close frame. */
  terminateSockets(target: SocketTarget = {}): number {
    const matching = this.live(target);
    for (const session of matching) session.terminate();
    return matching.length;
  }

  /** Relay mode: a device session, connected over a real WebSocket. */
  robot(token = 'test-token', options: RobotOptions = {}): Promise<Robot> {
    return Robot.connect(this.robotUrl(token), options);
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.close(1001, 'simulator shutting down');
    for (const robot of this.robots) robot.terminate();
    await this.waitFor(
      () => [...this.sessions.values()].every((s) => s.state === 'closed'),
      this.settings.closeTimeoutMs + 1_000,
    ).catch(() => {});
    for (const session of this.sessions.values()) session.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const paths = PATHS[this.mode];
    const kind = (paths.provider as readonly string[]).includes(url.pathname)
      ? 'provider'
      : (paths.robot as readonly string[]).includes(url.pathname)
        ? 'robot'
        : undefined;
    if (!kind) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = url.searchParams.get('token') ?? '';
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (kind === 'robot') this.acceptRobot(ws, token);
      else this.acceptProvider(ws, token, url.searchParams.get('server_id') ?? '');
    });
  }

  private acceptProvider(ws: WebSocket, token: string, serverId: string): void {
    const id = `s${++this.seq}`;
    const key = serverId ? `${token}#${serverId}` : token;
    const session = new ProviderSession(id, token, ws, this.referee, this.settings, {
      ready: (s) => {
        this.ledger.ready(s.token, s.id, s.tools.length);
        this.emit('ready', info(s));
      },
      response: (_s, response) => {
        if (this.mode === 'relay') this.relay.fromProvider(response);
      },
      closed: (s, code, reason, by) => {
        this.unregister(key, s);
        this.ledger.close(s.token, s.id, code, reason, by);
        this.emit('close', { ...info(s), code, reason, by });
      },
    });
    this.sessions.set(id, session);
    this.ledger.open(token, id);
    this.emit('open', info(session));

    // Bad tokens are accepted at the WebSocket level and then closed, as both endpoints do.
    if (!this.tokenOk(token)) {
      const bad = this.options.badToken ?? { code: 1008, reason: 'invalid token' };
      return session.close(bad.code, bad.reason);
    }
    const existing = (this.registry.get(key) ?? []).filter((s) => s.isOpen);
    const policy = this.options.secondSocket ?? 'replace';
    if (existing.length > 0 && policy === 'reject') {
      const reject = this.options.rejectClose ?? { code: 1008, reason: 'already connected' };
      return session.close(reject.code, reject.reason);
    }
    if (policy === 'replace') {
      this.registry.set(key, [session]);
      for (const old of existing) old.close(1000, 'replaced by a new connection');
    } else {
      this.registry.set(key, [...existing, session]);
    }
    if (this.mode === 'official') void session.handshake();
    else session.markReady();
  }

  private unregister(key: string, session: ProviderSession): void {
    const registered = this.registry.get(key) ?? [];
    if (this.options.replaceBug && this.mode === 'relay' && !registered.includes(session)) {
      // The relay's bug: the replaced socket's cleanup removes whoever holds the key now.
      for (const orphan of registered) orphan.markUnregistered();
      this.registry.delete(key);
      return;
    }
    const remaining = registered.filter((s) => s !== session);
    if (remaining.length > 0) this.registry.set(key, remaining);
    else this.registry.delete(key);
  }

  private acceptRobot(ws: WebSocket, token: string): void {
    this.robots.add(ws);
    const port: RobotPort = {
      id: this.relay.newRobotId(),
      token,
      deliver: (message) => ws.send(JSON.stringify(message)),
    };
    ws.on('message', (data) => this.relay.fromRobot(port, data.toString()));
    ws.on('error', () => {});
    ws.on('close', () => {
      this.robots.delete(ws);
      this.relay.forgetRobot(port);
    });
  }

  private virtualRobotRequest(
    token: string,
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<CallOutcome> {
    return new Promise((resolve, reject) => {
      const sentAt = Date.now();
      const port: RobotPort = {
        id: this.relay.newRobotId(),
        token,
        deliver: (message: JsonRpcMessage) => {
          clearTimeout(timer);
          const ms = Date.now() - sentAt;
          if ('error' in message) resolve({ ok: false, id: 0, error: message.error, ms });
          else if ('result' in message) resolve({ ok: true, id: 0, result: message.result, ms });
        },
      };
      const timer = setTimeout(() => {
        this.relay.forgetRobot(port);
        reject(new Error(`${method} timed out after ${timeoutMs} ms (robot)`));
      }, timeoutMs);
      this.relay.fromRobot(port, JSON.stringify({ jsonrpc: '2.0', id: 0, method, params }));
    });
  }

  private tokenOk(token: string): boolean {
    const { tokens } = this.options;
    if (!tokens) return token.length > 0;
    return typeof tokens === 'function' ? tokens(token) : tokens.includes(token);
  }

  private live(target: SocketTarget): ProviderSession[] {
    return [...this.sessions.values()].filter(
      (s) =>
        s.isOpen &&
        (target.token === undefined || s.token === target.token) &&
        (target.socketId === undefined || s.id === target.socketId),
    );
  }

  /** The socket calls go to: the newest registered one that finished its handshake. */
  private active(target: SocketTarget): ProviderSession | undefined {
    if (target.socketId) return this.live(target)[0];
    const token = target.token ?? 'test-token';
    const registered = [...this.registry.entries()]
      .filter(([key]) => key === token || key.startsWith(`${token}#`))
      .flatMap(([, list]) => list);
    return registered.filter((s) => s.state === 'ready').at(-1);
  }

  private pick(target: SocketTarget): ProviderSession {
    const session = this.active(target);
    if (!session)
      throw new Error(
        `simulator: no ready provider socket for ${target.socketId ?? target.token ?? 'test-token'}`,
      );
    return session;
  }
}

function info(session: ProviderSession): SocketInfo {
  return {
    id: session.id,
    token: session.token,
    kind: 'provider',
    state: session.state,
    openedAt: session.openedAt,
    ...(session.closedAt !== undefined ? { closedAt: session.closedAt } : {}),
    tools: session.tools,
  };
}
