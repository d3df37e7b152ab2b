import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { systemClock } from '@tether/link';
import { Emitter } from '@tether/link';
import { CloseCode } from '../protocol.js';
import type { NewSessionReason } from '../protocol.js';
import { MemorySessionStore } from './memory-store.js';
import { resolveOptions } from './options.js';
import type { ExpiredSession, Session, SessionServerOptions, SessionStatus } from './options.js';
import { Registry } from './registry.js';
import type { ConnectionHandlers } from './connection.js';
import type { ServerTransport } from './transport.js';
import type { SessionStore } from './store.js';

export interface SessionServerEvents<S> extends Record<string, unknown[]> {
  /** A socket was accepted (before its hello). */
  connection: [request: IncomingMessage | undefined];
  /** A session was welcomed: new (with the reason) or resumed. */
  session: [session: Session<S>, info: { resumed: boolean; reason?: NewSessionReason }];
  status: [session: Session<S>, to: SessionStatus, from: SessionStatus];
  expired: [expired: ExpiredSession<S>];
  error: [error: Error, context: string];
}

export interface AttachOptions {
  /** An existing HTTP server: upgrades on `path` are ours, others are left to their owners. */
  server: HttpServer;
  /** Default `/session`. */
  path?: string;
  /** Largest frame accepted. Default 1 MiB. */
  maxPayload?: number;
}

/**
 * Resumable sessions over `ws`, attached to an HTTP server (yours, or one `listen()` creates).
 * The protocol work is the registry's; this file only turns sockets into transports.
 */
export class SessionServer<S = unknown> extends Emitter<SessionServerEvents<S>> {
  readonly store: SessionStore;
  readonly instanceId: string;
  private readonly registry: Registry<S>;
  private readonly wss: WebSocketServer;
  private readonly ownsStore: boolean;
  private ownedHttp: HttpServer | undefined;
  private detachUpgrade: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: SessionServerOptions<S> & Partial<AttachOptions> = {}) {
    super();
    this.ownsStore = !options.store;
    this.store = options.store ?? new MemorySessionStore();
    this.instanceId = options.instanceId ?? randomBytes(6).toString('hex');
    const resolved = resolveOptions(options, options.clock ?? systemClock, this.instanceId);
    this.registry = new Registry(resolved, this.store, {
      session: (s, info) => this.emit('session', s, info),
      status: (s, to, from) => this.emit('status', s, to, from),
      expired: (e) => this.emit('expired', e),
      error: (e, context) => this.emit('error', e, context),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? 1024 * 1024,
    });
    if (options.server) this.attach({ ...options, server: options.server });
  }

  /** Creates an HTTP server for the sessions alone and listens (port 0: any free port). */
  static async listen<S>(
    options: SessionServerOptions<S> & { port?: number; host?: string; path?: string } = {},
  ): Promise<SessionServer<S>> {
    const http = createServer((_req, res) => res.writeHead(426).end('WebSocket only\n'));
    const server = new SessionServer<S>({ ...options, server: http });
    server.ownedHttp = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return server;
  }

  /** The port of the server `listen()` created. */
  get port(): number {
    const address = this.ownedHttp?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Sessions this instance holds (attached, paused or detached). */
  get sessions(): ReadonlyMap<string, Session<S>> {
    return this.registry.held;
  }

  /** Takes upgrades on `path` from an HTTP server. */
  attach(options: AttachOptions): void {
    const path = options.path ?? '/session';
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (pathname !== path) {
        // Someone else's upgrade, unless nobody else listens: then it would hang forever.
        if (options.server.listenerCount('upgrade') === 1) socket.destroy();
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.onSocket(ws, request));
    };
    options.server.on('upgrade', onUpgrade);
    this.detachUpgrade = () => options.server.off('upgrade', onUpgrade);
  }

  /**
   * For transports other than `ws` (and unit tests): feed a connection's events through the
   * returned handlers.
   */
  accept(transport: ServerTransport, request?: IncomingMessage): ConnectionHandlers {
    this.emit('connection', request);
    return this.registry.accept(transport, request);
  }

  /**
   * Stops: no new sockets, every socket closed with 1001, every pending write stored; sessions
   * stay resumable in the store for another instance or the next start.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.detachUpgrade?.();
      await this.registry.shutdown();
      for (const ws of this.wss.clients) ws.terminate();
      this.wss.close();
      if (this.ownsStore) await this.store.close();
      const http = this.ownedHttp;
      if (http) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    })();
    return this.closing;
  }

  private onSocket(ws: WebSocket, request: IncomingMessage): void {
    let closeTimer: NodeJS.Timeout | undefined;
    const transport: ServerTransport = {
      send: (text) => ws.send(text),
      close: (code, reason) => {
        ws.close(code, reason);
        // A peer that cannot complete the close (paused, gone) is cut shortly after.
        closeTimer ??= setTimeout(() => ws.terminate(), 2_000).unref();
      },
      terminate: () => ws.terminate(),
      ping: () => ws.ping(),
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
    const handlers = this.accept(transport, request);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return transport.close(CloseCode.ProtocolError, 'text frames only');
      handlers.message(Array.isArray(data) ? Buffer.concat(data).toString() : data.toString());
    });
    ws.on('pong', () => handlers.pong());
    ws.on('close', () => {
      clearTimeout(closeTimer);
      handlers.closed();
    });
    ws.on('error', (error) => this.emit('error', error, 'socket'));
  }
}
