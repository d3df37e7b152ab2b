import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, waitUntil } from '@tether/testkit';
import { Notifier, addressRange } from '../../src/notify/index.js';
import type { AddressRange, Channel } from '../../src/notify/index.js';
import { capturedLogger, startReceiver } from '../notify/helpers.js';
import type { Receiver } from '../notify/helpers.js';

const receivers: Receiver[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** The real delivery path (no fake post): what a hub with this one channel would do. */
function notifier(channel: Channel) {
  const clock = new ManualClock(Date.UTC(2025, 10, 14, 10, 0, 0));
  const log = capturedLogger();
  const n = new Notifier({
    channels: () => [channel],
    logger: log.logger,
    clock,
    random: () => 1,
  });
  notifiers.push(n);
  return { clock, notifier: n, log };
}

/** The receiver's URL with its host written another way; the port and token path stay. */
function via(hook: Receiver, host: string): string {
  return hook.url.replace('127.0.0.1', host);
}

/** Ways to write "this machine" that all reach the receiver on 127.0.0.1. */
const LOCAL_FORMS: Array<[host: string, range: AddressRange]> = [
  ['127.0.0.1', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['2130706433', 'loopback'],
  ['127.1', 'loopback'],
  ['[::ffff:127.0.0.1]', 'loopback'],
  ['localhost', 'loopback'],
  ['0.0.0.0', 'unspecified'],
];

describe('a webhook on a private address', () => {
  it.each([...LOCAL_FORMS, ['[::1]', 'loopback'] as [string, AddressRange]])(
    'http://%s is refused by default: nothing is sent, not retried, and the log says how to allow it',
    async (host, range) => {
      const hook = await receiver();
      const {
        clock,
        notifier: n,
        log,
      } = notifier({
        name: 'ops',
        kind: 'generic',
        url: via(hook, host),
      });
      n.serverState('calc', 'failed');
      await waitUntil(() => n.stats().failed === 1, { what: 'the refusal' });
      expect(hook.requests).toHaveLength(0);
      expect(hook.connections).toBe(0);
      expect(n.stats()).toMatchObject({ sent: 0, failed: 1, pending: 0 });
      expect(clock.pending).toBe(0); // no retry is scheduled
      const warning = log.lines().find((l) => l.level === 40);
      expect(warning).toMatchObject({
        msg: 'notification refused; not retrying',
        channel: expect.stringContaining('ops') as unknown,
        attempts: 1,
      });
      expect(warning!.why).toContain(`is not a public address (${range})`);
      expect(warning!.why).toContain('"allowPrivate": true');
      expect(JSON.stringify(log.lines())).not.toContain('SECRET-PATH-TOKEN');
    },
  );

  it('a name is judged by the address it resolves to', async () => {
    const hook = await receiver();
    const { notifier: n, log } = notifier({ kind: 'generic', url: via(hook, 'localhost') });
    n.serverState('calc', 'failed');
    await waitUntil(() => n.stats().failed === 1, { what: 'the refusal' });
    expect(log.lines().find((l) => l.level === 40)?.why).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1), which is not a public address/,
    );
  });

  it.each(LOCAL_FORMS.map(([host]) => host).filter((host) => host !== '0.0.0.0'))(
    'http://%s is delivered when the channel sets allowPrivate: true',
    async (host) => {
      const hook = await receiver();
      const { notifier: n } = notifier({
        kind: 'generic',
        url: via(hook, host),
        allowPrivate: true,
      });
      n.serverState('calc', 'failed');
      await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
      expect(hook.requests).toHaveLength(1);
      expect(hook.requests[0]!.path).toBe('/hook/SECRET-PATH-TOKEN');
      expect(JSON.parse(hook.requests[0]!.body)).toMatchObject({ event: 'server.crashloop' });
    },
  );
});

describe('a webhook that answers with a redirect', () => {
  it.each([301, 307, 308])(
    'a %d is not followed: the target gets nothing and the delivery fails without a retry',
    async (status) => {
      const target = await receiver();
      const hook = await receiver();
      hook.replies.push({ status, headers: { location: `${target.url}?token=REDIRECT-TOKEN` } });
      const {
        clock,
        notifier: n,
        log,
      } = notifier({
        kind: 'generic',
        url: hook.url,
        allowPrivate: true,
      });
      n.serverState('calc', 'failed');
      await waitUntil(() => n.stats().failed === 1, { what: 'the failed delivery' });
      expect(hook.requests).toHaveLength(1);
      expect(target.requests).toHaveLength(0);
      expect(target.connections).toBe(0);
      expect(n.stats()).toMatchObject({ sent: 0, failed: 1, pending: 0 });
      expect(clock.pending).toBe(0);
      const warning = log.lines().find((l) => l.level === 40);
      expect(warning).toMatchObject({ msg: 'notification refused; not retrying', attempts: 1 });
      const port = new URL(target.url).port;
      expect(warning!.why).toBe(
        `HTTP ${status} redirect to http://127.0.0.1:${port}; redirects are not followed, so set the channel URL to the final address`,
      );
      const text = JSON.stringify(log.lines());
      expect(text).not.toContain('SECRET-PATH-TOKEN');
      expect(text).not.toContain('REDIRECT-TOKEN');
    },
  );
});

