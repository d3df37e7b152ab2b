import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';

const COOKIE = 'tether_session';
const SESSION_MS = 12 * 3_600_000;

export interface AuthOptions {
  /** The admin token; undefined means no token is needed (bound to loopback, none configured). */
  token: string | undefined;
  /** Login attempts per client per minute. Default 5. */
  loginsPerMinute?: number;
  now?: () => number;
}

/** Loopback addresses: only local programs reach them. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * The admin token guards everything but health checks and the dashboard's own files. The API
 * takes it as a Bearer token; the dashboard exchanges it once for an HttpOnly session cookie,
 * signed with a key derived from the token (changing the token logs everyone out).
 */
export class Auth {
  private readonly attempts = new Map<string, number[]>();
  private readonly key: Buffer;

  constructor(private readonly options: AuthOptions) {
    this.key = createHmac('sha256', options.token ?? randomBytes(32))
      .update('tether-session')
      .digest();
  }

  get required(): boolean {
    return this.options.token !== undefined;
  }

  authenticated(c: Context): boolean {
    if (!this.required) return true;
    const header = c.req.header('authorization');
    if (header?.startsWith('Bearer ') && this.tokenMatches(header.slice(7))) return true;
    const cookie = getCookie(c, COOKIE);
    return cookie !== undefined && this.sessionValid(cookie);
  }

  /** Checks a login; `limited` when this client tried too often in the last minute. */
  login(client: string, token: string): 'ok' | 'wrong' | 'limited' {
    const now = this.now();
    const recent = (this.attempts.get(client) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= (this.options.loginsPerMinute ?? 5)) return 'limited';
    recent.push(now);
    this.attempts.set(client, recent);
    if (!this.required || this.tokenMatches(token)) {
      this.attempts.delete(client);
      return 'ok';
    }
    return 'wrong';
  }

  sessionCookie(): { name: string; value: string; maxAgeSeconds: number } {
    const expires = this.now() + SESSION_MS;
    return {
      name: COOKIE,
      value: `${expires}.${this.sign(String(expires))}`,
      maxAgeSeconds: SESSION_MS / 1000,
    };
  }

  get cookieName(): string {
    return COOKIE;
  }

  /** Middleware for every protected route. */
  guard(): MiddlewareHandler {
    return async (c, next) => {
      if (this.authenticated(c)) return next();
      return c.json(
        {
          error: {
            code: 'UNAUTHORIZED',
            message: 'an admin token is required (Authorization: Bearer …, or log in)',
          },
        },
        401,
      );
    };
  }

  private tokenMatches(candidate: string): boolean {
    const expected = this.options.token;
    if (expected === undefined) return true;
    const a = createHmac('sha256', this.key).update(candidate).digest();
    const b = createHmac('sha256', this.key).update(expected).digest();
    return timingSafeEqual(a, b);
  }

  private sessionValid(value: string): boolean {
    const [expires, signature] = value.split('.');
    if (!expires || !signature || Number(expires) < this.now()) return false;
    const expected = Buffer.from(this.sign(expires));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
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
 * and a state-changing request whose Origin is not this server is refused, so a web page the
 * operator visits cannot drive a hub on localhost.
 */
export function sameOriginWrites(): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || origin === undefined) return next();
    const host = c.req.header('host');
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost !== host) {
      return c.json(
        { error: { code: 'FORBIDDEN_ORIGIN', message: `requests from ${origin} are not allowed` } },
        403,
      );
    }
    return next();
  };
}
