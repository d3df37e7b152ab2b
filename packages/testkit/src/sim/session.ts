import type { WebSocket } from 'ws';
import {
  ErrorCode,
  idKey,
  MCP_PROTOCOL_VERSION,
  Method,
  XIAOZHI_CLIENT_INFO,
} from '@tether/protocol';
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '@tether/protocol';
import type { Referee } from './referee.js';
import type { CallOutcome, SocketState, ToolInfo } from './types.js';

export class SimTimeoutError extends Error {
  readonly code = 'SIM_TIMEOUT';
  constructor(method: string, ms: number) {
    super(`${method} aborted due to timeout after ${ms} ms`);
  }
}

export class SimClosedError extends Error {
  readonly code = 'SIM_SOCKET_CLOSED';
  constructor(method: string, code: number) {
    super(`${method} abandoned: socket closed (${code})`);
  }
}

interface Waiter {
  method: string;
  sentAt: number;
  resolve(outcome: CallOutcome): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

export interface SessionEvents {
  ready(session: ProviderSession): void;
  response(session: ProviderSession, response: JsonRpcResponse): void;
  closed(
    session: ProviderSession,
    code: number,
    reason: string,
    by: 'simulator' | 'provider',
  ): void;
}

export interface SessionSettings {
  handshakeTimeoutMs: number;
  closeTimeoutMs: number;
  jsonRpcPing: { intervalMs: number; maxMissed: number } | undefined;
  wsPing: { intervalMs: number; timeoutMs: number; closeCode: number } | undefined;
}

/**
 * One provider socket as the endpoint sees it. The official endpoint drives it:
 *
 *   provider                              endpoint (this)
 *      |  --- upgrade ?token=… ------------> |
 *      |  <-- initialize            id 0 --- |
 *      |  --- result                id 0 --> |   error or no result: close 4004
 *      |  <-- notifications/initialized ---- |   (no reply expected)
 *      |  <-- tools/list            id 1 --- |   nextCursor: follow up with the next id
 *      |  --- result {tools}        id 1 --> |   ready
 *      |  <-- ping / tools/call     id n --- |   unanswered pings: close 4004
 *
 * In relay mode the relay sends nothing of its own but WebSocket pings; robots' requests are
 * forwarded through `forward()` with their ids already rewritten.
 */
export class ProviderSession {
  state: SocketState = 'handshaking';
  tools: ToolInfo[] = [];
  readonly openedAt = Date.now();
  closedAt: number | undefined;
  private nextId = 0;
  private readonly waiters = new Map<string, Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closeBy: { code: number; reason: string } | undefined;

  constructor(
    readonly id: string,
    readonly token: string,
    private readonly ws: WebSocket,
    private readonly referee: Referee,
    private readonly settings: SessionSettings,
    private readonly events: SessionEvents,
  ) {
    referee.open(id, token);
    ws.on('message', (data, isBinary) => this.onFrame(data.toString(), isBinary));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    // Errors are followed by 'close'; listening keeps them from becoming uncaught.
    ws.on('error', () => {});
  }

  get isOpen(): boolean {
    return this.state !== 'closing' && this.state !== 'closed';
  }

  /** Sends a request with the socket's own counter (from 0) and waits for its reply. */
  request(method: string, params: unknown, timeoutMs: number): Promise<CallOutcome> {
    const id = this.nextId++;
    return this.requestWithId(id, method, params, timeoutMs);
  }

