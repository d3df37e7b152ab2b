import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '@tether/testkit';
import { Link, fullJitterBackoff } from '../src/index.js';
import type { LinkOptions, Transition } from '../src/index.js';
import { fakeFactory } from './fake-socket.js';

function setup(options: Partial<LinkOptions> = {}) {
  const clock = new ManualClock(0);
  const fake = fakeFactory();
  const link = new Link({
    url: 'ws://e.test/',
    socketFactory: fake.factory,
    clock,
    random: seededRandom(1),
    ...options,
  });
  const transitions: Transition[] = [];
  link.on('transition', (t) => transitions.push(t));
  return { clock, fake, link, transitions };
}

/** The delay the link chose for its latest backoff. */
function lastDelay(transitions: Transition[]): number {
  const t = transitions.at(-1)!;
  if (t.status.name !== 'backoff' || t.status.retryAt === null)
    throw new Error(`not backing off: ${t.to}`);
  return t.status.retryAt - t.at;
}

describe('backoff policy', () => {
  it('puts the first retry in [0, 250] ms, then lets the ceiling grow with the outage up to the cap', () => {
    const policy = fullJitterBackoff();
    const top = () => 0.999_999;
    expect(policy.delay({ failures: 1, outageMs: 0 }, top)).toBe(250);
    expect(policy.delay({ failures: 1, outageMs: 0 }, () => 0)).toBe(0);
    const ceilings = [0, 400, 2_000, 10_000, 59_000, 600_000].map((outageMs) =>
      policy.delay({ failures: 5, outageMs }, top),
    );
    expect(ceilings).toEqual([500, 500, 1_000, 5_000, 29_500, 30_000]);
    expect(policy.delay({ failures: 5, outageMs: 10_000 }, () => 0.5)).toBe(2_500);
  });

  it('waits between 30 and 60 s after an unwelcome close by default', () => {
    const policy = fullJitterBackoff();
    expect(policy.unwelcomeDelay(() => 0)).toBe(30_000);
    expect(policy.unwelcomeDelay(() => 0.999_999)).toBeLessThanOrEqual(60_000);
  });
});

describe('link recovery', () => {
  it('retries within 250 ms after an unexpected close 1000', () => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    fake.last().peerClose(1000, '');
    expect(lastDelay(transitions)).toBeLessThanOrEqual(250);
  });

  it('waits at most half the outage so far between attempts, and never beyond the cap', () => {
    const { link, fake, clock, transitions } = setup({ maxFailures: 1_000 });
    void link.connect();
    const start = clock.now();
    const delays: Array<[number, number]> = [];
    while (clock.now() - start < 10 * 60_000) {
      fake.last().fail();
      delays.push([clock.now() - start, lastDelay(transitions)]);
      clock.runNext();
    }
    expect(delays[0]![1]).toBeLessThanOrEqual(250);
    for (const [outage, delay] of delays.slice(1))
      expect(delay).toBeLessThanOrEqual(Math.min(30_000, Math.max(500, outage / 2)));
    // Ten minutes of outage take tens of attempts, not thousands (the cap holds) nor a handful.
    expect(delays.length).toBeGreaterThan(30);
    expect(delays.length).toBeLessThan(200);
  });

  it('starts over at a quick retry after a stable period connected', () => {
    const { link, fake, clock, transitions } = setup({
      stableMs: 30_000,
      maxFailures: 100,
      pingIntervalMs: 60_000,
    });
    void link.connect();
    for (let i = 0; i < 6; i++) {
      fake.last().fail();
      clock.runNext();
    }
    expect(link.failureCount).toBe(6);
    fake.last().open();
    clock.advance(29_000);
    fake.last().pong();
    expect(link.failureCount).toBe(6);
    clock.advance(1_000);
    expect(link.failureCount).toBe(0);
    fake.last().peerClose(1006);
    expect(lastDelay(transitions)).toBeLessThanOrEqual(250);
  });

  it('keeps counting failures when the connection drops before it was stable', () => {
    const { link, fake, clock } = setup({ stableMs: 30_000, maxFailures: 100 });
    void link.connect();
    for (let i = 0; i < 5; i++) {
      fake.last().open();
      clock.advance(1_000);
      fake.last().peerClose(1006);
      clock.runNext();
    }
    expect(link.failureCount).toBe(5);
  });

  it.each([
    [1008, 'invalid token'],
    [4401, 'unauthorized'],
    [1000, 'replaced by a new connection'],
  ])('does not hammer an endpoint that closed with %i %s', (code, reason) => {
    const { link, fake, transitions } = setup();
    void link.connect();
    fake.last().open();
    fake.last().peerClose(code, reason);
    expect(lastDelay(transitions)).toBeGreaterThanOrEqual(30_000);
  });

  it('does not reconnect after a close the user asked for', async () => {
    const { link, fake, clock } = setup();
    void link.connect();
    fake.last().open();
    const closing = link.close();
    fake.last().peerClose(1000);
    await closing;
    clock.advance(3_600_000);
    expect(fake.sockets).toHaveLength(1);
    expect(link.status.name).toBe('disabled');
    expect(clock.pending).toBe(0);
  });
});

