import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import type { Clock } from '@tether/link';
import type { CallOptions, ToolResult } from './types.js';

/**
 * The first id of the relay's requests. The SDK's client numbers its own requests (initialize,
 * tools/list, ping) from 0 on the same transport; a billion of those are never sent, and ids
 * stay within 31 bits for servers that read them as 32-bit integers.
 */
export const RELAY_FIRST_ID = 1_000_000_000;

interface Pending {
  resolve(result: ToolResult): void;
  reject(error: unknown): void;
  timer: unknown;
  ms: number;
  onProgress: CallOptions['onProgress'];
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** What a tools/call result must be for the hub to relay it: an object with a content array. */
export function isToolResult(value: unknown): value is ToolResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Array.isArray((value as { content?: unknown }).content)
  );
}

/**
 * `tools/call` on a session of the 2025 protocol era as plain JSON-RPC beside the SDK's client:
 * a request with an id of its own, a timer, and the response handed back as the server sent it
 * (checked only to be a tool result), so the call path allocates what a request-id map needs
 * and no more (docs/architecture.md, "The call path"). What it keeps of the SDK's behaviour: a
 * progress token on every call, progress restarting the time limit, `notifications/cancelled`
 * when the caller gives up or the time is up, the SDK's error classes (upstream/errors.ts maps
 * them). Sessions of a later era (with per-request envelopes) keep the SDK's request path.
 */
export class CallRelay {
  private next = RELAY_FIRST_ID;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
  ) {}

  call(
    name: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(asSdkError(signal.reason));
    const id = this.next++;
    return new Promise<ToolResult>((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        timer: undefined,
        ms: options.timeoutMs,
        onProgress: options.onProgress,
        signal,
        onAbort: undefined,
      };
      this.pending.set(id, pending);
      this.arm(id, pending);
      if (signal) {
        pending.onAbort = () => this.cancel(id, signal.reason);
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      const params: Record<string, unknown> = { name, _meta: { progressToken: id } };
      if (args !== undefined) params.arguments = args;
      this.transport
        .send({ jsonrpc: '2.0', id, method: 'tools/call', params } as JSONRPCMessage)
        .catch((error: unknown) => this.settle(id)?.reject(error));
    });
  }

  /** A message from the server: true when it was the relay's (a response or progress). */
  take(message: JSONRPCMessage): boolean {
    const m = message as {
      id?: unknown;
      method?: unknown;
      params?: { progressToken?: unknown };
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
    };
    if (m.method === undefined) {
      if (typeof m.id !== 'number' || !this.pending.has(m.id)) return false;
      const pending = this.settle(m.id)!;
      if (m.error !== undefined)
        pending.reject(ProtocolError.fromError(m.error.code, m.error.message, m.error.data));
      else if (isToolResult(m.result)) pending.resolve(m.result);
      else
        pending.reject(
          new SdkError(
            SdkErrorCode.InvalidResult,
            'Invalid result for tools/call: not a tool result',
          ),
        );
      return true;
    }
    if (m.method !== 'notifications/progress') return false;
    const token = m.params?.progressToken;
    const pending = typeof token === 'number' ? this.pending.get(token) : undefined;
    if (!pending) return false;
    this.clock.clearTimeout(pending.timer);
    this.arm(token as number, pending);
    const { progressToken: _, ...progress } = m.params as Record<string, unknown>;
    pending.onProgress?.(progress as Parameters<NonNullable<CallOptions['onProgress']>>[0]);
    return true;
  }

  /** Every call still waiting fails with `reason` (the connection closed or was given up on). */
  failAll(reason: unknown): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(reason);
  }

  private arm(id: number, pending: Pending): void {
    pending.timer = this.clock.setTimeout(
      () =>
        this.cancel(
          id,
          new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: pending.ms }),
        ),
      pending.ms,
    );
  }

  /** The caller gave up or the time is up: the server is told, the caller hears `reason`. */
  private cancel(id: number, reason: unknown): void {
    const pending = this.settle(id);
    if (!pending) return;
    this.transport
      .send({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: String(reason) },
      } as JSONRPCMessage)
      .catch(() => {});
    pending.reject(asSdkError(reason));
  }

  /** Takes the call out of the map, its timer and listener with it. */
  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    this.pending.delete(id);
    this.clock.clearTimeout(pending.timer);
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    return pending;
  }
}

/** As the SDK rejects a cancelled request: its SdkError reason as it is, anything else wrapped. */
function asSdkError(reason: unknown): SdkError {
  return reason instanceof SdkError
    ? reason
    : new SdkError(SdkErrorCode.RequestTimeout, String(reason));
}
