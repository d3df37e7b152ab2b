import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import type { Link } from '@tether/link';
import { classifyFrame, ErrorCode } from '@tether/protocol';
import type { Classified } from '@tether/protocol';
import type { Logger } from '../log/logger.js';

/**
 * The MCP SDK's Transport over one socket of a link: one instance per socket generation.
 * Replies go out only on the socket their request came in on — `link.send(data, generation)`
 * refuses a later socket — so a result computed for a dead socket is dropped, never delivered
 * into the next session.
 */
export class LinkTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly detach: () => void;
  private closed = false;
  /** Frames that arrive before the SDK has started the transport wait here, in order. */
  private early: Array<[string | Uint8Array, boolean]> | undefined = [];

  constructor(
    private readonly link: Link,
    readonly generation: number,
    private readonly logger: Logger,
    private readonly hooks: { onRequest?: (method: string) => void } = {},
  ) {
    // Subscribed from the start: the endpoint speaks first, maybe before the SDK is attached.
    this.detach = this.link.on('message', (data, meta) => {
      if (meta.generation !== this.generation) return;
      if (this.early) this.early.push([data, meta.binary]);
      else this.receive(data, meta.binary);
    });
  }

  async start(): Promise<void> {
    const early = this.early ?? [];
    this.early = undefined;
    for (const [data, binary] of early) this.receive(data, binary);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed || !this.link.send(JSON.stringify(message), this.generation)) {
      this.logger.warn(
        { generation: this.generation, id: (message as { id?: unknown }).id },
        'dropped a message: its socket is gone',
      );
    }
  }

  async close(): Promise<void> {
    this.socketGone();
  }

  /** The socket this transport belongs to is closed: the SDK aborts every call it carried. */
  socketGone(): void {
    if (this.closed) return;
    this.closed = true;
    this.early = undefined;
    this.detach();
    this.onclose?.();
  }

  /**
   * Every request gets an answer, even one the SDK would drop: a frame that is not JSON gets
   * -32700, a request with an unusable id (1.5, 1e308, 2^64) -32600 to `id: null`, params that
   * are not an object -32602 to the request's own id. Notifications are never answered; either
   * way there is a log line and the socket stays up.
   */
  private receive(data: string | Uint8Array, binary: boolean): void {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    const frame: Classified = binary
      ? { kind: 'invalid', reason: 'binary frame', raw: text, code: ErrorCode.InvalidRequest }
      : classifyFrame(text);
    if (frame.kind === 'invalid') {
      this.logger.warn(
        { reason: frame.reason, code: frame.code, frame: text.slice(0, 200) },
        'malformed frame from endpoint',
      );
      if (isNotification(text)) return;
      this.link.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: frame.id ?? null,
          error: { code: frame.code, message: `${TITLES[frame.code]}: ${frame.reason}` },
        }),
        this.generation,
      );
      return;
    }
    if (frame.kind === 'request') this.hooks.onRequest?.(frame.message.method);
    this.onmessage?.(frame.message as JSONRPCMessage);
  }
}

const TITLES: Record<number, string> = {
  [ErrorCode.ParseError]: 'Parse error',
  [ErrorCode.InvalidRequest]: 'Invalid Request',
  [ErrorCode.InvalidParams]: 'Invalid params',
};

/** A well-formed object with a method and no id: a notification, however bad its params. */
function isNotification(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      'method' in value &&
      !('id' in value)
    );
  } catch {
    return false;
  }
}
