import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tether/testkit';
import { silentLogger } from '../../src/log/logger.js';
import { Sweep } from '../../src/monitor/sweep.js';
import type { Watched } from '../../src/monitor/sweep.js';

/** A link as the sweep sees it; `deaths` holds the reasons it was declared dead for. */
interface FakeLink extends Watched {
  lastAliveAt: number | null;
  deaths: string[];
}

function link(lastAliveAt: number | null, intervalMs = 1_000, maxMissed = 2): FakeLink {
  const fake: FakeLink = {
    lastAliveAt,
    heartbeat: { intervalMs, maxMissed },
    deaths: [],
    declareDead: (reason) => void fake.deaths.push(reason),
  };
  return fake;
}

/** A sweep over `links`, on a manual clock; `log` records align, tidy and every death in order. */
function sweepOf(options: {
  links?: Map<string, FakeLink>;
  intervalMs?: number;
  checkIntervalMs?: Record<string, number>;
  align?: (links: Map<string, FakeLink>) => void;
}) {
  const clock = new ManualClock(0);
  const links = options.links ?? new Map<string, FakeLink>();
  const log: string[] = [];
  const settings = { intervalMs: options.intervalMs ?? 1_000 };
  const sweep = new Sweep({
    clock,
    logger: silentLogger(),
    intervalMs: () => settings.intervalMs,
    checkIntervalMs: (name) => options.checkIntervalMs?.[name] ?? settings.intervalMs,
    links: () =>
      [...links].map(([name, l]): [string, Watched] => [
        name,
        { ...l, declareDead: (reason) => (log.push(`dead ${name}`), l.declareDead(reason)) },
      ]),
    align: () => {
      log.push('align');
      options.align?.(links);
    },
    tidy: () => void log.push('tidy'),
  });
  const passes = () => log.filter((entry) => entry === 'align').length;
  return { clock, sweep, links, log, settings, passes };
}

describe('the monitor sweep', () => {
  it('runs a pass at the interval it is given, and again at every interval after', () => {
    const { clock, sweep, passes } = sweepOf({ intervalMs: 1_000 });
    sweep.start();
    clock.advance(999);
    expect(passes()).toBe(0);
    clock.advance(1);
    expect(passes()).toBe(1);
    clock.advance(3_000);
    expect(passes()).toBe(4);
    sweep.stop();
  });

  it('checks each endpoint at its own checkIntervalMs, not at every pass', () => {
    // Both silent for ever: every check of either finds a zombie, so deaths count the checks.
    const links = new Map([
      ['often', link(-100_000)],
      ['seldom', link(-100_000)],
    ]);
    const { clock, sweep } = sweepOf({
      links,
      intervalMs: 100,
      checkIntervalMs: { often: 100, seldom: 500 },
    });
    sweep.start();
    clock.advance(1_000);
    expect(links.get('often')!.deaths).toHaveLength(10);
    // Checked at the first pass (100) and 500 ms later (600); the next is due at 1,100.
    expect(links.get('seldom')!.deaths).toHaveLength(2);
    clock.advance(100);
    expect(links.get('seldom')!.deaths).toHaveLength(3);
    sweep.stop();
  });

  it('terminates a socket silent for longer than intervalMs × (maxMissed + 1), saying why, and leaves one that is not', () => {
    // Heartbeat 1,000 ms × (2 + 1): more than 3,000 ms of silence is a zombie.
    const links = new Map([
      ['silent', link(10_000 - 3_001)],
      ['quiet', link(10_000 - 3_000)],
      ['chatty', link(10_000 - 5)],
    ]);
    const { sweep } = sweepOf({ links });
    expect(sweep.pass(10_000)).toEqual(['silent']);
    expect(links.get('silent')!.deaths).toEqual(['zombie: no sign of life for 3001 ms']);
    expect(links.get('quiet')!.deaths).toEqual([]);
    expect(links.get('chatty')!.deaths).toEqual([]);
  });

  it('uses each link’s own heartbeat for the bound', () => {
    const links = new Map([
      ['fast', link(0, 100, 1)], // bound 200 ms
      ['slow', link(0, 30_000, 2)], // bound 90 s
    ]);
    const { sweep } = sweepOf({ links });
    expect(sweep.pass(60_000)).toEqual(['fast']);
    expect(links.get('slow')!.deaths).toEqual([]);
  });

  it('leaves an endpoint with no socket alone, however long it has been', () => {
    const links = new Map([['down', link(null)]]);
    const { sweep } = sweepOf({ links });
    expect(sweep.pass(10 * 3_600_000)).toEqual([]);
    expect(links.get('down')!.deaths).toEqual([]);
  });

  it('aligns what runs before checking it, and tidies after, in every pass', () => {
    // align() starts an endpoint that was missing: the same pass checks it.
    const { clock, sweep, log } = sweepOf({
      intervalMs: 1_000,
      align: (links) => {
        if (!links.has('late')) links.set('late', link(-100_000));
      },
    });
    sweep.start();
    clock.advance(1_000);
    expect(log).toEqual(['align', 'dead late', 'tidy']);
    clock.advance(1_000);
    expect(log).toEqual(['align', 'dead late', 'tidy', 'align', 'dead late', 'tidy']);
    sweep.stop();
  });

  it('leaves no timer behind once stopped, and runs no pass after', () => {
    const { clock, sweep, passes } = sweepOf({ intervalMs: 1_000 });
    sweep.start();
    expect(clock.pending).toBe(1);
    clock.advance(2_500);
    expect(passes()).toBe(2);
    sweep.stop();
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(passes()).toBe(2);
    // Nothing to reschedule while stopped.
    sweep.reschedule();
    expect(clock.pending).toBe(0);
  });

  it('adopts a changed interval at once when rescheduled', () => {
    const { clock, sweep, settings, passes } = sweepOf({ intervalMs: 1_000 });
    sweep.start();
    clock.advance(500);
    settings.intervalMs = 200;
    sweep.reschedule();
    // Timed afresh from the edit: 200 ms from now, not at 1,000.
    clock.advance(199);
    expect(passes()).toBe(0);
    clock.advance(1);
    expect(passes()).toBe(1);
    clock.advance(200);
    expect(passes()).toBe(2);
    sweep.stop();
  });

  it('keeps the next pass on time when rescheduled with the same interval', () => {
    const { clock, sweep, passes } = sweepOf({ intervalMs: 1_000 });
    sweep.start();
    clock.advance(600);
    sweep.reschedule();
    clock.advance(400);
    expect(passes()).toBe(1);
    sweep.stop();
  });

  it('applies an edited interval from the next pass on, even without a reschedule', () => {
    const { clock, sweep, settings, passes } = sweepOf({ intervalMs: 1_000 });
    sweep.start();
    settings.intervalMs = 300;
    clock.advance(1_000);
    expect(passes()).toBe(1);
    clock.advance(300);
    expect(passes()).toBe(2);
    sweep.stop();
  });
});
