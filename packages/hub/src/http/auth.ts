import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { failure } from './errors.js';

const COOKIE = 'tether_session';
const SESSION_MS = 12 * 3_600_000;
const WINDOW_MS = 60_000;
/** Clients tracked for rate limiting at once; past this the oldest are forgotten. */
const MAX_CLIENTS = 10_000;
/** Live dashboard sessions at once; past this the oldest is logged out. */
const MAX_SESSIONS = 1_000;

export interface AuthOptions {
  /** The admin token; undefined means no token is needed (bound to loopback, none configured). */
  token: string | undefined;
  /** Wrong tokens (login or Bearer) per client per minute before it must wait. Default 5. */
  loginsPerMinute?: number;
  now?: () => number;
}

export type Verdict = 'ok' | 'missing' | 'wrong' | 'limited';

/**
 * The admin token guards everything but health checks and the dashboard's own files. The API
 * takes it as a Bearer token; the dashboard exchanges it once for an HttpOnly session cookie.
 *
 * Sessions live in this process: the cookie names a session, and logging out (or a restart, or
 * a new token) ends it — a stolen cookie dies with the session. Wrong tokens count against the
 * client that sent them, whether through the login form or a Bearer header, so guessing the
 * token costs a minute per handful of tries.
 */
export class Auth {
  private readonly failures = new Map<string, number[]>();
  /** Session id → when it expires. Insertion order is age order. */
  private readonly sessions = new Map<string, number>();
  private readonly key: Buffer;

  constructor(private readonly options: AuthOptions) {
    this.key = createHmac('sha256', options.token ?? randomBytes(32))
      .update('tether-session')
      .digest();
  }

  get required(): boolean {
    return this.options.token !== undefined;
  }

  get cookieName(): string {
    return COOKIE;
  }

  /** Whether the request carries the token or a live session, counting a wrong Bearer token. */
  check(c: Context, client: string): Verdict {
    if (!this.required) return 'ok';
    const cookie = getCookie(c, COOKIE);
    if (cookie !== undefined && this.sessionOf(cookie) !== undefined) return 'ok';
    const header = c.req.header('authorization');
    if (header === undefined || !/^Bearer /i.test(header)) return 'missing';
    if (this.limited(client)) return 'limited';
    if (this.tokenMatches(header.slice(7).trim())) return 'ok';
    this.fail(client);
    return 'wrong';
  }

  /** For `GET /api/session`: no counting, no limits. */
  authenticated(c: Context): boolean {
    if (!this.required) return true;
    const cookie = getCookie(c, COOKIE);
    if (cookie !== undefined && this.sessionOf(cookie) !== undefined) return true;
    const header = c.req.header('authorization');
    return (
      header !== undefined && /^Bearer /i.test(header) && this.tokenMatches(header.slice(7).trim())
    );
  }

  /** Checks a login; `limited` when this client got the token wrong too often in the last minute. */
  login(client: string, token: string): 'ok' | 'wrong' | 'limited' {
    if (this.limited(client)) return 'limited';
    if (!this.required || this.tokenMatches(token)) return 'ok';
    this.fail(client);
    return 'wrong';
  }

  /** A new session and its cookie value. */
  startSession(): { name: string; value: string; maxAgeSeconds: number } {
    const now = this.now();
    this.prune(now);
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(18).toString('base64url');
    this.sessions.set(id, now + SESSION_MS);
    return { name: COOKIE, value: `${id}.${this.sign(id)}`, maxAgeSeconds: SESSION_MS / 1000 };
  }

  /** Ends the session the request carries, if any: its cookie is worthless from now on. */
  endSession(c: Context): void {
    const cookie = getCookie(c, COOKIE);
    const id = cookie === undefined ? undefined : this.sessionOf(cookie);
    if (id !== undefined) this.sessions.delete(id);
  }