  requestWithId(
    id: JsonRpcId,
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<CallOutcome> {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) return reject(new SimClosedError(method, 1006));
      const key = idKey(id);
      const waiter: Waiter = { method, sentAt: Date.now(), resolve, reject };
      if (timeoutMs > 0) {
        waiter.timer = this.after(timeoutMs, () => {
          this.waiters.delete(key);
          this.referee.abandon(this.id, id);
          reject(new SimTimeoutError(method, timeoutMs));
        });
      }
      this.waiters.set(key, waiter);
      this.send({ jsonrpc: '2.0', id, method, params } as JsonRpcRequest);
    });
  }

  notify(method: string, params?: unknown): void {
    this.send(
      params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params },
    );
  }

  /** Sends a message as it is (relay forwarding); requests become pending for the referee. */
  send(message: JsonRpcMessage): void {
    if (!this.isOpen) return;
    this.ws.send(this.referee.outgoing(this.id, message));
  }

  sendRaw(text: string): void {
    if (this.isOpen) this.ws.send(text);
  }

  /** Closes from the endpoint's side; a peer that never completes the close is cut off. */
  close(code: number, reason = ''): void {
    if (!this.isOpen) return;
    this.state = 'closing';
    this.closeBy = { code, reason };
    this.ws.close(code, reason);
    this.after(this.settings.closeTimeoutMs, () => this.ws.terminate());
  }

  /** Drops the TCP connection with no close frame. */
  terminate(): void {
    if (this.state === 'closed') return;
    this.closeBy ??= { code: 1006, reason: 'terminated by simulator' };
    this.ws.terminate();
  }

  /** Relay mode: registered, nothing to negotiate. */
  markReady(): void {
    this.state = 'ready';
    this.startKeepalives();
    this.events.ready(this);
  }

  markUnregistered(): void {
    if (this.isOpen) this.state = 'unregistered';
  }

  async handshake(): Promise<void> {
    const timeoutMs = this.settings.handshakeTimeoutMs;
    try {
      const init = await this.request(
        Method.Initialize,
        {
          protocolVersion: MCP_PROTOCOL_VERSION,
          capabilities: { sampling: {}, roots: { listChanged: false } },
          clientInfo: XIAOZHI_CLIENT_INFO,
        },
        timeoutMs,
      );
      if (!init.ok || !isInitializeResult(init.result))
        return this.close(4004, 'Internal server error');
      this.notify(Method.Initialized);
      const tools: ToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const list = await this.request(Method.ToolsList, cursor ? { cursor } : {}, timeoutMs);
        if (!list.ok || !isToolsPage(list.result)) return this.close(4004, 'Internal server error');
        tools.push(...list.result.tools);
        cursor = list.result.nextCursor;
      } while (cursor);
      if (!this.isOpen) return;
      this.tools = tools;
      this.markReady();
    } catch (error) {
      if (error instanceof SimTimeoutError) this.close(4004, 'Internal server error');
      // SimClosedError: the socket went away mid-handshake; its close is already accounted.
    }
  }

  private startKeepalives(): void {
    const { jsonRpcPing, wsPing } = this.settings;
    if (jsonRpcPing) {
      let missed = 0;
      let answered = true;
      this.every(jsonRpcPing.intervalMs, () => {
        missed = answered ? 0 : missed + 1;
        if (missed >= jsonRpcPing.maxMissed) return this.close(4004, 'Internal server error');
        answered = false;
        this.request(Method.Ping, {}, 0).then(
          () => (answered = true),
          () => {},
        );
      });
    }
    if (wsPing) {
      let pongTimer: NodeJS.Timeout | undefined;
      this.ws.on('pong', () => {
        if (pongTimer) this.clear(pongTimer);
        pongTimer = undefined;
      });
      this.every(wsPing.intervalMs, () => {
        if (pongTimer) return;
        this.ws.ping();
        pongTimer = this.after(wsPing.timeoutMs, () =>
          this.close(wsPing.closeCode, 'keepalive ping timeout'),
        );
      });
    }
  }

  private onFrame(data: string, binary: boolean): void {
    const verdict = this.referee.incoming(this.id, data, binary);
    if (!verdict.ok) return;
    const { message } = verdict;
    if (message.kind === 'response') {
      const response = message.message;
      if (response.id !== null) this.settle(response);
      this.events.response(this, response);
    } else if (message.kind === 'request') {
      // Providers rarely ask the endpoint anything; answer ping, refuse the rest.
      const { id, method } = message.message;
      if (method === Method.Ping) this.send({ jsonrpc: '2.0', id, result: {} });
      else
        this.send({
          jsonrpc: '2.0',
          id,
          error: { code: ErrorCode.MethodNotFound, message: `Method not found: ${method}` },
        });
    }
  }

  private settle(response: JsonRpcResponse): void {
    const key = idKey(response.id as JsonRpcId);
    const waiter = this.waiters.get(key);
    if (!waiter) return;
    this.waiters.delete(key);
    if (waiter.timer) this.clear(waiter.timer);
    const ms = Date.now() - waiter.sentAt;
    const id = response.id as JsonRpcId;
    waiter.resolve(
      'error' in response
        ? { ok: false, id, error: response.error, ms }
        : { ok: true, id, result: response.result, ms },
    );
  }

  private onClose(code: number, reason: string): void {
    const by = this.closeBy ? 'simulator' : 'provider';
    const final = this.closeBy ?? { code, reason };
    this.state = 'closed';
    this.closedAt = Date.now();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters.values())
      waiter.reject(new SimClosedError(waiter.method, final.code));
    this.waiters.clear();
    this.events.closed(this, final.code, final.reason, by);
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
  }

  private clear(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

function isInitializeResult(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Record<string, unknown>;
  return typeof result.protocolVersion === 'string' && typeof result.capabilities === 'object';
}

function isToolsPage(value: unknown): value is { tools: ToolInfo[]; nextCursor?: string } {
  if (typeof value !== 'object' || value === null) return false;
  const page = value as Record<string, unknown>;
  return (
    Array.isArray(page.tools) &&
    page.tools.every(
      (tool) =>
        typeof tool === 'object' && tool !== null && typeof (tool as ToolInfo).name === 'string',
    ) &&
    (page.nextCursor === undefined || typeof page.nextCursor === 'string')
  );
}
