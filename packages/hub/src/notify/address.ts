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
  // 240/4 holds the limited broadcast 255.255.255.255; nothing in it is a real webhook.
  ['reserved', [['240.0.0.0', 4, 'ipv4']]],
];

const LISTS: ReadonlyArray<[AddressRange, BlockList]> = RANGES.map(([range, subnets]) => {
  const list = new BlockList();
  for (const [network, prefix, family] of subnets) list.addSubnet(network, prefix, family);
  return [range, list];
});

/**
 * The non-public range an IP address is in, or undefined for a public one. IPv4 rules also
 * match the IPv4-mapped IPv6 form (::ffff:127.0.0.1, ::ffff:7f00:1): BlockList compares them
 * as the IPv4 address they carry, which is where the kernel would connect.
 */
export function addressRange(ip: string): AddressRange | undefined {
  // A zone index (fe80::1%eth0) names an interface, not an address, and BlockList would not
  // match the address with it attached.
  const bare = ip.replace(/%.*$/s, '');
  const family = isIP(bare);
  // Fail closed: whatever this is, it is not known to be public.
  if (family === 0) return 'invalid';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [range, list] of LISTS) if (list.check(bare, type)) return range;
  return undefined;
}
