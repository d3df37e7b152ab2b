import WebSocket from 'ws';
import { classifyFrame, idKey, MCP_PROTOCOL_VERSION, Method } from '@tether/protocol';
import type { JsonRpcId, JsonRpcRequest } from '@tether/protocol';
import type { CallOutcome, ToolInfo } from './types.js';
import { SimClosedError, SimTimeoutError } from './session.js';

export interface RobotOptions {
  /** How long a robot waits for any reply. The real robot gives up after 30 s. */
  timeoutMs?: number;
}

/**
 * A device session on the self-hosted relay (`/mcp_endpoint/call/`). Like the real ones it
 * fires its handshake back to back without waiting:
 *
 *   robot --> initialize id 0, notifications/initialized, tools/list id 1 --> relay --> provider
 *
 * and follows a `nextCursor` with the same id 1.
 */
export class Robot {
  /** Resolves with every tool once the handshake finished. */
  readonly ready: Promise<ToolInfo[]>;
  private nextId = 2;
  private readonly waiters = new Map<
    string,
    {
      method: string;
      at: number;
      resolve(o: CallOutcome): void;
      reject(e: Error): void;
      timer: NodeJS.Timeout;
    }
  >();
  private readonly timeoutMs: number;

  private constructor(
    private readonly ws: WebSocket,
    options: RobotOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('close', (code) => this.failAll(code));
    ws.on('error', () => {});
    const init = this.request(
      Method.Initialize,
      {
        protocolVersion: MCP_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'sim-robot', version: '0.0.0' },
      },
      0,
    );
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: Method.Initialized }));
    const firstPage = this.request(Method.ToolsList, {}, 1);
    for (const pending of [init, firstPage]) pending.catch(() => {});
    this.ready = (async () => {
      const outcome = await init;
      if (!outcome.ok) throw new Error(`initialize failed: ${outcome.error.message}`);
      const tools: ToolInfo[] = [];
      for (let page = await firstPage; ;) {
        if (!page.ok) throw new Error(`tools/list failed: ${page.error.message}`);
        const result = page.result as { tools: ToolInfo[]; nextCursor?: string };
        tools.push(...result.tools);
        if (!result.nextCursor) return tools;
        page = await this.request(Method.ToolsList, { cursor: result.nextCursor }, 1);
      }
    })();
    // Callers that only use request() should not see an unhandled rejection from the handshake.
    this.ready.catch(() => {});
  }

  static connect(url: string, options: RobotOptions = {}): Promise<Robot> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Robot(ws, options)));
      ws.once('error', reject);
    });
  }

  callTool(name: string, args: Record<string, unknown> = {}): Promise<CallOutcome> {
    return this.request(Method.ToolsCall, { name, arguments: args });
  }

  request(
    method: string,
    params: unknown = {},
    id: JsonRpcId = this.nextId++,
  ): Promise<CallOutcome> {
    return new Promise((resolve, reject) => {
      const key = idKey(id);
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new SimTimeoutError(method, this.timeoutMs));
      }, this.timeoutMs);
      this.waiters.set(key, { method, at: Date.now(), resolve, reject, timer });
      const request: JsonRpcRequest = { jsonrpc: '2.0', id, method, params };
      this.ws.send(JSON.stringify(request));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }

  private onFrame(data: string): void {
    const classified = classifyFrame(data);
    if (classified.kind !== 'response' || classified.message.id === null) return;
    const response = classified.message;
    const key = idKey(response.id as JsonRpcId);
    const waiter = this.waiters.get(key);
    if (!waiter) return;
    this.waiters.delete(key);
    clearTimeout(waiter.timer);
    const ms = Date.now() - waiter.at;
    const id = response.id as JsonRpcId;
    waiter.resolve(
      'error' in response
        ? { ok: false, id, error: response.error, ms }
        : { ok: true, id, result: response.result, ms },
    );
  }

  private failAll(code: number): void {
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new SimClosedError(waiter.method, code));
    }
    this.waiters.clear();
  }
}
