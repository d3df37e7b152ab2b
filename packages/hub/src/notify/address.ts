import { BlockList, isIP } from 'node:net';

/** Why an address is not a public destination; shown in the log line that refuses it. */
export type AddressRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrier-grade NAT'
  | 'link-local'
  | 'multicast'
  | 'unique-local'
  | 'site-local'
  | 'reserved'
  | 'invalid';

/**
 * Destinations a webhook must not reach unless its channel says `allowPrivate: true`: anything
 * that lands on this machine, its LAN, or its provider's network rather than on the internet.
 * 0.0.0.0/8 is here because Linux connects 0.0.0.0 to the local host.
 */
const RANGES: ReadonlyArray<[AddressRange, ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>]> = [
  [
    'unspecified',
    [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  ],
  [
    'loopback',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'private',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
    ],
  ],
  ['carrier-grade NAT', [['100.64.0.0', 10, 'ipv4']]],
  [
    'link-local',
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  [
    'multicast',
    [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  ],
  ['unique-local', [['fc00::', 7, 'ipv6']]],
  // Deprecated (RFC 3879), but a router that still honours it keeps it inside the site.
  ['site-local', [['fec0::', 10, 'ipv6']]],
  [
    'reserved',
    [
      // 240/4 holds the limited broadcast 255.255.255.255; nothing in it is a real webhook.
      ['240.0.0.0', 4, 'ipv4'],
      // IETF protocol assignments (DS-Lite's B4/AFTR, NAT64 discovery): middleboxes, not hosts.
      ['192.0.0.0', 24, 'ipv4'],
      // Benchmarking (RFC 2544): lab networks, often next to the machine under test.
      ['198.18.0.0', 15, 'ipv4'],
    ],
  ],
];

const LISTS: ReadonlyArray<[AddressRange, BlockList]> = RANGES.map(([range, subnets]) => {
  const list = new BlockList();
  for (const [network, prefix, family] of subnets) list.addSubnet(network, prefix, family);
  return [range, list];
});

/**
 * The non-public range an IP address is in, or undefined for a public one.
 *
 * An IPv6 address that carries an IPv4 address is judged by the IPv4 address too, because a
 * translator or tunnel on the way delivers it there: IPv4-mapped (::ffff:a.b.c.d) and
 * IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96 and the
 * local-use 64:ff9b:1::/48) and 6to4 (2002::/16). `2002:7f00:1::` is 127.0.0.1 to a 6to4 relay.
 */
export function addressRange(ip: string): AddressRange | undefined {
  // A zone index (fe80::1%eth0) names an interface, not an address, and BlockList would not
  // match the address with it attached.
  const bare = ip.replace(/%.*$/s, '');
  const family = isIP(bare);
  // Fail closed: whatever this is, it is not known to be public.
  if (family === 0) return 'invalid';
  if (family === 4) return rangeOf(bare, 'ipv4');
  const own = rangeOf(bare, 'ipv6');
  if (own !== undefined) return own;
  for (const embedded of embeddedIpv4(groupsOf(bare))) {
    const range = rangeOf(embedded, 'ipv4');
    if (range !== undefined) return range;
  }
  return undefined;
}

function rangeOf(ip: string, type: 'ipv4' | 'ipv6'): AddressRange | undefined {
  for (const [range, list] of LISTS) if (list.check(ip, type)) return range;
  return undefined;
}

/**
 * The IPv4 addresses an IPv6 address may stand for, as 8 16-bit groups. Where the layout is
 * local knowledge (the local-use NAT64 prefix may be cut at /48, /56, /64 or /96), every layout
 * that the address is well-formed for is returned: a single private reading refuses it.
 */
function embeddedIpv4(g: readonly number[]): string[] {
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const low32 = quad([g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff]);
  // ::a.b.c.d, ::ffff:a.b.c.d and ::ffff:0:a.b.c.d (:: and ::1 are judged as IPv6 before this).
  if (zero(0, 5) && (g[5] === 0 || g[5] === 0xffff)) return [low32];
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return [low32];
  // 6to4: 2002:AABB:CCDD::/48.
  if (g[0] === 0x2002) return [quad([g[1]! >> 8, g[1]! & 0xff, g[2]! >> 8, g[2]! & 0xff])];
  if (g[0] !== 0x64 || g[1] !== 0xff9b) return [];
  // NAT64, the well-known prefix: 64:ff9b::/96 only (RFC 6052).
  if (zero(2, 6)) return [low32];
  if (g[2] !== 1) return [];
  return rfc6052Layouts(g);
}

/**
 * RFC 6052 §2.2 layouts inside 64:ff9b:1::/48. Bits 64-71 (the "u" octet) are always zero,
 * and the bits after the IPv4 address are zero in every layout but /96.
 */
function rfc6052Layouts(g: readonly number[]): string[] {
  const bytes = g.flatMap((x) => [x >> 8, x & 0xff]);
  const zero = (from: number) => bytes.slice(from).every((b) => b === 0);
  const out: string[] = [];
  if (bytes[8] === 0) {
    if (zero(11)) out.push(quad([bytes[6]!, bytes[7]!, bytes[9]!, bytes[10]!])); // /48
    if (zero(12)) out.push(quad([bytes[7]!, bytes[9]!, bytes[10]!, bytes[11]!])); // /56
    if (zero(13)) out.push(quad([bytes[9]!, bytes[10]!, bytes[11]!, bytes[12]!])); // /64
  }
  out.push(quad(bytes.slice(12, 16))); // /96
  return out;
}

const quad = (bytes: readonly number[]) => bytes.join('.');

/** The 8 groups of an IPv6 address that isIP has accepted (a trailing a.b.c.d included). */
function groupsOf(ip: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  let text = ip;
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${ip.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
