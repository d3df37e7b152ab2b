import { setMaxListeners } from 'node:events';
import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import { z } from 'zod';
import { namesExpandedOutside } from '../config/expand.js';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { Deadline, SDK_TIMEOUT_OFF_MS } from './deadline.js';
import { abandonedReason, closedReason } from './errors.js';
import { limitedFetch } from './limited-fetch.js';
import { tooLargeResponse } from './limits.js';
import { CallRelay, isToolResult } from './relay.js';
import { ChildProcessTransport, describeExit } from './stdio-transport.js';
import { walkToolList } from './tool-list.js';
import type { ToolListing, ToolsPage } from './tool-list.js';
import type { CallOptions, ToolResult, UpstreamError } from './types.js';

export interface ConnectionHooks {
  /** The connection ended without being asked to (child exit, transport closed). */
  onLost(connection: Connection, reason: string): void;
  onToolsChanged(connection: Connection): void;
  onTransportError(connection: Connection, error: Error): void;
  onStderrLine(line: string): void;
  /** The last stderr line so far, for describing an exit. */
  lastStderrLine(): string | undefined;
}

export interface ConnectionOptions {
  logger: Logger;
  stopGraceMs: number;
  maxResultBytes: number;
  maxArgumentsBytes: number;
  /** Times every request (handshake, tools/list, ping, call) and the child's stop. */
  clock?: Clock;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/*
 * Result schemas that check the shape and hand back the very objects the server sent: the SDK's
 * own schemas (and Client.callTool's output-schema validation) would rewrite or reject what the
 * hub must relay untouched.
 */
const toolsPageSchema = z.custom<ToolsPage>(
  (value) =>
    isRecord(value) &&
    Array.isArray(value.tools) &&
    value.tools.every(
      (t) => isRecord(t) && typeof t.name === 'string' && isRecord(t.inputSchema),
    ) &&
    (value.nextCursor === undefined || typeof value.nextCursor === 'string'),
  { message: 'not a tools/list result' },
);
const toolResultSchema = z.custom<ToolResult>(isToolResult, {
  message: 'not a tools/call result',
});

/**
 * One session with an upstream: an SDK Client over one transport. The supervisor makes a new
 * Connection for every (re)start and every re-initialisation; a Connection is never reused.
 *
 * `lifetime` is the parent of every call's signal, so close() cancels every call in one place.
 */
export class Connection {
  readonly client = new Client({ name: 'tether-hub', version: '0.1.0' });
  readonly transport: Transport;
  private readonly lifetime = new AbortController();
  private readonly clock: Clock;
  private established = false;
  /** Set before close() does anything: transports report their close synchronously. */
  private closeRequested = false;
  private inflight = 0;
  private retiring = false;
  private markClosed!: () => void;
  /** The call path of a 2025-era session, once it is open; later eras keep the SDK's. */
  private relay: CallRelay | undefined;
  private readonly closedPromise = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });

  constructor(
    readonly config: ServerConfig,
    private readonly hooks: ConnectionHooks,
    options: ConnectionOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    // Every request of the SDK's path follows this signal while it runs (Deadline): dozens at
    // once are normal, not a leak, so Node's warning past ten listeners would only mislead.
    setMaxListeners(0, this.lifetime.signal);
    // Late-bound: the SDK installs the transport's onmessage when the client connects.
    const deliver = (message: JSONRPCMessage): void => this.transport.onmessage?.(message);
    this.transport = createTransport(config, hooks, options, deliver);
    this.client.onclose = () => {
      // Before connect() resolves a close surfaces as its rejection; after close() it is ours.
      if (!this.established || this.closeRequested) return;
      this.lifetime.abort(closedReason('the connection closed'));
      hooks.onLost(this, this.describeEnd() ?? 'the connection closed');
    };
    this.client.onerror = (error) => hooks.onTransportError(this, error);
    this.client.setNotificationHandler('notifications/tools/list_changed', () =>
      hooks.onToolsChanged(this),
    );
  }

  get pid(): number | undefined {
    return this.transport instanceof ChildProcessTransport ? this.transport.pid : undefined;
  }

  /** initialize + initialized, bounded by `timeoutMs`. */
  async open(timeoutMs: number): Promise<void> {
    const deadline = this.deadline(timeoutMs);
    try {
      await this.client.connect(this.transport, bounded(deadline));
    } finally {
      deadline.clear();
    }
    this.established = true;
    if (this.client.getProtocolEra() === 'legacy') this.startRelay();
  }

  /**
   * Calls go through the relay from now on (upstream/relay.ts): it reads the server's messages
   * first and hands the SDK's client what is not its own.
   */
  private startRelay(): void {
    const relay = new CallRelay(this.transport, this.clock);
    const sdk = this.transport.onmessage;
    this.transport.onmessage = (message, extra) => {
      if (!relay.take(message)) sdk?.call(this.transport, message, extra);
    };
    const { signal } = this.lifetime;
    if (signal.aborted) relay.failAll(signal.reason);
    else signal.addEventListener('abort', () => relay.failAll(signal.reason), { once: true });
    this.relay = relay;
  }

  /**
   * Every page of tools/list, the whole walk bounded by `timeoutMs`, and within the limits on
   * what one server may list (walkToolList).
   */
  async listTools(timeoutMs: number): Promise<ToolListing> {
    // One deadline for every page: a page asked for after it passed fails at once.
    const deadline = this.deadline(timeoutMs, { message: `tools/list took over ${timeoutMs} ms` });
    try {
      return await walkToolList((cursor) =>
        this.client.request(
          { method: 'tools/list', ...(cursor !== undefined && { params: { cursor } }) },
          toolsPageSchema,
          bounded(deadline),
        ),
      );
    } finally {
      deadline.clear();
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    const deadline = this.deadline(timeoutMs);
    try {
      await this.client.ping(bounded(deadline));
    } finally {
      deadline.clear();
    }
  }

  /**
   * A request's one signal: it ends with the caller's `signal`, the connection or at `ms`,
   * whichever comes first, and the first gives its reason (a cancelled call reads as cancelled).
   */
  private deadline(ms: number, options: { message?: string; signal?: AbortSignal } = {}) {
    return new Deadline(this.clock, ms, {
      ...(options.message !== undefined && { message: options.message }),
      follows: [options.signal, this.lifetime.signal],
    });
  }

  /** The raw tools/call result; errors as the SDK throws them (see errors.ts). */
  async call(
    name: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<ToolResult> {
    if (this.relay) {
      this.inflight++;
      try {
        return await this.relay.call(name, args, options);
      } finally {
        this.callEnded();
      }
    }
    const onProgress = options.onProgress;
    const deadline = this.deadline(options.timeoutMs, { signal: options.signal });
    this.inflight++;
    try {
      return await this.client.request(
        { method: 'tools/call', params: { name, ...(args !== undefined && { arguments: args }) } },
        toolResultSchema,
        {
          ...bounded(deadline),
          // The SDK's own (out of the way) timer too, so it never cuts a call progress keeps alive.
          resetTimeoutOnProgress: true,
          // Always ask for progress: without a token the server sends none, and progress is
          // what keeps a long call alive past its timeout.
          onprogress: (progress) => {
            deadline.restart();
            onProgress?.(progress);
          },
        },
      );
    } finally {
      deadline.clear();
      this.callEnded();
    }
  }

  private callEnded(): void {
    this.inflight--;
    if (this.retiring && this.inflight === 0) void this.close();
  }

  /** Close once the calls already running here have finished (a replaced HTTP session). */
  retire(): void {
    this.retiring = true;
    if (this.inflight === 0) void this.close();
  }

  /** Cancels every call (they read as unavailable), then closes the transport; idempotent. */
  close(): Promise<void> {
    if (!this.closeRequested) {
      this.closeRequested = true;
      void this.shutdown();
    }
    return this.closedPromise;
  }

  /**
   * Gives up on a server that stopped answering: every call here fails with `error` at once, a
   * child's group is SIGKILLed (not asked to stop, which it would not hear), and the connection
   * closes.
   */
  abandon(error: UpstreamError): Promise<void> {
    // Before close() aborts with its own reason: the first reason is the one calls see.
    this.lifetime.abort(abandonedReason(error));
    if (this.transport instanceof ChildProcessTransport) void this.transport.kill();
    return this.close();
  }

  /** Settles when close() has finished. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  private async shutdown(): Promise<void> {
    this.lifetime.abort(closedReason('the upstream connection was closed'));
    try {
      await this.client.close();
    } catch {
      // The transport may be half-open already; close is best effort past this point.
    }
    this.markClosed();
  }

  /** How the child ended, if this is a stdio connection whose child has. */
  describeEnd(): string | undefined {
    if (this.transport instanceof ChildProcessTransport && this.transport.exit !== undefined) {
      return describeExit(this.transport.exit, this.hooks.lastStderrLine());
    }
    return undefined;
  }
}

/** SDK request options timed by `deadline` alone. */
const bounded = (deadline: Deadline) => ({ timeout: SDK_TIMEOUT_OFF_MS, signal: deadline.signal });

/** `deliver` hands a message to the client as if the server had sent it. */
function createTransport(
  config: ServerConfig,
  hooks: ConnectionHooks,
  options: ConnectionOptions,
  deliver: (message: JSONRPCMessage) => void,
): Transport {
  const { logger, maxResultBytes, maxArgumentsBytes } = options;
  if (config.type === 'stdio') {
    return new ChildProcessTransport({
      command: config.command,
      args: config.args,
      env: config.env,
      expandedElsewhere: namesExpandedOutside(config.name),
      cwd: config.cwd,
      stopGraceMs: options.stopGraceMs,
      clock: options.clock ?? systemClock,
      maxResultBytes,
      maxArgumentsBytes,
      logger,
      onStderrLine: (line) => hooks.onStderrLine(line),
    });
  }
  const fetch = limitedFetch({
    maxResultBytes,
    maxArgumentsBytes,
    logger,
    onTooLarge: (ids, marker) => {
      for (const id of ids) deliver(tooLargeResponse(id, marker));
    },
  });
  const { url, headers } = credentialsAsHeader(config.url, config.headers);
  const init = { requestInit: { headers }, fetch };
  return config.type === 'http'
    ? new StreamableHTTPClientTransport(url, init)
    : new SSEClientTransport(url, init);
}

/**
 * `https://user:password@host/mcp` as fetch can send it: fetch refuses a URL with credentials,
 * so they become HTTP Basic authentication (unless an Authorization header is configured), and
 * the URL that is used — and may appear in an error — no longer holds them. A user or password
 * that is not valid percent-encoding (`pa%ss`) is sent as written.
 */
export function credentialsAsHeader(
  raw: string,
  headers: Record<string, string>,
): { url: URL; headers: Record<string, string> } {
  const url = new URL(raw);
  if (url.username === '' && url.password === '') return { url, headers };
  const basic = Buffer.from(`${decoded(url.username)}:${decoded(url.password)}`).toString('base64');
  url.username = '';
  url.password = '';
  const configured = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
  return { url, headers: configured ? headers : { ...headers, Authorization: `Basic ${basic}` } };
}

/** `text` percent-decoded, or as it is when it does not decode (decodeURIComponent throws). */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