describe('which addresses count as private', () => {
  it.each<[string, AddressRange]>([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.5', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'reserved'],
    ['not-an-address', 'invalid'],
    ['', 'invalid'],
  ])('%s is %s', (ip, range) => {
    expect(addressRange(ip)).toBe(range);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.169.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('%s is public', (ip) => {
    expect(addressRange(ip)).toBeUndefined();
  });
});

describe('an IPv6 address that carries an IPv4 address', () => {
  it.each<[ip: string, range: AddressRange | undefined, how: string]>([
    // NAT64, the well-known prefix (RFC 6052): the last 32 bits.
    ['64:ff9b::7f00:1', 'loopback', 'NAT64'],
    ['64:ff9b::127.0.0.1', 'loopback', 'NAT64'],
    ['64:ff9b::a00:1', 'private', 'NAT64'],
    ['64:ff9b::192.168.0.1', 'private', 'NAT64'],
    ['64:ff9b::a9fe:a9fe', 'link-local', 'NAT64'],
    ['64:ff9b::8.8.8.8', undefined, 'NAT64'],
    // NAT64, the local-use prefix (RFC 8215), in any RFC 6052 layout.
    ['64:ff9b:1::7f00:1', 'loopback', 'local NAT64, /96'],
    ['64:ff9b:1::10.1.2.3', 'private', 'local NAT64, /96'],
    ['64:ff9b:1:7f00:1::', 'loopback', 'local NAT64, /48'],
    ['64:ff9b:1:a:a:0:100::', 'private', 'local NAT64, /64'],
    ['64:ff9b:1::8.8.8.8', undefined, 'local NAT64, /96'],
    // 6to4 (RFC 3056): bits 16 to 47.
    ['2002:7f00:0001::', 'loopback', '6to4'],
    ['2002:7f00:1::1', 'loopback', '6to4'],
    ['2002:c0a8:0101::1', 'private', '6to4'],
    ['2002:a9fe:a9fe::', 'link-local', '6to4'],
    ['2002:0808:0808::1', undefined, '6to4'],
    // IPv4-compatible (deprecated, RFC 4291): ::a.b.c.d.
    ['::127.0.0.1', 'loopback', 'IPv4-compatible'],
    ['::7f00:1', 'loopback', 'IPv4-compatible'],
    ['::10.0.0.1', 'private', 'IPv4-compatible'],
    ['::8.8.8.8', undefined, 'IPv4-compatible'],
    // IPv4-mapped: ::ffff:a.b.c.d, both spellings.
    ['::ffff:127.0.0.1', 'loopback', 'IPv4-mapped'],
    ['::ffff:a9fe:a9fe', 'link-local', 'IPv4-mapped'],
    ['::ffff:808:808', undefined, 'IPv4-mapped'],
    ['0:0:0:0:0:ffff:100.64.0.1', 'carrier-grade NAT', 'IPv4-mapped'],
  ])('%s is %s (%s)', (ip, range) => {
    expect(addressRange(ip)).toBe(range);
  });
});

describe('the ranges a webhook may not reach', () => {
  it.each<[string, AddressRange]>([
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['100.64.0.0', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.0.1', 'link-local'],
    ['169.254.255.255', 'link-local'],
    ['224.0.0.0', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['192.0.0.1', 'reserved'],
    ['192.0.0.255', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['ff00::', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['fc00::', 'unique-local'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'unique-local'],
    ['fe80::', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['feff:ffff::1', 'site-local'],
  ])('%s is %s', (ip, range) => {
    expect(addressRange(ip)).toBe(range);
  });

  it.each(['192.0.1.1', '191.255.255.255', '198.17.255.255', '198.20.0.0', '2001:4860:4860::8888'])(
    '%s, just outside them, is public',
    (ip) => {
      expect(addressRange(ip)).toBeUndefined();
    },
  );
});
