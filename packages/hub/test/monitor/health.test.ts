import { describe, expect, it } from 'vitest';
import { HealthTracker } from '../../src/monitor/health.js';

const MIN = 60_000;

describe('health score', () => {
  it('is 100 for an endpoint up the whole window with quick handshakes', () => {
    const h = new HealthTracker(60 * MIN, 0);
    h.observe(0, false, 'connecting');
    h.observe(200, true);
    expect(h.score(60 * MIN)).toMatchObject({
      score: 100,
      flaps: 0,
      failures: 0,
      handshakeMs: 200,
    });
  });

  it('drops with downtime, and shows the parts that made it drop', () => {
    const h = new HealthTracker(60 * MIN, 0);
    h.observe(0, true);
    h.observe(30 * MIN, false, 'connecting');
    h.observe(30 * MIN + 1, false, 'failed');
    h.observe(45 * MIN, true);
    const parts = h.score(60 * MIN);
    expect(parts.uptime).toBeCloseTo(0.75, 2);
    expect(parts).toMatchObject({ flaps: 1, failures: 1 });
    expect(parts.score).toBe(75 - 5 - 2 - 10);
  });

  it('forgets what is older than the window', () => {
    const h = new HealthTracker(10 * MIN, 0);
    h.observe(0, true);
    h.observe(1 * MIN, false, 'failed');
    h.observe(2 * MIN, true);
    expect(h.score(30 * MIN)).toMatchObject({ score: 100, flaps: 0, failures: 0, uptime: 1 });
  });

  it('scores a flapping endpoint low even if it is mostly up', () => {
    const h = new HealthTracker(60 * MIN, 0);
    for (let i = 0; i < 10; i++) {
      h.observe(i * MIN, true);
      h.observe(i * MIN + 1_000, false, 'connecting');
    }
    h.observe(10 * MIN, true);
    expect(h.score(60 * MIN).score).toBeLessThan(70);
  });
});
