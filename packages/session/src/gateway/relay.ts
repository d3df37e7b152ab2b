import WebSocket from 'ws';
import type { Clock } from '@tether/link';
import type { Session } from '../server/index.js';
import { bodyOfUpstreamFrame, upstreamFrameOfBody } from './frames.js';
import { closeReason } from './transport.js';
import type { ClientTransport } from './transport.js';

/** Why an upstream socket is gone while its session was still using it. */
export type UpstreamLoss =
  /** It closed, or failed (1006, with the error). */
  | { kind: 'closed'; code: number; reason: string; error?: string }
  /** Its send buffer passed the bound: it stopped reading. */
  | { kind: 'stuck'; bufferedBytes: number }
  /** It answered no ping for two intervals. */
  | { kind: 'silent'; silentMs: number };

export interface RelayLimits {
  connectTimeoutMs: number;
  maxFrameBytes: number;
  maxUpstreamBufferedBytes: number;
  /** 0: the gateway does not ping the upstream. */
  upstreamPingIntervalMs: number;
  closeGraceMs: number;
}

export interface RelayHost {
  readonly limits: RelayLimits;
  readonly clock: Clock;
  /** The upstream went away by itself: the session ends once its client has what it sent. */
  lost(relay: Relay): void;
}

/** A dial that did not end in an open socket; the message says why, for the client and the log. */
export class DialError extends Error {
  override readonly name = 'DialError';
}

/**
 * One session's ordinary WebSocket to the upstream, held for the session's whole life: through
 * the client's pauses and reconnects the upstream sees one peer, which answers its pings (ws
 * does that by itself) and reads its frames into the session's replay buffer.
 *
 *   dialing ──open──▶ open ──closed by the upstream, failed, stuck, silent──▶ lost
 *      │                │                                    (the gateway delivers, then ends it)
 *      └─refused, timeout, client left──▶ failed     open ──close(code)──▶ closing ──▶ closed
 */
