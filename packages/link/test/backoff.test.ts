import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '@tether/testkit';
import {
  Link,
  equalJitter,
  exponentialCeiling,
  fullJitter,
  fullJitterBackoff,
  outageCeiling,
} from '../src/index.js';
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

describe('backoff pieces', () => {
  /** A fixed run of draws across [0, 1), the ends included. */
  const draws = [0, 0.001, 0.25, 0.5, 0.618, 0.75, 0.999_999];

  it('doubles an exponential ceiling from the base on each failure and holds it at the cap', () => {
    const ceiling = exponentialCeiling({ baseMs: 1_000, capMs: 60_000 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(ceiling)).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('treats a failure count below one as the first failure', () => {
    const ceiling = exponentialCeiling({ baseMs: 1_000, capMs: 60_000 });
    expect([0, -3].map(ceiling)).toEqual([1_000, 1_000]);
  });

  it('keeps an outage ceiling at the ratio of the outage, between the floor and the cap', () => {
    const ceiling = outageCeiling({ ratio: 0.5, floorMs: 500, capMs: 30_000 });
    expect([0, 999, 2_000, 10_000, 59_000, 600_000].map(ceiling)).toEqual([
      500, 500, 1_000, 5_000, 29_500, 30_000,
    ]);
  });

  it('draws full jitter as whole ms over all of [0, ceiling]', () => {
    expect(draws.map((r) => fullJitter(1_000, () => r))).toEqual([0, 1, 250, 500, 618, 750, 1_000]);
    const random = seededRandom(7);
    const seen = new Set(Array.from({ length: 1_000 }, () => fullJitter(3, random)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('draws equal jitter as whole ms in [half the ceiling, the ceiling]', () => {
    expect(draws.map((r) => equalJitter(1_000, () => r))).toEqual([
      500, 501, 625, 750, 809, 875, 1_000,
    ]);
    const random = seededRandom(7);
    for (let i = 0; i < 1_000; i++) {
      const delay = equalJitter(4_001, random);
      expect(Number.isInteger(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(2_000);
      expect(delay).toBeLessThanOrEqual(4_001);
    }
  });

  it('makes fullJitterBackoff full jitter over a quick first retry, then over the outage ceiling', () => {
    const policy = fullJitterBackoff();
    const ceiling = outageCeiling({ ratio: 0.5, floorMs: 500, capMs: 30_000 });
    const contexts = [
      { failures: 1, outageMs: 0 },
      { failures: 1, outageMs: 0, spreadMs: 5_000 },
      ...[200, 1_500, 4_000, 9_000, 20_000, 45_000, 90_000].map((outageMs, i) => ({
        failures: i + 2,
        outageMs,
      })),
    ];
    const expected = [250, 5_000, ...contexts.slice(2).map((c) => ceiling(c.outageMs))];
    const a = seededRandom(11);
    const b = seededRandom(11);
    expect(contexts.map((c) => policy.delay(c, a))).toEqual(
      expected.map((ceilingMs) => fullJitter(ceilingMs, b)),
    );
  });

  it('makes the unwelcome delay equal jitter and the flap floor an exponential ceiling', () => {
    const policy = fullJitterBackoff({ unwelcomeMs: 10_000, flapFloorMs: 1_000, capMs: 8_000 });
    const a = seededRandom(3);
    const b = seededRandom(3);
    for (let i = 0; i < 5; i++) expect(policy.unwelcomeDelay(a)).toBe(equalJitter(10_000, b));
    const damping = exponentialCeiling({ baseMs: 1_000, capMs: 8_000 });
    expect([1, 5, 6, 7, 8, 9, 10, 30].map((losses) => policy.flapFloor!(losses))).toEqual([
      0,
      0,
      ...[1, 2, 3, 4, 5, 25].map(damping),
    ]);
    expect(policy.flapFloor!(9)).toBe(8_000);
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

  it('gets the quick first retry for a loss 9 s after reconnecting: connected time is not outage', () => {
    // The top of every jitter range: the slowest delay the policy allows.
    const { link, fake, clock, transitions } = setup({ random: () => 0.999_999 });
    void link.connect();
    fake.last().open();
    link.markReady();
    fake.last().peerClose(1000);
    expect(lastDelay(transitions)).toBeLessThanOrEqual(250);
    clock.runNext();
    fake.last().open();
    link.markReady();
    clock.advance(9_000);
    fake.last().peerClose(1000);
    expect(lastDelay(transitions)).toBeLessThanOrEqual(250);
    expect(link.failureCount).toBe(1);
  });

  it('gives each of three clean closes two seconds apart the quick first retry', () => {
    const { link, fake, clock, transitions } = setup({ random: () => 0.999_999 });
    void link.connect();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      while (link.status.name !== 'connecting') clock.runNext();
      fake.last().open();
      link.markReady();
      clock.advance(2_000);
      fake.last().peerClose(i % 2 ? 4004 : 1000);
      delays.push(lastDelay(transitions));
    }
    expect(delays.every((d) => d <= 250)).toBe(true);
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

describe('flap damping', () => {
  /** Connect, complete the handshake, lose the socket after `upMs`; the delay chosen. */
  function flap(ctx: ReturnType<typeof setup>, upMs: number): Transition {
    const { link, fake, clock, transitions } = ctx;
    while (link.status.name !== 'connecting') clock.runNext();
    fake.last().open();
    link.markReady();
    clock.advance(upMs);
    fake.last().peerClose(1000, 'bye');
    return transitions.at(-1)!;
  }

  it('damps a link that loses its socket after the handshake more than 5 times in a minute, and says so', () => {
    const ctx = setup({ random: () => 0.999_999 });
    void ctx.link.connect();
    const losses = Array.from({ length: 8 }, () => flap(ctx, 1_000));
    for (const loss of losses.slice(0, 5)) {
      expect(loss.cause).not.toHaveProperty('damped');
      expect(lastDelay([loss])).toBeLessThanOrEqual(250);
    }
    expect(losses.slice(5).map((t) => t.cause)).toEqual([
      {
        type: 'close',
        code: 1000,
        reason: 'bye',
        damped: { losses: 6, windowMs: 60_000, floorMs: 1_000 },
      },
      {
        type: 'close',
        code: 1000,
        reason: 'bye',
        damped: { losses: 7, windowMs: 60_000, floorMs: 2_000 },
      },
      {
        type: 'close',
        code: 1000,
        reason: 'bye',
        damped: { losses: 8, windowMs: 60_000, floorMs: 4_000 },
      },
    ]);
    const delays = losses.slice(5).map((t) => lastDelay([t]));
    expect(delays[0]).toBeGreaterThanOrEqual(1_000);
    expect(delays[1]).toBeGreaterThanOrEqual(2_000);
    expect(delays[2]).toBeGreaterThanOrEqual(4_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(6_000);
  });

  it('never damps beyond the cap, and lets a link that settled down retry quickly again', () => {
    const ctx = setup({ random: () => 0.5, backoff: { capMs: 8_000 }, pingIntervalMs: 600_000 });
    void ctx.link.connect();
    let last: Transition | undefined;
    for (let i = 0; i < 20; i++) last = flap(ctx, 100);
    expect(lastDelay([last!])).toBeLessThanOrEqual(8_000 * 1.5);
    expect(last!.cause).toMatchObject({ damped: { floorMs: 8_000 } });
    const calm = flap(ctx, 61_000); // a minute up: the earlier losses are out of the window
    expect(calm.cause).not.toHaveProperty('damped');
    expect(lastDelay([calm])).toBeLessThanOrEqual(250);
  });

  it('does not damp losses before a handshake: those are failures and back off as usual', () => {
    const { link, fake, clock, transitions } = setup({ maxFailures: 100 });
    void link.connect();
    for (let i = 0; i < 10; i++) {
      fake.last().open();
      fake.last().peerClose(4004, 'no initialize');
      expect(transitions.at(-1)!.cause).not.toHaveProperty('damped');
      clock.runNext();
    }
    expect(link.failureCount).toBe(10);
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
