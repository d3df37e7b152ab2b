/**
 * The session protocol on the wire (docs/session-protocol.md): one JSON object per WebSocket text
 * frame, told apart by `type`. Small enough for a Unity (C#) client to implement by hand.
 *
 *   client                                   server
 *     |-- hello {resumeToken?, lastSeq} ------->|   first frame on every socket
 *     |<-- welcome {resumed, sessionId, ...} ---|   nothing else is sent before it
 *     |<-- data {seq, body} (replay, then new) -|
 *     |-- data {seq, body} (unacked, then new)->|
 *     |<-> ack {seq}       cumulative, coalesced |
 *     |--- ping / <-- pong  on the app's loop    |
 *     |--- pausing          "about to be suspended"
 */
export const PROTOCOL_VERSION = 1;

/** Close codes with a meaning in this protocol; what the client does is in the comments. */
export const CloseCode = {
  /** Normal end (the client sent `end`). Do not reconnect. */
  Normal: 1000,
  /** The server is shutting down or restarting. Reconnect with backoff and resume. */
  GoingAway: 1001,
  /** Malformed frame, no hello in time, sequence gap. Reconnect with backoff and resume. */
  ProtocolError: 4400,
  /** The resume token is malformed or does not match. Forget it and connect again without one. */
  BadResumeToken: 4401,
  /** The app was silent (paused) too long on a live socket. The session is kept: resume now. */
  AppSilent: 4408,
  /** Another connection resumed this session. Do not reconnect: it would steal it back. */
  Replaced: 4409,
  /** The session expired or was ended by the server. Start a new one (connect without a token). */
  SessionExpired: 4410,
} as const;

/** Why a welcome is not a resume. */
export type NewSessionReason =
  /** The hello carried no resume token. */
  | 'new'
  /** The session is known to have expired (its resume window passed, or the server ended it). */
  | 'expired'
  /** No such session here: expired long ago, or the server lost its store. */
  | 'unknown';

export interface HelloFrame {
  type: 'hello';
  version: number;
  resumeToken?: string | null;
  /** Highest server sequence number received in order (0: none). */
  lastSeq: number;
  /**
   * The application's context (language, conversation id, anything JSON), handed to the
   * server's set-up of a new session and to its resume hook. At most MAX_CONTEXT_BYTES.
   */
  context?: unknown;
}

/** The largest hello context, as UTF-8 JSON: it is application data, not a payload channel. */
export const MAX_CONTEXT_BYTES = 64 * 1024;
export interface WelcomeFrame {
  type: 'welcome';
  version: number;
  sessionId: string;
  /** Use this token for the next hello; the old one stops working soon after. */
  resumeToken: string;
  resumed: boolean;
  /** Present when `resumed` is false. */
  reason?: NewSessionReason;
  /** Highest client sequence number the server has stored: drop yours up to it, resend the rest. */
  lastSeq: number;
  /** The server's next data frame carries this seq. Above your lastSeq + 1: that many were lost. */
  replayFrom: number;
  /** Send a `ping` at least this often from the app's own loop. */
  heartbeatMs: number;
  resumeWindowMs: number;
}
export interface DataFrame {
  type: 'data';
  seq: number;
  body: unknown;
}
export interface AckFrame {
  type: 'ack';
  seq: number;
}
export type ClientFrame =
  HelloFrame | DataFrame | AckFrame | { type: 'ping' } | { type: 'pausing' } | { type: 'end' };
export type ServerFrame = WelcomeFrame | DataFrame | AckFrame | { type: 'pong' };

export type Parsed<T> = { ok: true; frame: T } | { ok: false; reason: string };

const isSeq = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Reads one client frame; never throws, because a bad frame is a value to answer, not a crash. */
export function parseClientFrame(text: string): Parsed<ClientFrame> {
  const object = parseObject(text);
  if (!object.ok) return object;
  const f = object.frame;
  switch (f.type) {
    case 'hello':
      if (typeof f.version !== 'number') return bad('hello without a version');
      if (f.resumeToken != null && typeof f.resumeToken !== 'string')
        return bad('resumeToken must be a string');
      if (!isSeq(f.lastSeq ?? 0)) return bad('lastSeq must be a non-negative integer');
      if (f.context !== undefined && utf8Length(JSON.stringify(f.context)) > MAX_CONTEXT_BYTES)
        return bad(`hello context larger than ${MAX_CONTEXT_BYTES} bytes`);
      return ok({
        type: 'hello',
        version: f.version,
        resumeToken: (f.resumeToken as string | null | undefined) ?? null,
        lastSeq: (f.lastSeq as number | undefined) ?? 0,
        ...(f.context !== undefined && { context: f.context }),
      });
    case 'data':
    case 'ack':
      return isSeq(f.seq) && f.seq > 0 ? dataOrAck(f) : bad(`${f.type} needs a positive seq`);
    case 'ping':
    case 'pausing':
    case 'end':
      return ok({ type: f.type });
    default:
      return bad(`unknown frame type ${JSON.stringify(f.type)}`);
  }
}

/** Reads one server frame; never throws. */
export function parseServerFrame(text: string): Parsed<ServerFrame> {
  const object = parseObject(text);
  if (!object.ok) return object;
  const f = object.frame;
  switch (f.type) {
    case 'welcome': {
      const fields = ['lastSeq', 'replayFrom', 'heartbeatMs', 'resumeWindowMs'] as const;
      if (typeof f.sessionId !== 'string' || typeof f.resumeToken !== 'string')
        return bad('welcome without sessionId or resumeToken');
      if (typeof f.resumed !== 'boolean') return bad('welcome without resumed');
      if (!fields.every((k) => isSeq(f[k]))) return bad('welcome with a bad number');
      return ok(f as unknown as WelcomeFrame);
    }
    case 'data':
    case 'ack':
      return isSeq(f.seq) && f.seq > 0 ? dataOrAck(f) : bad(`${f.type} needs a positive seq`);
    case 'pong':
      return ok({ type: 'pong' });
    default:
      return bad(`unknown frame type ${JSON.stringify(f.type)}`);
  }
}

export function encode(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

/** A data frame's text, built once: the same bytes are stored, replayed and measured. */
export function encodeData(seq: number, body: unknown): string {
  return `{"type":"data","seq":${seq},"body":${JSON.stringify(body ?? null)}}`;
}

/** UTF-8 length without allocating: what a buffer bound in bytes should count. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function dataOrAck<T>(f: Record<string, unknown>): Parsed<T> {
  const frame =
    f.type === 'data' ? { type: 'data', seq: f.seq, body: f.body } : { type: 'ack', seq: f.seq };
  return ok(frame as T);
}

function parseObject(text: string): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return bad('not a JSON object');
  return ok(value as Record<string, unknown>);
}

const ok = <T>(frame: T): Parsed<T> => ({ ok: true, frame });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });
