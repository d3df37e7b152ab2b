import { SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { ErrorCode, idKey } from '@tether/protocol';
import type { JsonRpcId } from '@tether/protocol';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';

export interface HubRelayOptions {
  /** The hub's `/mcp` or `/mcp/<endpoint>`. */
  url: URL;
  /** The hub's admin token, sent as a Bearer token, if it needs one. */
  token?: string;
  /** The client's side: for `tether mcp`, stdio. */
  local: Transport;
  logger: Logger;
}

/** A request of the client's on its way: its id, whether the client gave up on it, where it went. */
interface Pending {
  id: JsonRpcId;
  cancelled: boolean;
  /** The hub session (transport) that accepted it, once one has. */
  acceptedBy?: StreamableHTTPClientTransport;
}

type Message = {
  id?: JsonRpcId;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: unknown;
};

/** Our own requests to the hub (a re-initialise) are told apart from the client's by this id. */
const OWN_ID = 'tether-relay-initialize';

/**
 * `tether mcp` in front of a running hub: the client's JSON-RPC (stdio) and the hub's `/mcp`
 * (Streamable HTTP, through the SDK's client transport) joined message by message. Nothing is
 * parsed into the SDK's types on the way — results, schemas, progress, cancellations and
 * list_changed go through as they were sent — so the client gets exactly what `/mcp` says.
 *
 *   client ── stdin ──▶ relay ── POST /mcp ──▶ hub          (requests, notifications, replies)
 *   client ◀─ stdout ── relay ◀── POST's SSE ─ hub          (answers, progress)
 *                             ◀── GET SSE ──── hub          (list_changed)
 *
 * The hub's session lives in the hub's memory: when the hub restarts, `/mcp` answers 404 and
 * the relay opens a new session with the client's own `initialize` again, then tells the
 * client the tools may have changed. A request the hub can no longer answer (its stream ended
 * without an answer, the hub cannot be reached) is answered with an error, never left hanging.
 */
export class HubRelay {
  private remote: StreamableHTTPClientTransport;
  /** The client's initialize, kept to open a new session the same way. */
  private initialize: Message | undefined;
  private readonly pending = new Map<string, Pending>();
  private renewing: Promise<void> | undefined;
  private ownAnswer: ((message: Message) => void) | undefined;
  private closed = false;
  private closedPromise: Promise<void>;
  private markClosed!: () => void;

  constructor(private readonly options: HubRelayOptions) {
    this.remote = this.connectRemote();
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Resolves when the relay has ended (the client closed its side, or close()). */
  get done(): Promise<void> {
    return this.closedPromise;
  }

  async start(): Promise<void> {
    const { local } = this.options;
    local.onmessage = (message) => void this.fromClient(message as Message);
    local.onclose = () => void this.close();
    local.onerror = (error) =>
      this.options.logger.warn(
        { err: error },
        'tether mcp: a message from the client was unreadable',
      );
    await this.remote.start();
    await local.start();
  }

  /** Ends the hub's session (DELETE) and both sides. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const remote = this.remote;
    await Promise.race([
      remote.terminateSession().catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
    ]);
    await remote.close().catch(() => {});
    await this.options.local.close().catch(() => {});
    this.markClosed();
  }

  private connectRemote(): StreamableHTTPClientTransport {
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    const remote = new StreamableHTTPClientTransport(this.options.url, {
      requestInit: { headers },
      // The token stays with the hub it was meant for: no redirect is followed.
      fetch: (input, init) => fetch(input, { ...init, redirect: 'error' }),
      // The GET stream (list_changed) is reopened as long as the hub is there to reopen it.
      reconnectionOptions: {
        initialReconnectionDelay: 500,
        maxReconnectionDelay: 10_000,
        reconnectionDelayGrowFactor: 2,
        maxRetries: Number.MAX_SAFE_INTEGER,
      },
    });
    remote.onmessage = (message) => {
      if (remote === this.remote) this.fromHub(message as Message);
    };
    remote.onerror = (error) => {
      if (remote !== this.remote || this.closed) return;
      // The GET stream found the session gone (the hub restarted): a new one, at once.
      if (sessionGone(error) && this.initialize) void this.renew().catch(() => {});
    };
    return remote;
  }

  private async fromClient(message: Message): Promise<void> {
    if (this.closed) return;
    if (message.method !== undefined && message.id !== undefined) {
      this.pending.set(idKey(message.id), { id: message.id, cancelled: false });
      if (message.method === 'initialize') this.initialize = message;
    } else if (message.method === 'notifications/cancelled') {
      const requestId = message.params?.requestId;
      const pending =
        typeof requestId === 'string' || typeof requestId === 'number'
          ? this.pending.get(idKey(requestId))
          : undefined;
      if (pending) pending.cancelled = true;
    }
    await this.renewing?.catch(() => {});
    await this.forward(message, true);
  }

  private async forward(message: Message, retry: boolean): Promise<void> {
    const remote = this.remote;
    const isRequest = message.method !== undefined && message.id !== undefined;
    try {
      await remote.send(message as JSONRPCMessage, {
        // The POST's stream ended without an answer (the hub went away mid-call).
        ...(isRequest && { onRequestStreamEnd: () => this.unanswered(message.id!) }),
      });
      if (isRequest) {
        const pending = this.pending.get(idKey(message.id!));
        if (pending) pending.acceptedBy = remote;
      }
    } catch (error) {
      if (this.closed) return;
      // The session is gone, or was replaced while this was on its way: once more, on the new one.
      const replaced = remote !== this.remote;
      if (
        retry &&
        this.initialize &&
        message.method !== 'initialize' &&
        (replaced || sessionGone(error))
      ) {
        await (replaced ? (this.renewing ?? Promise.resolve()) : this.renew()).then(
          () => this.forward(message, false),
          (renewal: unknown) => this.fail(message, renewal),
        );
        return;
      }
      this.fail(message, error);
    }
  }

  private fromHub(message: Message): void {
    if (message.id === OWN_ID && message.method === undefined) {
      this.ownAnswer?.(message);
      return;
    }
    if (message.method === undefined && message.id !== undefined) {
      const key = idKey(message.id);
      if (!this.pending.delete(key)) return;
      if (this.initialize?.id === message.id && message.result)
        this.remote.setProtocolVersion(String(message.result.protocolVersion));
    }
    this.toClient(message);
  }

  /** A request's stream ended: if nothing answered it and the client still waits, say so. */
  private unanswered(id: JsonRpcId): void {
    const pending = this.pending.get(idKey(id));
    if (!pending || this.closed) return;
    this.pending.delete(idKey(id));
    if (pending.cancelled) return;
    this.toClient({
      id,
      error: {
        code: ErrorCode.InternalError,
        message: 'tether mcp: the hub ended the request without answering (did it restart?)',
      },
    } as Message);
  }

  /** A message could not be delivered: a request gets an error answer; anything else is logged. */
  private fail(message: Message, error: unknown): void {
    const why = describe(error, this.options.url);
    this.options.logger.warn({ method: message.method }, `tether mcp: ${why}`);
    if (message.method === undefined || message.id === undefined) return;
    const pending = this.pending.get(idKey(message.id));
    this.pending.delete(idKey(message.id));
    if (pending?.cancelled) return;
    this.toClient({ id: message.id, error: { code: -32000, message: `tether mcp: ${why}` } });
  }

  /**
   * A new session with the hub, opened as the client opened the first: its initialize (with an
   * id of our own, so the answer is not the client's), initialized, and a list_changed for the
   * client, since the hub that answers now may serve other tools. One at a time.
   */
  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      const old = this.remote;
      this.remote = this.connectRemote();
      await old.close().catch(() => {});
      // What the old session had accepted will never be answered: the client hears so now.
      for (const pending of [...this.pending.values()])
        if (pending.acceptedBy === old) {
          this.pending.delete(idKey(pending.id));
          if (!pending.cancelled)
            this.toClient({
              id: pending.id,
              error: {
                code: ErrorCode.InternalError,
                message: 'tether mcp: the hub restarted while this request was running',
              },
            });
        }
      await this.remote.start();
      this.options.logger.info(
        'tether mcp: the hub forgot the session (restarted?); opening a new one',
      );
      let ended!: () => void;
      const answered = new Promise<Message>((resolve, reject) => {
        this.ownAnswer = resolve;
        ended = () => reject(new Error('the hub ended the initialize without answering'));
      });
      await this.remote.send({ ...this.initialize, id: OWN_ID } as JSONRPCMessage, {
        onRequestStreamEnd: () => ended(),
      });
      const answer = await answered;
      if (!answer.result) throw new Error('the hub refused the initialize');
      this.remote.setProtocolVersion(String(answer.result.protocolVersion));
      await this.remote.send({
        jsonrpc: '2.0',
        method: 'notifications/initialized',
      } as JSONRPCMessage);
      this.toClient({ method: 'notifications/tools/list_changed' });
    })().finally(() => {
      this.renewing = undefined;
      this.ownAnswer = undefined;
    });
    return this.renewing;
  }

  private toClient(message: Message): void {
    if (this.closed) return;
    this.options.local
      .send({ jsonrpc: '2.0', ...message } as JSONRPCMessage)
      .catch((error: unknown) =>
        this.options.logger.debug({ err: error }, 'tether mcp: the client is gone'),
      );
  }
}

/** HTTP 404 to a request carrying our session: the hub no longer knows it. */
function sessionGone(error: unknown): boolean {
  return error instanceof SdkHttpError && error.status === 404;
}

/** What went wrong, in words for the client and the log: the token never appears in them. */
function describe(error: unknown, url: URL): string {
  if (error instanceof SdkHttpError && error.status === 401)
    return 'the hub needs its admin token, or refused the one given: set TETHER_ADMIN_TOKEN or pass --token';
  if (error instanceof SdkHttpError && error.status === 404)
    return `the hub has no ${url.pathname} (is the endpoint name right?)`;
  if (error instanceof SdkHttpError)
    return `the hub answered HTTP ${error.status}: ${redact(error.message).slice(0, 300)}`;
  const cause = (error as { cause?: { message?: string } })?.cause?.message;
  const message = error instanceof Error ? error.message : String(error);
  return `cannot reach the hub at ${url.origin} (${redact(cause ?? message).slice(0, 200)}); is \`tether start\` running?`;
}
