import { ManualClock, seededRandom } from '@tether/testkit';
import { Link } from '../src/index.js';
import type { ConnectBudget, LinkOptions } from '../src/index.js';
import { FakeSocket, fakeFactory } from './fake-socket.js';

export interface StormResult {
  /** Connection attempts in each 100 ms after the host came back, until every link was ready. */
  bins: number[];
  busiest: number;
  /** From the host's return until the last link was ready. */
  allReadyMs: number;
  /** The most sockets any one link held at once (open or connecting). */
  maxSocketsPerLink: number;
}

/**
 * A fleet of links on one manual clock and fake sockets, all ready, whose host goes away for
 * `outageMs` (every socket closes with 1006 at the same instant) and comes back. Connecting
 * takes `connectMs`; the layer above marks a link ready `handshakeMs` after it opens.
 */
export function storm(options: {
  links: number;
  outageMs?: number;
  budget?: (clock: ManualClock) => ConnectBudget;
  seed?: number;
  connectMs?: number;
  handshakeMs?: number;
  clock?: ManualClock;
  linkOptions?: Partial<LinkOptions>;
}): StormResult {
  const { links: n, outageMs = 10_000, connectMs = 2, handshakeMs = 3 } = options;
  const clock = options.clock ?? new ManualClock(0);
  const random = seededRandom(options.seed ?? 2026);
  const budget = options.budget?.(clock);
  let hostUp = true;
  let counting = false;
  let backAt = 0;
  const attempts: number[] = [];
  let maxSocketsPerLink = 0;
  const fleet = Array.from({ length: n }, (_, i) => {
    const fake = fakeFactory();
    let live = 0;
    const link = new Link({
      url: `ws://e.test/${i}`,
      clock,
      random,
      maxFailures: 1_000,
      // The fake peer never answers pings; the storm is about connects, not heartbeats.
      pingIntervalMs: 600_000,
      connectBudget: budget,
      ...options.linkOptions,
      socketFactory: (url, handlers) => {
        if (counting) attempts.push(clock.now() - backAt);
        live++;
        maxSocketsPerLink = Math.max(maxSocketsPerLink, live);
        let gone = false;
        const end = () => {
          if (!gone) live--;
          gone = true;
        };
        const socket = new FakeSocket(url, {
          ...handlers,
          onClose: (code, reason) => (end(), handlers.onClose(code, reason)),
          onError: (error) => (end(), handlers.onError(error)),
        });
        fake.sockets.push(socket);
        const terminate = socket.terminate.bind(socket);
        socket.terminate = () => (end(), terminate());
        clock.setTimeout(() => {
          if (gone) return;
          if (hostUp) socket.open();
          else socket.fail('connect ECONNREFUSED');
        }, connectMs);
        return socket;
      },
    });
    link.on('transition', (t) => {
      if (t.to === 'open') clock.setTimeout(() => link.markReady(), handshakeMs);
    });
    return { link, fake };
  });
  for (const { link } of fleet) void link.connect().catch(() => {});
  const everyReady = () => fleet.every(({ link }) => link.status.name === 'ready');
  while (!everyReady()) if (!clock.runNext()) throw new Error('storm: the fleet never got ready');
  clock.advance(1_000);

  // The host goes away: every socket is cut at once.
  hostUp = false;
  for (const { fake } of fleet) fake.last().peerClose(1006, '');
  clock.advance(outageMs);
  hostUp = true;
  counting = true;
  backAt = clock.now();
  while (!everyReady()) if (!clock.runNext()) throw new Error('storm: the fleet never came back');
  const allReadyMs = clock.now() - backAt;
  for (const { link } of fleet) void link.close();
  const bins = Array.from({ length: Math.ceil((allReadyMs + 1) / 100) }, () => 0);
  for (const at of attempts) bins[Math.floor(at / 100)]!++;
  return { bins, busiest: Math.max(...bins), allReadyMs, maxSocketsPerLink };
}
