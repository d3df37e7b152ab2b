import type { IncomingMessage } from 'node:http';

/** The request headers carried to the upstream unless the gateway is told otherwise. */
export const DEFAULT_FORWARDED_HEADERS: readonly string[] = [
  'authorization',
  'cookie',
  'x-forwarded-for',
  'x-forwarded-proto',
];

/**
 * Headers that belong to one hop's WebSocket handshake (or to HTTP framing): the upstream
 * handshake makes its own, and a copy would contradict it.
 */
const HOP_HEADERS = new Set([
  'host',
  'connection',
  'upgrade',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-connection',
]);

/** Lower-cased, checked names; throws on a name that cannot or must not be carried. */
export function forwardedHeaderNames(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
      throw new RangeError(`not a header name: ${JSON.stringify(raw)}`);
    if (HOP_HEADERS.has(name) || name.startsWith('sec-websocket-'))
      throw new RangeError(`${name} belongs to one hop's handshake and is never forwarded`);
    out.add(name);
  }
  return [...out];
}

/**
 * The upstream URL for a client's upgrade request: the client's path joined onto the
 * upstream's own path, the client's query after the upstream's own parameters.
 *
 *   upstream ws://up:9000/base?app=1  +  client /chat/7?lang=fr  =  ws://up:9000/base/chat/7?app=1&lang=fr
 *   upstream ws://up:9000/base        +  client /                =  ws://up:9000/base
 *
 * The client's path is resolved first (dot segments, encoded or not, are removed), so it can
 * only name something under the upstream's path.
 */
export function upstreamTarget(upstream: URL, requestUrl: string | undefined): URL {
  const incoming = new URL(requestUrl ?? '/', 'http://gateway.invalid');
  const target = new URL(upstream.href);
  if (incoming.pathname !== '/')
    target.pathname = target.pathname.replace(/\/+$/, '') + incoming.pathname;
  const own = target.search.slice(1);
  const theirs = incoming.search.slice(1);
  target.search = own && theirs ? `${own}&${theirs}` : own || theirs;
  return target;
}

/** The headers of `request` that the upstream gets, by the names in `names`. */
export function forwardedHeaders(
  request: IncomingMessage,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (name === 'x-forwarded-for') {
      // As every proxy does: the addresses the request came through, then the one it came from.
      const peer = request.socket.remoteAddress;
      const chain = [text, peer].filter((v): v is string => Boolean(v));
      if (chain.length > 0) out[name] = chain.join(', ');
    } else if (name === 'x-forwarded-proto') {
      const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
      out[name] = text ?? (encrypted ? 'https' : 'http');
    } else if (text !== undefined) out[name] = text;
  }
  return out;
}

/**
 * A URL fit for a log: every query value (any of them may be a token) and the password are
 * masked, names are kept so a reader can still tell what was asked for.
 */
export function shownUrl(url: URL | string): string {
  let shown: URL;
  try {
    shown = new URL(typeof url === 'string' ? url : url.href);
  } catch {
    return '(not a URL)';
  }
  if (shown.password) shown.password = '***';
  if (shown.search) {
    const pairs = shown.search
      .slice(1)
      .split('&')
      .map((pair) => {
        const at = pair.indexOf('=');
        return at === -1 ? pair : `${pair.slice(0, at)}=***`;
      });
    shown.search = pairs.join('&');
  }
  shown.hash = '';
  return shown.href;
}
