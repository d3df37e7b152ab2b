import { maskUrl, redact } from '../log/redact.js';

const DEFAULT_URL = 'http://127.0.0.1:8765';
/** Requests wait as long as the longest tool call may run, plus a little. */
const REQUEST_TIMEOUT_MS = 330_000;
/** The event stream: its headers come at once, then a keepalive at least every 15 s. */
const STREAM_OPEN_TIMEOUT_MS = 10_000;
const STREAM_IDLE_TIMEOUT_MS = 45_000;
/** One event larger than this is not the hub talking: the stream is dropped. */
const MAX_EVENT_CHARS = 1 << 20;
/** What a header value can carry unchanged: visible ASCII, spaces only inside. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Where the hub is and how to log in to it. */
export interface HubTarget {
  url: string;
  token: string | undefined;
}

/**
 * --url, then TETHER_URL, then the default; --token, then TETHER_ADMIN_TOKEN. An empty value
 * counts as unset, as it does for the hub itself.
 */
export function hubTarget(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): HubTarget {
  return {
    url: flags.url || env.TETHER_URL || DEFAULT_URL,
    token: flags.token || env.TETHER_ADMIN_TOKEN || undefined,
  };
}

export type HubClientErrorCode =
  'BAD_URL' | 'BAD_TOKEN' | 'UNREACHABLE' | 'UNAUTHORIZED' | 'HUB_ERROR' | 'STREAM_ENDED';

/**
 * A failure of the CLI's side of the conversation; the message is safe to print. For an answer
 * of the hub (`HUB_ERROR`), its status, its error code (NOT_FOUND, READ_ONLY, CONFLICT…) and its
 * own message, scrubbed, so a command can say what to do about it.
 */
export class HubClientError extends Error {
  constructor(
    readonly code: HubClientErrorCode,
    message: string,
    readonly answer?: { status: number; code: string | undefined; message: string },
  ) {
    super(message);
    this.name = 'HubClientError';
  }

  /** The hub's own error code, when the hub answered with one. */
  get hubCode(): string | undefined {
    return this.answer?.code;
  }
}

export interface HubEventFrame {
  event: string;
  data: string;
}

/**
 * The CLI's side of the API: `tether status`, `tools`, `call` talk to a running hub. The admin
 * token rides in the Authorization header of every request and is kept out of every message this
 * class produces, even when the other side echoes it back.
 */
export class HubClient {
  /** The hub's address as it may be shown: credentials masked. */
  readonly shownUrl: string;
  private readonly base: URL;
  /** A #private field: util.inspect and JSON.stringify of the client leave it out. */
  readonly #token: string | undefined;