export class Relay {
  state: 'dialing' | 'open' | 'failed' | 'lost' | 'closing' | 'closed' = 'dialing';
  /** Where the session's client is now: the reason of the session's end is told there. */
  transport: ClientTransport | undefined;
  /** Messages from the upstream the session accepted for the client. */
  sent = 0;
  /** Client messages that came after the upstream was gone. */
  dropped = 0;
  loss: UpstreamLoss | undefined;
  lostAt = 0;
  /** Set once the gateway decided to end the session: whether the client had everything. */
  ending: { delivered: boolean } | undefined;
  /** Ticks seen with the session over (expired or moved) and the relay still here. */
  overSeen = 0;
  private ws: WebSocket | undefined;
  private heard = 0;
  private pinged = 0;
  private lastError: string | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly host: RelayHost,
    readonly session: Session<null>,
    readonly target: URL,
    /** The target as the logs show it. */
    readonly shown: string,
  ) {}

  /**
   * Opens the upstream socket; resolves once it is open, rejects with a DialError saying why
   * not (refused with an HTTP status, unreachable, no answer in time, the client left).
   */
  dial(headers: Record<string, string>, left?: AbortSignal): Promise<void> {
    const { limits, clock } = this.host;
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.target, {
        headers,
        // Compression costs memory per socket, and 10,000 of them are the point.
        perMessageDeflate: false,
        maxPayload: limits.maxFrameBytes,
        followRedirects: false,
      });
      this.ws = ws;
      let settled = false;
      const settle = (error?: string) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        left?.removeEventListener('abort', onLeft);
        if (error === undefined) return resolve();
        this.state = 'failed';
        ws.terminate();
        reject(new DialError(error));
      };
      const onLeft = () => settle('not dialled: the client left');
      const timer = clock.setTimeout(
        () => settle(`did not accept within ${limits.connectTimeoutMs} ms`),
        limits.connectTimeoutMs,
      );
      if (left?.aborted) return onLeft();
      left?.addEventListener('abort', onLeft);
      ws.on('unexpected-response', (_request, response) =>
        settle(
          `refused: HTTP ${response.statusCode ?? '?'} ${response.statusMessage ?? ''}`.trim(),
        ),
      );
      ws.on('error', (error) => {
        this.lastError = error.message;
        settle(`unreachable: ${error.message}`);
      });
      ws.on('open', () => {
        if (this.state !== 'dialing') return;
        this.state = 'open';
        this.heard = this.pinged = clock.now();
        settle();
      });
      ws.on('message', (data, binary) => {
        this.heard = clock.now();
        if (this.session.send(bodyOfUpstreamFrame(data, binary))) this.sent++;
      });
      ws.on('ping', () => (this.heard = clock.now()));
      ws.on('pong', () => (this.heard = clock.now()));
      ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    });
  }

  /** A client message for the upstream; false when there is no upstream to take it any more. */
  toUpstream(body: unknown): boolean {
    const ws = this.ws;
    if (this.state !== 'open' || !ws) {
      this.dropped++;
      return false;
    }
    const { data, binary } = upstreamFrameOfBody(body);
    ws.send(data, { binary });
    // ws keeps what the socket cannot take yet; an upstream that stopped reading must not grow
    // this without end.
    const bufferedBytes = ws.bufferedAmount;
    if (bufferedBytes > this.host.limits.maxUpstreamBufferedBytes)
      this.lose({ kind: 'stuck', bufferedBytes });
    return true;
  }

  /** The gateway's own heartbeat towards the upstream, at the gateway's tick. */
  tick(now: number): void {
    const every = this.host.limits.upstreamPingIntervalMs;
    if (this.state !== 'open' || every <= 0 || !this.ws) return;
    const silentMs = now - this.heard;
    if (silentMs >= every * 2) return this.lose({ kind: 'silent', silentMs });
    if (now - this.pinged >= every) {
      this.pinged = now;
      this.ws.ping();
    }
  }

  /** Closes the upstream socket (the session is over); cut if it does not finish in time. */
  close(code: number, reason: string): Promise<void> {
    const ws = this.ws;
    if (!ws || this.state === 'failed' || this.state === 'lost' || this.state === 'closed')
      return Promise.resolve();
    if (this.state === 'dialing') {
      // The dial's own handlers settle it as failed.
      ws.terminate();
      return Promise.resolve();
    }
    this.closed ??= new Promise<void>((resolve) => {
      const { clock, limits } = this.host;
      this.state = 'closing';
      const timer = clock.setTimeout(() => ws.terminate(), limits.closeGraceMs);
      ws.once('close', () => {
        clock.clearTimeout(timer);
        resolve();
      });
      ws.close(code, closeReason(reason));
    });
    return this.closed;
  }

  private onClose(code: number, reason: string): void {
    if (this.state === 'closing') this.state = 'closed';
    if (this.state !== 'open') return;
    this.loss = { kind: 'closed', code, reason, ...(this.lastError && { error: this.lastError }) };
    this.gone();
  }

  private lose(loss: UpstreamLoss): void {
    if (this.state !== 'open') return;
    this.loss = loss;
    this.ws?.terminate();
    this.gone();
  }

  private gone(): void {
    this.state = 'lost';
    this.lostAt = this.host.clock.now();
    this.host.lost(this);
  }
}

/** A loss in a few words, for the client's close reason and the log. */
export function describeLoss(loss: UpstreamLoss): string {
  switch (loss.kind) {
    case 'closed':
      return `upstream closed: ${loss.code}${loss.reason ? ` ${loss.reason}` : ''}${loss.error ? ` (${loss.error})` : ''}`;
    case 'stuck':
      return `upstream not reading: ${loss.bufferedBytes} bytes waiting`;
    case 'silent':
      return `upstream silent for ${loss.silentMs} ms`;
  }
}