describe('circuit breaker', () => {
  it('parks after K consecutive failures over at least a minute, says so once, and probes slowly', () => {
    const { link, fake, clock } = setup({
      maxFailures: 10,
      parkAfterMs: 60_000,
      probeIntervalMs: 300_000,
    });
    const parked: Transition[] = [];
    link.on('parked', (t) => parked.push(t));
    void link.connect();
    const start = clock.now();
    while (link.status.name !== 'parked') {
      fake.last().fail();
      if (link.status.name === 'backoff') clock.runNext();
    }
    expect(clock.now() - start).toBeGreaterThanOrEqual(60_000);
    expect(link.failureCount).toBeGreaterThanOrEqual(10);
    expect(link.status).toMatchObject({ name: 'parked', probeAt: clock.now() + 300_000 });
    expect(parked).toHaveLength(1);
    const sockets = fake.sockets.length;
    clock.advance(299_999);
    expect(fake.sockets).toHaveLength(sockets);
    clock.advance(1);
    expect(fake.sockets).toHaveLength(sockets + 1);
    fake.last().fail();
    expect(link.status.name).toBe('parked');
    expect(parked).toHaveLength(1); // one announcement per outage, not one per probe
  });

  it('does not park during a short outage, however many quick retries failed', () => {
    const { link, fake, clock } = setup({ maxFailures: 3, parkAfterMs: 60_000 });
    void link.connect();
    for (let i = 0; i < 8; i++) {
      fake.last().fail();
      clock.runNext();
    }
    expect(clock.now()).toBeLessThan(60_000);
    expect(link.status.name).toBe('connecting');
  });

  it('wakes at once on retryNow() and recovers', async () => {
    const { link, fake, clock } = setup({ maxFailures: 2, parkAfterMs: 0 });
    void link.connect().catch(() => {});
    fake.last().fail();
    clock.runNext();
    fake.last().fail();
    expect(link.status.name).toBe('parked');
    link.retryNow();
    expect(link.status.name).toBe('connecting');
    fake.last().open();
    expect(link.status.name).toBe('open');
  });
});

describe('browser hooks', () => {
  it('holds retries while offline and retries at once when back online', () => {
    const { link, fake, clock } = setup();
    void link.connect();
    fake.last().fail();
    link.setOnline(false);
    expect(link.status).toMatchObject({ name: 'backoff', retryAt: null });
    clock.advance(600_000);
    expect(fake.sockets).toHaveLength(1);
    link.setOnline(true);
    expect(link.status.name).toBe('connecting');
    expect(fake.sockets).toHaveLength(2);
  });

  it('retries at once when the page becomes visible again', () => {
    const { link, fake } = setup();
    void link.connect();
    fake.last().open();
    fake.last().peerClose(1001);
    link.setVisible(true);
    expect(link.status.name).toBe('connecting');
  });

  it('checks an open socket when the page comes back, instead of trusting it', () => {
    const { link, fake, clock } = setup({ pingIntervalMs: 5_000, maxMissedPongs: 2 });
    void link.connect();
    fake.last().open();
    clock.advance(1_000);
    link.setVisible(true);
    expect(fake.last().pings).toBe(1); // asked at once
    clock.advance(4_999);
    expect(link.status.name).toBe('open');
    clock.advance(1); // one interval without an answer: the socket is dead
    expect(link.status.name).toBe('backoff');
  });

  it('keeps an open socket that answers the check', () => {
    const { link, fake, clock } = setup({ pingIntervalMs: 5_000, maxMissedPongs: 2 });
    void link.connect();
    fake.last().open();
    link.setVisible(true);
    clock.advance(20);
    fake.last().pong();
    clock.advance(5_000);
    expect(link.status.name).toBe('open');
  });
});

describe('fleet behaviour', () => {
  it('spreads the first retries of 1,000 links after one server restart: no 100 ms bin above twice the mean', () => {
    const clock = new ManualClock(0);
    const random = seededRandom(2026);
    const retries: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const fake = fakeFactory();
      const link = new Link({
        url: `ws://e.test/${i}`,
        socketFactory: fake.factory,
        clock,
        random,
      });
      void link.connect();
      fake.last().open();
      link.on('transition', (t) => {
        if (t.status.name === 'backoff' && t.status.retryAt !== null)
          retries.push(t.status.retryAt - t.at);
      });
      // The server restarts: every socket sees 1006 at the same instant.
      clock.setTimeout(() => fake.last().peerClose(1006, ''), 10_000);
    }
    clock.advance(10_000);
    expect(retries).toHaveLength(1_000);
    // Bins over the whole promised window (0–250 ms → three 100 ms bins), empty ones included,
    // so retries in lockstep at any single moment fail the check.
    const bins = [0, 0, 0];
    for (const delay of retries) bins[Math.min(2, Math.floor(delay / 100))]!++;
    const mean = retries.length / bins.length;
    expect(Math.max(...bins)).toBeLessThanOrEqual(2 * mean);
    expect(Math.max(...retries)).toBeLessThanOrEqual(250);
  });
});
