import type { ServerResponse } from 'node:http';
import { parseJSONRPCMessage } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, RequestId, Transport } from '@modelcontextprotocol/server';

/**
 * The legacy HTTP+SSE server transport (protocol 2024-11-05), which the v2 server SDK no longer
 * ships; enough of it for the SDK's `SSEClientTransport`.
 *
 *   client                                   server
 *     GET /sse  ─────────────────────────────▶  200 text/event-stream
 *               ◀── event: endpoint             data: /messages?sessionId=ID
 *     POST /messages?sessionId=ID {rpc} ────▶  202 Accepted
 *               ◀── event: message              data: {rpc response or notification}
 *
 * The stream is the only way back to the client, so the transport closes when it ends.
 */
export class SseServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private state: 'new' | 'open' | 'closed' = 'new';
  /** Requests received and not yet answered: the session is idle when this is empty. */
  private readonly pending = new Set<RequestId>();
  private closeWhenIdle = false;

  constructor(
    readonly sessionId: string,
    private readonly res: ServerResponse,
    private readonly endpoint: string,
  ) {}

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('SseServerTransport already started');
    this.state = 'open';
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
    });
    this.res.on('close', this.onStreamClosed);
    this.res.write(`event: endpoint\ndata: ${this.endpoint}\n\n`);
  }

  /** A POSTed body; throws (for a 400) when it is not a JSON-RPC message. */
  deliver(body: unknown): void {
    if (this.state !== 'open') throw new Error('SSE stream is not open');
    const message = parseJSONRPCMessage(body);
    if ('method' in message && 'id' in message) this.pending.add(message.id);
    this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.state !== 'open') throw new Error('SSE stream is not open');
    this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    if (!('method' in message) && 'id' in message && message.id !== undefined) {
      this.pending.delete(message.id);
      if (this.closeWhenIdle && this.pending.size === 0) await this.close();
    }
  }

  /** Closes now if no request is waiting for an answer, or right after the last answer is sent. */
  async drain(): Promise<void> {
    this.closeWhenIdle = true;
    if (this.pending.size === 0) await this.close();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.res.off('close', this.onStreamClosed);
    this.res.end();
    this.onclose?.();
  }

  private readonly onStreamClosed = (): void => {
    void this.close();
  };
}
