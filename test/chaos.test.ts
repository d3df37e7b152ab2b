// A short chaos run (docs/chaos.md): one real hub, six endpoints behind fault proxies, three
// fake upstreams, 20 s of seeded faults including a kill -9 of the hub. `npm test` builds
// first, so the hub child runs the current sources.
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../chaos/report.js';
import { runChaos } from '../chaos/runner.js';
import { makeSchedule } from '../chaos/schedule.js';

/** 20 s of blackhole, pause, latency, reset, SIGSTOP, endpoint closes, config edits and a kill -9. */
const SEED = 151;
const DURATION_MS = 20_000;

describe('chaos', () => {
  it('derives the same schedule from the same seed, and another from another', () => {
    const shape = {
      durationMs: 180_000,
      endpoints: ['ep1', 'ep2'],
      servers: ['u1', 'u2'],
      optionalServer: 'u3',
    };
    const a = makeSchedule({ ...shape, seed: 42 });
    expect(makeSchedule({ ...shape, seed: 42 })).toEqual(a);
    expect(makeSchedule({ ...shape, seed: 43 })).not.toEqual(a);
    expect(a.filter((e) => e.kind === 'hub' && e.op === 'kill').length).toBeGreaterThan(0);
    // Every lasting fault is undone, after it started and before the end.
    for (const e of a)
      if (e.undoes !== undefined) expect(a[e.undoes]!.at).toBeLessThanOrEqual(e.at);
    expect(a.at(-1)!.at).toBeLessThan(shape.durationMs);
  });

  it(`loses and misdelivers nothing, never doubles a socket, and recovers (seed ${SEED}, 20 s)`, async () => {
    const summary = await runChaos({ seed: SEED, durationMs: DURATION_MS });
    const report = formatSummary(summary);
    console.log(report);
    expect(summary.calls.made, report).toBeGreaterThan(100);
    expect(summary.hub.kills, report).toBeGreaterThan(0);
    expect(summary.calls.lost, report).toBe(0);
    expect(summary.calls.misdelivered, report).toBe(0);
    expect(summary.violations, report).toEqual([]);
    expect(summary.failures, report).toEqual([]);
    // Passed: the folder a failing run keeps is not needed.
    rmSync(summary.dir, { recursive: true, force: true });
  }, 90_000);
});
