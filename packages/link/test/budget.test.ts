import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '@tether/testkit';
import { ConnectBudget, Link } from '../src/index.js';
import type { Transition } from '../src/index.js';
import { fakeFactory } from './fake-socket.js';
import { storm } from './fleet.js';

describe('connect budget', () => {
  it('lets a burst go at once, then serves the line in order at the rate', () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock, ratePerSecond: 10, burst: 3 });
    const started: Array<[number, number]> = [];
    const tickets = Array.from({ length: 6 }, (_, i) =>
      budget.acquire(() => started.push([i, clock.now()])),
    );
    expect(tickets.slice(0, 3)).toEqual([null, null, null]); // the burst: go now
    expect(tickets.slice(3).map((t) => t?.at)).toEqual([100, 200, 300]);
    clock.advance(1_000);
    expect(started).toEqual([
      [3, 100],
      [4, 200],
      [5, 300],
    ]);
    expect(budget.status).toMatchObject({ granted: 6, delayed: 3, waiting: 0, storm: null });
    expect(clock.pending).toBe(0);
  });

  it('lets no more than the burst go at once after the process stalled, however many waited', () => {
    const manual = new ManualClock(0);
    // A blocked event loop: timers fire when due, but the time they find is later.
    let stall = 0;
    const clock = {
      now: () => manual.now() + stall,
      setTimeout: (fn: () => void, ms: number) => manual.setTimeout(fn, ms),
      clearTimeout: (handle: unknown) => manual.clearTimeout(handle),
    };
    const budget = new ConnectBudget({ clock, ratePerSecond: 100, burst: 5 });
    const started: number[] = [];
    for (let i = 0; i < 5; i++) budget.acquire(() => {});
    for (let i = 0; i < 100; i++) budget.acquire(() => started.push(clock.now()));
    stall = 400;
    manual.runNext();
    expect(started).toHaveLength(5); // not the 40 whose turn was due during the stall
    manual.advance(2_000);
    const inWindow = (from: number) => started.filter((t) => t >= from && t < from + 100).length;
    expect(Math.max(...started.map(inWindow))).toBeLessThanOrEqual(5 + 10);
    expect(started).toHaveLength(100);
  });

  it('forgets an attempt that leaves the line, and keeps no timer for an empty line', () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock, ratePerSecond: 10, burst: 1 });
    budget.acquire(() => {});
    let ran = false;
    const ticket = budget.acquire(() => (ran = true))!;
    expect(clock.pending).toBe(1);
    ticket.cancel();
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    expect(ran).toBe(false);
    expect(budget.status.waiting).toBe(0);
  });

  it('sees a mass failure in many losses within a short window, paces it and widens the spread', () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock, ratePerSecond: 1_000, burst: 50 });
    for (let i = 0; i < 49; i++) budget.noteLoss();
    expect(budget.spreadMs()).toBe(0); // a few links dropping is no storm
    for (let i = 0; i < 951; i++) budget.noteLoss();
    // 1,000 links lost: 20 % of them per second (2 % per 100 ms), burst 0.5 % of them.
    expect(budget.status).toMatchObject({
      ratePerSecond: 200,
      burst: 5,
      storm: { size: 1_000, until: 60_000 },
    });
    expect(budget.spreadMs()).toBe(5_000);
    clock.advance(60_000);
    expect(budget.status).toMatchObject({ ratePerSecond: 1_000, burst: 50, storm: null });
    expect(budget.spreadMs()).toBe(0);
  });

  it('does not count losses spread out over time as a mass failure', () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock });
    for (let i = 0; i < 1_000; i++) {
      budget.noteLoss();
      clock.advance(100);
    }
    expect(budget.status.storm).toBeNull();
  });

  it('never slows a small fleet below 200 attempts a second, nor a big one beyond the rate', () => {
    const clock = new ManualClock(0);
    const small = new ConnectBudget({ clock });
    for (let i = 0; i < 60; i++) small.noteLoss();
    expect(small.status.ratePerSecond).toBe(200);
    const big = new ConnectBudget({ clock, ratePerSecond: 1_000 });
    for (let i = 0; i < 10_000; i++) big.noteLoss();
    expect(big.status.ratePerSecond).toBe(1_000);
    expect(big.spreadMs()).toBe(10_000);
  });

  it('makes a link wait for its turn in backoff, says so, and attempts when the turn comes', () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock, ratePerSecond: 10, burst: 1 });
    budget.acquire(() => {}); // someone else took the only token
    const fake = fakeFactory();
    const link = new Link({
      url: 'ws://e.test/',
      socketFactory: fake.factory,
      clock,
      connectBudget: budget,
    });
    const transitions: Transition[] = [];
    link.on('transition', (t) => transitions.push(t));
    void link.connect().catch(() => {});
    expect(fake.sockets).toHaveLength(0);
    expect(transitions.at(-1)).toMatchObject({
      from: 'disabled',
      to: 'backoff',
      cause: { type: 'budget', waitMs: 100 },
      status: { retryAt: 100 },
    });
    link.retryNow(); // it is already in line: pressing retry does not jump it
    expect(fake.sockets).toHaveLength(0);
    clock.advance(100);
    expect(fake.sockets).toHaveLength(1);
    expect(transitions.at(-1)).toMatchObject({
      to: 'connecting',
      cause: { type: 'timer', purpose: 'budget' },
    });
    expect(budget.status.granted).toBe(2);
    void link.close();
    expect(clock.pending).toBe(0);
  });

  it('leaves no timer behind when a link waiting for its turn is closed', async () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock, ratePerSecond: 1, burst: 1 });
    budget.acquire(() => {});
    const fake = fakeFactory();
    const link = new Link({
      url: 'ws://e.test/',
      socketFactory: fake.factory,
      clock,
      connectBudget: budget,
    });
    void link.connect().catch(() => {});
    expect(clock.pending).toBe(1);
    await link.close();
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(fake.sockets).toHaveLength(0);
  });

  it('spreads the first retries of a mass failure, without touching a link that drops alone', () => {
    const clock = new ManualClock(0);
    const budget = new ConnectBudget({ clock });
    const random = seededRandom(9);
    const delays: number[] = [];
    const links = Array.from({ length: 1_000 }, (_, i) => {
      const fake = fakeFactory();
      const link = new Link({
        url: `ws://e.test/${i}`,
        socketFactory: fake.factory,
        clock,
        random,
        connectBudget: budget,
        pingIntervalMs: 600_000,
      });
      link.on('transition', (t) => {
        if (t.to === 'backoff' && t.status.name === 'backoff' && t.status.retryAt !== null)
          delays.push(t.status.retryAt - t.at);
      });
      return { link, fake };
    });
    for (const { link, fake } of links) {
      void link.connect();
      clock.advance(1); // 1,000 per second: within the budget's rate
      fake.last().open();
    }
    clock.advance(1_000);
    links[0]!.fake.last().peerClose(1006);
    expect(delays.at(-1)).toBeLessThanOrEqual(250); // one link alone: the quick first retry
    for (const { fake } of links.slice(1)) fake.last().peerClose(1006);
    const spread = delays.slice(-999);
    expect(Math.max(...spread)).toBeGreaterThan(4_000);
    expect(Math.max(...spread)).toBeLessThanOrEqual(5_000);
    for (const { link } of links) void link.close();
  });
});

describe('reconnect storm', () => {
  it('1,000 links, host away for 10 s: the busiest 100 ms after it returns holds at most 3 % of the fleet', () => {
    const result = storm({
      links: 1_000,
      outageMs: 10_000,
      budget: (clock) => new ConnectBudget({ clock }),
    });
    expect(result.busiest).toBeLessThanOrEqual(30);
    expect(result.allReadyMs).toBeLessThanOrEqual(15_000);
    expect(result.maxSocketsPerLink).toBe(1);
  });
});
