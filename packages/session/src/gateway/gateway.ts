import { createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { Emitter, systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import { CloseCode } from '../protocol.js';
import { SessionServer } from '../server/index.js';
import type { ExpiredSession, NewSessionInfo, ResumeInfo, Session } from '../server/index.js';
import { DeliveryStore } from './delivery.js';
import { resolveGatewayOptions } from './options.js';
import type {
  EndReason,
  ResolvedGatewayOptions,
  SessionGatewayEvents,
  SessionGatewayOptions,
} from './options.js';
import { DialError, Relay, describeLoss } from './relay.js';
import type { RelayHost, RelayLimits } from './relay.js';
import { forwardedHeaders, shownUrl, upstreamTarget } from './target.js';
import { clientTransport } from './transport.js';
import type { ClientTransport } from './transport.js';

/** Close codes the gateway adds to the protocol's (RFC 6455's registry has them). */
const TryAgainLater = 1013;
const BadGateway = 1014;

/** Thrown from the session set-up when a client gets no session; the client was told why. */
class Refusal extends Error {
  override readonly name = 'Refusal';
}

/**
 * Resumable sessions in front of a WebSocket server that cannot change
 * (docs/session-gateway.md). Clients speak the session protocol to the gateway; each session
 * holds one ordinary WebSocket to the upstream for its whole life.
 *
 *   client ──hello──▶ gateway: set-up dials upstream + client's path?query ──open──▶ welcome
 *   client ◀─data {body: "<text frame>"}── gateway ◀── text frame ── upstream
 *   client ──data {body}──▶ gateway ── text frame (a string as is, other JSON as its text) ──▶ upstream
 *   client paused, gone, back within the resume window: the upstream socket stays, replay covers it
 *   upstream closes ──▶ the client gets what it sent ──▶ session ended (4410, new session next time)
 *   session expires / client ends it ──▶ upstream closed 1001 / 1000
 */
export class SessionGateway extends Emitter<SessionGatewayEvents> {
  readonly options: ResolvedGatewayOptions;
  private readonly clock: Clock;
  private readonly store: DeliveryStore;
  private readonly server: SessionServer<null>;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly relays = new Map<string, Relay>();
  /** Which socket each upgrade request arrived on: the set-up hooks see the request only. */
  private readonly transports = new WeakMap<IncomingMessage, ClientTransport>();
  private readonly relayHost: RelayHost;
  private readonly tickMs: number;
  private timer: unknown;
  private stopping = false;
  private closing: Promise<void> | undefined;

  private constructor(options: SessionGatewayOptions) {
    super();
    this.options = resolveGatewayOptions(options);
    const o = this.options;
    this.clock = options.clock ?? systemClock;
    const limits: RelayLimits = {
      connectTimeoutMs: o.connectTimeoutMs,
      maxFrameBytes: o.maxFrameBytes,
      maxUpstreamBufferedBytes: o.maxUpstreamBufferedBytes,
      upstreamPingIntervalMs: o.upstreamPingIntervalMs,
      closeGraceMs: o.closeGraceMs,
    };
    this.relayHost = { limits, clock: this.clock, lost: (relay) => this.lost(relay) };
    this.tickMs = Math.max(10, Math.min(1_000, o.upstreamPingIntervalMs / 4 || 1_000));
    this.store = new DeliveryStore((id) => {
      const relay = this.relays.get(id);
      // After the commit has been applied everywhere: ending the session waits on its journal.
      if (relay?.state === 'lost') queueMicrotask(() => this.settle(relay));
    });
    this.server = new SessionServer<null>({
      ...o.session,
      store: this.store,
      clock: this.clock,
      onNewSession: (session, info) => this.setUp(session, info),
      onResume: (session, info) => this.resumed(session, info),
      onMessage: (session, body) => void this.relays.get(session.id)?.toUpstream(body),
      onExpire: (expired) => this.expired(expired),
    });
    this.server.on('session', (session, { resumed }) => {
      const relay = this.relays.get(session.id);
      if (!resumed && relay) this.emit('start', { sessionId: session.id, upstream: relay.shown });
    });
    this.server.on('error', (error, context) => {
      // A refusal was told to the client and announced already.
      if (error instanceof Refusal) return;
      this.emit('error', error, context);
    });
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: o.maxFrameBytes,
    });
    this.http = createServer((_req, res) => res.writeHead(426).end('WebSocket only\n'));
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(request, socket, head),
    );
  }

  /** Starts a gateway and listens (`port` 0: any free port). */
  static async start(options: SessionGatewayOptions): Promise<SessionGateway> {
    const gateway = new SessionGateway(options);
    const { host, port } = gateway.options;
    await new Promise<void>((resolve, reject) => {
      gateway.http.once('error', reject);
      gateway.http.listen(port, host, () => {
        gateway.http.off('error', reject);
        resolve();
      });
    });
    gateway.schedule();
    return gateway;
  }

  get port(): number {
    const address = this.http.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** What clients dial (any path under it works; it is carried to the upstream). */
  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `ws://${host}:${this.port}/`;
  }

  /** The upstream as the logs show it (query values and password masked). */
  get upstream(): string {
    return shownUrl(this.options.upstream);
  }

  /** Sessions held: dialling, live, or waiting for their client. */
  get sessions(): number {
    return this.relays.size;
  }

  /**
   * Stops: no new sockets; every client closed with 1001 (the session protocol's "going away":
   * it reconnects and finds a new session), every upstream closed with 1001.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.clock.clearTimeout(this.timer);
      const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
      await this.server.close();
      const relays = [...this.relays.values()];
      this.relays.clear();
      await Promise.all(relays.map((r) => r.close(CloseCode.GoingAway, 'gateway going away')));
      for (const relay of relays) this.ended(relay, 'stopped');
      // The session server closed every client politely; whoever has not finished is cut.
      await this.clientsGone(this.options.closeGraceMs);
      for (const ws of this.wss.clients) ws.terminate();
      this.wss.close();
      this.http.closeAllConnections();
      await stopped;
    })();
    return this.closing;
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Sockets beyond twice the session limit cannot all be sessions: most would only be refused.
    const full = this.wss.clients.size >= this.options.maxSessions * 2;
    if (this.stopping || full) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onSocket(ws, request));
  }

  /** One client socket, fed to the session server (it does the protocol). */
  private onSocket(ws: WebSocket, request: IncomingMessage): void {
    const transport = clientTransport(ws, this.options.closeGraceMs);
    this.transports.set(request, transport);
    const handlers = this.server.accept(transport, request);
    ws.on('message', (data, binary) => {
      if (binary) return transport.close(CloseCode.ProtocolError, 'text frames only');
      handlers.message(Array.isArray(data) ? Buffer.concat(data).toString() : data.toString());
    });
    ws.on('pong', () => handlers.pong());
    ws.on('close', () => handlers.closed());
    ws.on('error', (error) => this.emit('error', error, 'client socket'));
  }

  /**
   * The session's set-up: dial the upstream, and welcome the client only once it accepted. A
   * client that gets no session is closed with a code and reason that say why, never left
   * with a session whose upstream is not there.
   */
  private async setUp(session: Session<null>, info: NewSessionInfo): Promise<null> {
    const transport = info.request && this.transports.get(info.request);
    const refuse = (code: number, reason: string, upstream?: string) => {
      transport?.close(code, reason);
      this.emit('refused', { code, reason, ...(upstream && { upstream }) });
      return new Refusal(reason);
    };
    if (this.stopping) throw refuse(CloseCode.GoingAway, 'gateway going away');
    if (this.relays.size >= this.options.maxSessions)
      throw refuse(TryAgainLater, `gateway full: ${this.options.maxSessions} sessions`);
    const target = upstreamTarget(this.options.upstream, info.request?.url);
    const relay = new Relay(this.relayHost, session, target, shownUrl(target));
    relay.transport = transport;
    this.relays.set(session.id, relay);
    const headers = info.request ? forwardedHeaders(info.request, this.options.forwardHeaders) : {};
    try {
      await relay.dial(headers, transport?.left);
    } catch (error) {
      this.relays.delete(session.id);
      if (transport?.left.aborted) throw new Refusal('the client left during the set-up');
      const why = error instanceof DialError ? error.message : String(error);
      throw refuse(BadGateway, `upstream ${why}`, relay.shown);
    }
    if (this.stopping) {
      this.relays.delete(session.id);
      void relay.close(CloseCode.GoingAway, 'gateway going away');
      throw refuse(CloseCode.GoingAway, 'gateway going away');
    }
    return null;
  }

  private resumed(session: Session<null>, info: ResumeInfo): void {
    const relay = this.relays.get(session.id);
    if (!relay) return;
    relay.transport = info.request && this.transports.get(info.request);
    const { replayed, missed } = info;
    this.emit('resume', { sessionId: session.id, upstream: relay.shown, replayed, missed });
  }

  /** The upstream went away by itself: say so, then end the session once that is safe. */
  private lost(relay: Relay): void {
    if (this.stopping || !relay.loss) return;
    this.emit('upstream-lost', {
      sessionId: relay.session.id,
      upstream: relay.shown,
      loss: relay.loss,
    });
    this.settle(relay);
  }

  /**
   * Ends a session whose upstream is gone once its client has everything the upstream sent
   * (stored for the client and acknowledged, or pushed out of a full replay buffer), or once
   * the resume window passed since the loss. Until then the client may still resume and read.
   */
  private settle(relay: Relay): void {
    if (relay.state !== 'lost' || relay.ending || !relay.loss || this.stopping) return;
    const d = this.store.delivery(relay.session.id);
    const delivered = d.stored >= relay.sent && d.through >= d.lastSeq;
    const late = this.clock.now() - relay.lostAt >= this.options.resumeWindowMs;
    if (!delivered && !late) return;
    relay.ending = { delivered };
    // The session server's own close would say only "session ended"; ours says why.
    relay.transport?.close(CloseCode.SessionExpired, describeLoss(relay.loss));
    relay.session.end().catch((error: unknown) => this.emit('error', asError(error), 'end'));
  }

  /** The session is over (the hook runs once per session): its upstream goes with it. */
  private expired(expired: ExpiredSession<null>): void {
    const relay = this.relays.get(expired.id);
    if (!relay) return;
    const why: EndReason = relay.loss
      ? 'upstream'
      : expired.reason === 'timeout'
        ? 'expired'
        : 'client-ended';
    void relay.close(
      why === 'expired' ? CloseCode.GoingAway : CloseCode.Normal,
      why === 'expired' ? 'session expired' : 'session ended',
    );
    this.ended(relay, why);
  }

  private orphaned(relay: Relay): void {
    this.emit('error', new Error(`session ${relay.session.id} ended without its expiry`), 'end');
    void relay.close(CloseCode.GoingAway, 'session expired');
    this.ended(relay, relay.loss ? 'upstream' : 'expired');
  }

  private ended(relay: Relay, why: EndReason): void {
    const id = relay.session.id;
    this.relays.delete(id);
    this.store.forget(id);
    this.emit('end', {
      sessionId: id,
      upstream: relay.shown,
      why,
      ...(relay.loss && { loss: relay.loss, delivered: relay.ending?.delivered ?? false }),
      dropped: relay.dropped,
    });
  }

  private schedule(): void {
    if (this.stopping) return;
    this.timer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      for (const relay of [...this.relays.values()]) {
        relay.tick(now);
        if (relay.state === 'lost') this.settle(relay);
        // The expiry hook follows a session's end within microtasks; a session over for a whole
        // tick without it must still not keep its upstream socket.
        const over = relay.session.status === 'expired' || relay.session.status === 'moved';
        if (over && relay.overSeen++ > 0) this.orphaned(relay);
      }
      this.schedule();
    }, this.tickMs);
  }

  private async clientsGone(withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (this.wss.clients.size > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));