  constructor(target: HubTarget) {
    this.shownUrl = maskUrl(target.url);
    let base: URL;
    try {
      base = new URL(target.url);
    } catch {
      throw new HubClientError(
        'BAD_URL',
        `${this.shownUrl} is not a URL (set --url or TETHER_URL to the hub's address)`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new HubClientError(
        'BAD_URL',
        `the hub's address must be http:// or https://, not ${this.shownUrl}`,
      );
    // fetch() names a header value it refuses in its error: check first, and say nothing of it.
    if (target.token !== undefined && !HEADER_SAFE.test(target.token))
      throw new HubClientError(
        'BAD_TOKEN',
        'the admin token must be printable ASCII with no spaces at either end',
      );
    this.base = base;
    this.#token = target.token;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.json<T>(await this.send(path, { method: 'GET' }, this.deadline(signal)));
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  async delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(
      path,
      body === undefined
        ? { method }
        : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      this.deadline(),
    );
    return this.json<T>(response);
  }

  /**
   * GET /api/events as Server-Sent Events, one frame at a time, until the hub ends the stream;
   * throws when it fails or `signal` aborts. A stream silent past the hub's keepalive is dead.
   */
  async *events(signal: AbortSignal): AsyncGenerator<HubEventFrame> {
    const idle = new AbortController();
    const arm = (ms: number) => setTimeout(() => idle.abort(), ms).unref();
    let timer = arm(STREAM_OPEN_TIMEOUT_MS);
    const rearm = () => {
      clearTimeout(timer);
      timer = arm(STREAM_IDLE_TIMEOUT_MS);
    };
    try {
      const response = await this.send(
        '/api/events',
        { method: 'GET', headers: { accept: 'text/event-stream' } },
        AbortSignal.any([signal, idle.signal]),
      );
      if (!response.ok) throw await this.failure(response);
      if (!response.body) throw new HubClientError('STREAM_ENDED', 'the hub sent no event stream');
      rearm();
      let pending = '';
      let frame = { event: 'message', data: [] as string[], size: 0 };
      try {
        for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
          rearm();
          pending += chunk;
          // A CR at the end of a chunk may be the first half of a CRLF: wait for the next one.
          const cut = pending.endsWith('\r') ? pending.length - 1 : pending.length;
          const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
          pending = lines.pop()! + pending.slice(cut);
          if (pending.length + frame.size > MAX_EVENT_CHARS)
            throw new HubClientError('STREAM_ENDED', 'the hub sent an event too large to read');
          for (const line of lines) {
            if (line === '') {
              if (frame.data.length > 0) yield { event: frame.event, data: frame.data.join('\n') };
              frame = { event: 'message', data: [], size: 0 };
              continue;
            }
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') frame.event = value;
            else if (field === 'data') {
              frame.data.push(value);
              frame.size += value.length;
              if (frame.size > MAX_EVENT_CHARS)
                throw new HubClientError('STREAM_ENDED', 'the hub sent an event too large to read');
            }
          }
        }
      } catch (error) {
        if (error instanceof HubClientError || signal.aborted) throw error;
        throw new HubClientError(
          'STREAM_ENDED',
          idle.signal.aborted
            ? `the hub at ${this.shownUrl} went quiet`
            : `lost the hub at ${this.shownUrl} (${this.scrub(String((error as Error).message))})`,
        );
      }
    } finally {
      clearTimeout(timer);
      // Leaving early (the caller stopped reading) must also close the connection.
      idle.abort();
    }
  }

  private deadline(signal?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }

  private async send(path: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#token !== undefined) headers.set('authorization', `Bearer ${this.#token}`);
    try {
      // The API never redirects; following one would carry the token to another address.
      return await fetch(new URL(path, this.base), { ...init, headers, redirect: 'error', signal });
    } catch (error) {
      const reason = (error as Error).cause ?? (error as Error).message;
      throw new HubClientError(
        'UNREACHABLE',
        `cannot reach the hub at ${this.shownUrl} (${this.scrub(String(reason))}): start one with \`tether start\`, or pass --url (or set TETHER_URL) to reach one elsewhere`,
      );
    }
  }

  private async json<T>(response: Response): Promise<T> {
    if (!response.ok) throw await this.failure(response);
    return (await response.json().catch(() => ({}))) as T;
  }

  private async failure(response: Response): Promise<HubClientError> {
    if (response.status === 401)
      return new HubClientError(
        'UNAUTHORIZED',
        this.#token === undefined
          ? 'this hub needs its admin token: set TETHER_ADMIN_TOKEN or pass --token'
          : 'this hub refused the admin token it was given: check TETHER_ADMIN_TOKEN or --token',
      );
    const body = (await response.json().catch(() => ({}))) as {
      error?: { code?: unknown; message?: unknown };
    };
    const code = typeof body.error?.code === 'string' ? body.error.code : undefined;
    const message = this.scrub(
      body.error?.message === undefined ? `HTTP ${response.status}` : String(body.error.message),
    );
    const detail = body.error ? `${String(body.error.code)}: ${message}` : message;
    return new HubClientError('HUB_ERROR', this.scrub(detail), {
      status: response.status,
      code,
      message,
    });
  }

  /** Text from elsewhere (the hub's answer, a socket error), our token and credentials masked. */
  private scrub(text: string): string {
    const token = this.#token;
    return redact(token === undefined ? text : text.split(token).join('***'));
  }
}
