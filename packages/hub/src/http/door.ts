import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { failure } from './errors.js';

/**
 * The door: checks that run before any route, the Host first, then the size (docs/security.md,
 * "The door: checks before routing"). A request that fails here never reaches a handler or a
 * parser.
 */

export interface HostPolicy {
  /** The address the server is bound to (`127.0.0.1`, `0.0.0.0`, a name…). */
  boundHost: string;
  /** `hub.allowedHosts`: names (or name:port) the hub is served under, read on every request. */
  allowedHosts(): readonly string[];
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** Loopback addresses and names: only local programs reach them. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.has(h) || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Refuses a request whose Host is not one this hub is served under. A page on `evil.test` that
 * resolves to 127.0.0.1 (DNS rebinding) sends `Host: evil.test` and its own matching Origin, so
 * an Origin check alone lets it in; the Host is the one thing such a page cannot choose.
 * Allowed: loopback names and addresses, the bound host (and, bound to a wildcard, this
 * machine's own addresses — an IP literal cannot be rebound), and `hub.allowedHosts`.
 */
export function hostGuard(policy: HostPolicy): MiddlewareHandler {
  const bound = policy.boundHost.toLowerCase();
  const own = WILDCARDS.has(bound) ? localAddresses() : new Set([bound]);
  return async (c, next) => {
    // In-process requests (tests, app.request) carry the host in the URL only; one that came
    // over a socket without a Host header is refused, whatever URL the adapter made up for it.
    const header = c.req.header('host') ?? (overSocket(c) ? undefined : new URL(c.req.url).host);
    if (header === undefined || header === '') return refuse(c, 'a Host header is required');
    const host = header.toLowerCase();
    const name = hostname(host);
    if (isLoopback(name) || own.has(name) || own.has(`[${name}]`)) return next();
    const allowed = policy.allowedHosts();
    if (allowed.includes(name) || allowed.includes(host)) return next();
    return refuse(
      c,
      `the hub is not served under the name ${JSON.stringify(header.slice(0, 100))}; add it to hub.allowedHosts if it should be`,
    );
  };
}

function refuse(c: Context, message: string) {
  return failure(c, 403, 'FORBIDDEN_HOST', message);
}

/** `example.test:8765` → `example.test`; `[::1]:8765` → `::1`. */
function hostname(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : host;
  }
  const colon = host.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address.
  if (colon >= 0 && host.indexOf(':', colon + 1) < 0) return host.slice(0, colon);
  return host;
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (isIP(entry.address)) out.add(entry.address.toLowerCase().replace(/%.*$/, ''));
    }
  }
  return out;
}

/** Whether the request came over a socket (the Node adapter), not from `app.request` in-process. */
function overSocket(c: Context): boolean {
  return (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
}

/**
 * Bodies over `maxBytes(c)` are refused with 413: at once when Content-Length says so, and a
 * chunked body as soon as the bytes counted pass the limit, so at most `maxBytes` is ever held.
 */
export function sizeLimit(maxBytes: (c: Context) => number): MiddlewareHandler {
  return (c, next) => {
    const max = maxBytes(c);
    return bodyLimit({
      maxSize: max,
      onError: (ctx) =>
        failure(ctx, 413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${max} bytes`),
    })(c, next);
  };
}

/**
 * `hub.trustProxy`: false believes no forwarding header; true believes them from a peer on
 * loopback or a private network (a proxy on this machine, in a container network or on the
 * LAN); a list believes them only from those addresses or CIDR ranges.
 */
export type ProxyTrust = boolean | readonly string[];

const PRIVATE_PEERS = new BlockList();
PRIVATE_PEERS.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE_PEERS.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE_PEERS.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE_PEERS.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE_PEERS.addAddress('::1', 'ipv6');
PRIVATE_PEERS.addSubnet('fc00::', 7, 'ipv6');

const listed = new WeakMap<readonly string[], BlockList>();

/** Whether forwarding headers from `peer` are believed. */
export function trustsPeer(peer: string, trust: ProxyTrust): boolean {
  if (trust === false) return false;
  const address = unmapped(peer);
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(address) === 0) return false;
  if (trust === true) return PRIVATE_PEERS.check(address, family);
  let list = listed.get(trust);
  if (!list) {
    list = new BlockList();
    for (const entry of trust) {
      const [net, bits] = entry.split('/');
      const v = isIP(net ?? '') === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(net!, v);
      else list.addSubnet(net!, Number(bits), v);
    }
    listed.set(trust, list);
  }
  return list.check(address, family);
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: a dual-stack socket reports IPv4 peers that way. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address.replace(/%.*$/, '');
}

/** The socket's peer address, when the request came over one. */
export function peerAddress(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress;
}

/**
 * Who is asking, as rate limits count clients: the peer, or behind a believed proxy the
 * address it appended last to X-Forwarded-For (earlier entries are the client's own claim).
 * IPv6 clients are counted per /64, the block one subscriber gets, so rotating addresses
 * within it buys no extra tries.
 */
export function clientKey(c: Context, trust: ProxyTrust): string {
  const peer = peerAddress(c);
  let client = peer;
  if (peer !== undefined && trustsPeer(peer, trust)) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').pop()?.trim();
    if (forwarded && isIP(unmapped(forwarded))) client = forwarded;
  }
  return client === undefined ? 'in-process' : addressKey(client);
}

/** An IPv4 address as it is; an IPv6 address as its /64. */
export function addressKey(address: string): string {
  const a = unmapped(address);
  if (isIP(a) !== 6) return a;
  return `${expandIPv6(a).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((h) => h.replace(/^0+(?=.)/, ''));
}

/** Whether the browser reached us over TLS: directly, or through a believed proxy that says so. */
export function servedOverTls(c: Context, trust: ProxyTrust): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  const peer = peerAddress(c);
  return (
    peer !== undefined &&
    trustsPeer(peer, trust) &&
    c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https'
  );
}

/**
 * The deepest nesting of a JSON text, counted without parsing it (strings skipped), stopping
 * as soon as `max` is passed: deep nesting is what makes recursive code downstream overflow.
 */
export function exceedsDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}

/**
 * A reader for JSON bodies: the text (already bounded by the size limit at the door), its
 * nesting checked before it is parsed, then the schema. Every refusal is a 400 with every
 * issue, never a 500.
 */
export function jsonBody(maxDepth: () => number) {
  return async function read<T extends z.ZodType>(
    c: Context,
    schema: T,
  ): Promise<z.output<T> | Response> {
    let value: unknown;
    try {
      const text = await c.req.text();
      if (exceedsDepth(text, maxDepth()))
        return failure(c, 400, 'BAD_REQUEST', `the body nests deeper than ${maxDepth()} levels`);
      value = JSON.parse(text);
    } catch {
      return failure(c, 400, 'BAD_REQUEST', 'the body must be JSON');
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.join('.') || '(body)',
      message: i.message,
    }));
    return failure(
      c,
      400,
      'BAD_REQUEST',
      issues.map((i) => `${i.path}: ${i.message}`).join('; '),
      issues,
    );
  };
}