  /** Middleware for every protected route. */
  guard(clientOf: (c: Context) => string): MiddlewareHandler {
    return async (c, next) => {
      const verdict = this.check(c, clientOf(c));
      if (verdict === 'ok') return next();
      if (verdict === 'limited') {
        c.header('Retry-After', '60');
        return failure(c, 429, 'TOO_MANY_ATTEMPTS', 'too many wrong tokens; wait a minute');
      }
      return failure(
        c,
        401,
        'UNAUTHORIZED',
        verdict === 'wrong'
          ? 'wrong admin token'
          : 'an admin token is required (Authorization: Bearer …, or log in)',
      );
    };
  }

  private limited(client: string): boolean {
    const now = this.now();
    const recent = (this.failures.get(client) ?? []).filter((t) => now - t < WINDOW_MS);
    if (recent.length === 0) this.failures.delete(client);
    else this.failures.set(client, recent);
    return recent.length >= (this.options.loginsPerMinute ?? 5);
  }

  private fail(client: string): void {
    const list = this.failures.get(client) ?? [];
    // Re-inserting moves the client to the end, so the first key is the longest quiet.
    this.failures.delete(client);
    list.push(this.now());
    this.failures.set(client, list);
    while (this.failures.size > MAX_CLIENTS) {
      this.failures.delete(this.failures.keys().next().value as string);
    }
  }

  private tokenMatches(candidate: string): boolean {
    const expected = this.options.token;
    if (expected === undefined) return true;
    const a = createHmac('sha256', this.key).update(candidate).digest();
    const b = createHmac('sha256', this.key).update(expected).digest();
    return timingSafeEqual(a, b);
  }

  /** The live session a cookie names, if its signature holds and it has not ended or expired. */
  private sessionOf(value: string): string | undefined {
    const [id, signature] = value.split('.');
    if (!id || !signature) return undefined;
    const expected = Buffer.from(this.sign(id));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const expires = this.sessions.get(id);
    if (expires === undefined) return undefined;
    if (expires < this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return id;
  }

  private prune(now: number): void {
    for (const [id, expires] of this.sessions) if (expires < now) this.sessions.delete(id);
  }

  private sign(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64url');
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

/**
 * Strict CORS: no cross-origin reads are allowed (no Access-Control-Allow-Origin is ever sent),
 * and a state-changing request is refused unless it plainly comes from this server's own page
 * or from a program: a cross-site or same-site `Sec-Fetch-Site`, or an Origin that is not this
 * host, is refused (403); a body that is not JSON is refused (415), which also rules out the
 * form posts and `text/plain` beacons a page may send without asking.
 */
export function sameOriginWrites(): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const site = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    if (
      (site !== undefined && site !== 'same-origin' && site !== 'none') ||
      (origin !== undefined && !sameHost(origin, c.req.header('host') ?? new URL(c.req.url).host))
    ) {
      const from = origin === undefined ? `a ${site} page` : JSON.stringify(origin.slice(0, 100));
      return failure(c, 403, 'FORBIDDEN_ORIGIN', `requests from ${from} are not allowed`);
    }
    const hasBody =
      c.req.header('transfer-encoding') !== undefined ||
      Number(c.req.header('content-length') ?? 0) > 0;
    const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (hasBody && type !== 'application/json')
      return failure(
        c,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'send the body as JSON (Content-Type: application/json)',
      );
    return next();
  };
}

/**
 * For `/mcp`, reads too: the MCP specification asks servers to check the Origin of every
 * connection, and its event streams are reads a page could open. A request a browser marks as
 * coming from another site, or whose Origin is not this host, is refused (403); programs send
 * no Origin and pass. Writes still go through sameOriginWrites as well.
 */
export function sameOriginOnly(): MiddlewareHandler {
  return async (c, next) => {
    const site = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    if (
      site === 'cross-site' ||
      site === 'same-site' ||
      (origin !== undefined && !sameHost(origin, c.req.header('host') ?? new URL(c.req.url).host))
    ) {
      const from = origin === undefined ? `a ${site} page` : JSON.stringify(origin.slice(0, 100));
      return failure(c, 403, 'FORBIDDEN_ORIGIN', `requests from ${from} are not allowed`);
    }
    return next();
  };
}

/** An Origin and a Host name the same place: compared as URLs do (case, default ports). */
function sameHost(origin: string, host: string): boolean {
  try {
    const from = new URL(origin);
    return from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    return false;
  }
}
