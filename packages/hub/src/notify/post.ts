import { lookup as dnsLookup } from 'node:dns';
import type { LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { addressRange } from './address.js';

/** One webhook request, as the courier hands it over. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /** Deliver to private, loopback and link-local addresses too (the channel's `allowPrivate`). */
  allowPrivate: boolean;
}

/** What came back. Redirects are answers like any other: nothing here follows them. */
export interface WebhookAnswer {
  status: number;
  /** The Retry-After header as sent. */
  retryAfter: string | null;
  /** Where a 3xx pointed, resolved against the request URL. */
  location?: string;
  /** The start of the body (MAX_BODY_BYTES at most), as UTF-8. */
  body: string;
}

/**
 * The courier's only way out: one POST, no redirects. Rejects with a DeliveryError for a
 * request that must not go out, an AbortError once the signal fires, or the socket's error.
 */
export type Post = (request: WebhookRequest) => Promise<WebhookAnswer>;

/** Local errors: the target is not allowed, or the request cannot be built. */
export type DeliveryErrorCode = 'NOTIFY_PRIVATE_ADDRESS' | 'NOTIFY_BAD_REQUEST';

export class DeliveryError extends Error {
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export function isDeliveryError(error: unknown): error is DeliveryError {
  return error instanceof DeliveryError;
}

/** Only a snippet and a service's error code are ever read from an answer. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * POSTs with node:http(s) and checks the address it is about to connect to:
 *
 *   URL host is an IP literal ──► check it ──► connect      (net skips lookup for literals)
 *   URL host is a name ──► lookup hook: resolve ──► check every address ──► connect to them
 *
 * The check sits inside the connection's own lookup, on the addresses DNS returned for this
 * connection, so a name that resolves to 127.0.0.1 or rebinds between two lookups gets no
 * chance. `agent: false` gives every request a fresh socket: a pooled one might have been
 * opened for a channel that allows private targets.
 */
export const guardedPost: Post = (request) =>
  new Promise<WebhookAnswer>((resolve, reject) => {
    const target = targetOf(request.url);
    const literal = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const refusal =
      !request.allowPrivate && isIP(literal) !== 0 ? privateAddress(literal, literal) : undefined;
    if (refusal) throw refusal;
    let req: ClientRequest;
    try {
      req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
        method: 'POST',
        headers: {
          'user-agent': 'Tether',
          accept: '*/*',
          ...request.headers,
          'content-length': String(Buffer.byteLength(request.body)),
        },
        signal: request.signal,
        agent: false,
        ...(!request.allowPrivate && { lookup: guardedLookup }),
      });
    } catch {
      // node:http throws on a header it will not send; its message quotes the value, which
      // may be the secret, so it is not kept.
      throw new DeliveryError('NOTIFY_BAD_REQUEST', 'the channel URL or a header is not valid');
    }
    req.on('error', reject);
    req.on('response', (res) => void readAnswer(res, target).then(resolve, reject));
    req.end(request.body);
  });

function targetOf(url: string): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    // The text of a URL that does not parse would be the secret, so it is not quoted.
    throw new DeliveryError('NOTIFY_BAD_REQUEST', 'the channel URL is not valid');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new DeliveryError('NOTIFY_BAD_REQUEST', 'the channel URL is not http:// or https://');
  return target;
}

function privateAddress(host: string, address: string): DeliveryError | undefined {
  const range = addressRange(address);
  if (range === undefined) return undefined;
  const what = host === address ? address : `${host} resolves to ${address}, which`;
  return new DeliveryError(
    'NOTIFY_PRIVATE_ADDRESS',
    `${what} is not a public address (${range}); set "allowPrivate": true on the channel to deliver there`,
  );
}

/** dns.lookup, refusing the whole answer when any address in it is not public. */
const guardedLookup: LookupFunction = (host, options: LookupOptions, callback) => {
  dnsLookup(host, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    for (const { address } of addresses) {
      const refusal = privateAddress(host, address);
      if (refusal) return callback(refusal, '');
    }
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
    if (options.all) return callback(null, addresses);
    callback(null, first.address, first.family);
  });
};

function readAnswer(res: IncomingMessage, target: URL): Promise<WebhookAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      const location = locationOf(res.headers.location, target);
      resolve({
        status: res.statusCode ?? 0,
        retryAfter: res.headers['retry-after'] ?? null,
        ...(location !== undefined && { location }),
        body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8'),
      });
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      // An endless body would otherwise hold the attempt until its timeout.
      if (size >= MAX_BODY_BYTES) {
        done();
        res.destroy();
      }
    });
    res.on('end', done);
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the answer ended'));
    });
  });
}

function locationOf(value: string | undefined, base: URL): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value, base).toString();
  } catch {
    return undefined;
  }
}
