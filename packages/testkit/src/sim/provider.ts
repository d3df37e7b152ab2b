import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { classifyFrame, ErrorCode, MCP_PROTOCOL_VERSION, Method } from '@tether/protocol';
import type { JsonRpcMessage, JsonRpcRequest } from '@tether/protocol';
import type { ToolInfo } from './types.js';

export interface TestProviderOptions {
  tools?: ToolInfo[];
  /** tools/list pages of this size, chained with nextCursor. */
  pageSize?: number;
  /** Answers tools/call; the default echoes the arguments as text. Return undefined to stay silent. */
  onCall?: (name: string, args: unknown, request: JsonRpcRequest) => unknown | Promise<unknown>;
  /** Leave these methods unanswered (e.g. `ping`, or `initialize` to stall a handshake). */
  ignore?: string[];
  /** Custom answers per method: return the whole frame to send, or undefined to stay silent. */
  respond?: Record<string, (request: JsonRpcRequest) => unknown>;
  ws?: ClientOptions;
}

/**
 * A minimal, well-behaved tool provider for exercising the simulator and for tests that need a
 * peer that is not the hub. Misbehaviour is opt-in (`ignore`, `sendRaw`).
 */
export class TestProvider {
  readonly received: JsonRpcMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    private readonly options: TestProviderOptions,
  ) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => void this.onFrame(data.toString()));
    ws.on('error', () => {});
  }

  static connect(url: string, options: TestProviderOptions = {}): Promise<TestProvider> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.ws);
      const provider = new TestProvider(ws, options);
      ws.once('open', () => resolve(provider));
      ws.once('error', reject);
    });
  }

  send(message: JsonRpcMessage): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    this.ws.close(code);
    return this.closed;
  }

  private async onFrame(data: string): Promise<void> {
    const classified = classifyFrame(data);
    if (classified.kind === 'invalid') return;
    this.received.push(classified.message);
    if (classified.kind !== 'request') return;
    const request = classified.message;
    if (this.options.ignore?.includes(request.method)) return;
    const custom = this.options.respond?.[request.method];
    const result = custom ? custom(request) : await this.answer(request);
    if (result === undefined || this.ws.readyState !== WebSocket.OPEN) return;
    this.send(result as JsonRpcMessage);
  }

  private async answer(request: JsonRpcRequest): Promise<unknown> {
    const { id, method } = request;
    const params = (request.params ?? {}) as Record<string, unknown>;
    switch (method) {
      case Method.Initialize:
        return {
          jsonrpc: '2.0',
          id,
          result: {
            protocolVersion: MCP_PROTOCOL_VERSION,
            capabilities: { tools: {} },
            serverInfo: { name: 'test-provider', version: '0.0.0' },
          },
        };
      case Method.ToolsList: {
        const tools = this.options.tools ?? [{ name: 'echo', inputSchema: { type: 'object' } }];
        const size = this.options.pageSize ?? tools.length;
        const start = typeof params.cursor === 'string' ? Number(params.cursor) : 0;
        const next = start + size < tools.length ? String(start + size) : undefined;
        return {
          jsonrpc: '2.0',
          id,
          result: {
            tools: tools.slice(start, start + size),
            ...(next ? { nextCursor: next } : {}),
          },
        };
      }
      case Method.Ping:
        return { jsonrpc: '2.0', id, result: {} };
      case Method.ToolsCall: {
        const onCall =
          this.options.onCall ??
          ((_name: string, args: unknown) => ({
            content: [{ type: 'text', text: JSON.stringify(args) }],
          }));
        const result = await onCall(String(params.name), params.arguments, request);
        return result === undefined ? undefined : { jsonrpc: '2.0', id, result };
      }
      default:
        return {
          jsonrpc: '2.0',
          id,
          error: { code: ErrorCode.MethodNotFound, message: `Method not found: ${method}` },
        };
    }
  }
}
