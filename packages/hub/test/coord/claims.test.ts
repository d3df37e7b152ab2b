import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '@tether/testkit';
import { ClaimRounds, preferredOwner } from '../../src/coord/claims.js';
import type { ClaimTable } from '../../src/coord/claims.js';
import type { ClusterEvent, ClusterPort } from '../../src/coord/cluster.js';
import { silentLogger } from '../../src/log/logger.js';
import type { EndpointStatusRow } from '../../src/store/types.js';

const A = 'hub-a';
const B = 'hub-b';
const names = (n: number) => Array.from({ length: n }, (_, i) => `endpoint-${i}`);

/**
 * The hub's sessions and leases as the claim rounds see them. A claim takes the lease at once;
 * a hand-over releases it when `release` is called (or at once with `autoRelease`).
 */
class FakeTable implements ClaimTable {
  readonly held = new Set<string>();
  readonly claims: string[] = [];
  readonly handedOver: string[] = [];
  readonly busyCalls = new Map<string, number>();
  autoRelease = true;
  private readonly releases: Array<() => void> = [];

  constructor(private readonly all: string[]) {}

  names(): string[] {
    return [...this.all];
  }
  has(name: string): boolean {
    return this.all.includes(name);
  }
  holds(name: string): boolean {
    return this.held.has(name);
  }
  isFree(name: string): boolean {
    return !this.held.has(name);
  }
  get heldCount(): number {
    return this.held.size;
  }
  heldNames(): string[] {
    return [...this.held];
  }
  busy(name: string): number {
    return this.busyCalls.get(name) ?? 0;
  }
  claim(name: string): void {
    this.claims.push(name);
    this.held.add(name);
  }
  handOver(name: string): Promise<void> {
    this.handedOver.push(name);
    this.held.delete(name);
    if (this.autoRelease) return Promise.resolve();
    return new Promise((resolve) => this.releases.push(resolve));
  }
  /** The sockets handed over so far are closed and their leases released. */
  release(): void {
    for (const resolve of this.releases.splice(0)) resolve();
  }
}

/** The other instances: only what the claim rounds use; `leases` says who holds what elsewhere. */
function fakeCluster(members: string[], leases: Record<string, string> = {}) {
  const published: ClusterEvent[] = [];
  const state = { joined: true, members };
  const cluster = {
    instance: A,
    members: () => state.members,
    get joined() {
      return state.joined;
    },
    holders: async (ids: readonly string[]) => ids.map((id) => leases[id] ?? ''),
    readStatus: async (ids: readonly string[]) =>
      ids
        .filter((id) => leases[id])
        .map((id) => ({ endpointId: id, owner: leases[id]!, state: 'ready' }) as EndpointStatusRow),
    publish: (event: ClusterEvent) => void published.push(event),
  } as unknown as ClusterPort;
  return { cluster, published, state };
}

function rounds(
  table: FakeTable,
  cluster?: ClusterPort,
  { intervalMs = 1_000, handBackMs = 5_000 } = {},
) {
  const clock = new ManualClock(1_000_000);
  const claims = new ClaimRounds({
    instance: A,
    ...(cluster ? { cluster } : {}),
    table,
    logger: silentLogger(),
    clock,
    intervalMs,
    handBackMs,
    onRemote: () => {},
    random: seededRandom(7),
  });
  /** Starts the rounds and lets the first one, which start() asks for at once, run. */
  const start = async () => {
    claims.start();
    await settle();
  };
  return { claims, clock, start };
}

/** Lets a round started by a timer or an immediate run to its end (the fakes answer at once). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('claim rounds of a cluster', () => {
  it('takes what is missing from its share, first the endpoints rendezvous hashing gives it, and never one another instance holds', async () => {
    const all = names(10);
    const table = new FakeTable(all);
    // hub-b already holds two of those hashed to hub-a.
    const { cluster } = fakeCluster([A, B], { 'endpoint-0': B, 'endpoint-1': B });
    const mine = all.filter((n) => preferredOwner(n, [A, B]) === A);
    expect(mine).toEqual([
      'endpoint-0',
      'endpoint-1',
      'endpoint-3',
      'endpoint-6',
      'endpoint-7',
      'endpoint-8',
    ]);
    const { claims, start } = rounds(table, cluster);

    await start();

    // Share: ceil(10 / 2) = 5. The four hashed to hub-a that are free, then one of the rest.
    expect(table.claims).toHaveLength(5);
    expect(table.claims.slice(0, 4)).toEqual([
      'endpoint-3',
      'endpoint-6',
      'endpoint-7',
      'endpoint-8',
    ]);
    expect(['endpoint-2', 'endpoint-4', 'endpoint-5', 'endpoint-9']).toContain(table.claims[4]);
    claims.stop();
  });

  it('claims nothing before it has joined (it may not see the others yet)', async () => {
    const table = new FakeTable(names(4));
    const { cluster, state } = fakeCluster([A]);
    state.joined = false;
    const { claims, clock, start } = rounds(table, cluster);
    await start();
    clock.advance(1_000);
    await settle();
    expect(table.claims).toEqual([]);

    state.joined = true;
    await claims.round();
    expect(table.claims).toHaveLength(4);
    claims.stop();
  });

  it('takes an endpoint left free for two rounds even over its share, as when its owner died unnoticed', async () => {
    const table = new FakeTable(names(4));
    table.held.add('endpoint-0').add('endpoint-1');
    // hub-b is still counted as a member, holds endpoint-2, and never takes endpoint-3.
    const { cluster } = fakeCluster([A, B], { 'endpoint-2': B });
    const { claims, start } = rounds(table, cluster);

    await start();
    // At its share (2 of 4): hub-b's to take.
    expect(table.claims).toEqual([]);
    await claims.round();
    expect(table.claims).toEqual(['endpoint-3']);
    expect(table.heldCount).toBe(3);
    claims.stop();
  });

  it('does not take back an endpoint it handed over for balance until handBackMs has passed', async () => {
    const table = new FakeTable(names(4));
    for (const n of names(4)) table.held.add(n);
    table.busyCalls.set('endpoint-0', 3).set('endpoint-1', 2).set('endpoint-3', 1);
    const { cluster } = fakeCluster([A, B]);
    // Scheduled rounds a minute apart: between them only the rounds this test runs.
    const { claims, clock, start } = rounds(table, cluster, {
      intervalMs: 60_000,
      handBackMs: 5_000,
    });
    await start();

    // 4 held, share 2 and slack 1: over, so the scheduled round gives up one, the idlest.
    clock.advance(60_000);
    await settle();
    expect(table.handedOver).toEqual(['endpoint-2']);
    // Nobody takes it: free for round after round, but it was ours to give away.
    await claims.round();
    clock.advance(5_000);
    await claims.round();
    expect(table.claims).toEqual([]);

    clock.advance(1);
    await claims.round();
    expect(table.claims).toEqual(['endpoint-2']);
    claims.stop();
  });

  it('gives endpoints up only at the pace of its scheduled rounds, idle ones first, and says so once they are free', async () => {
    const table = new FakeTable(names(4));
    for (const n of names(4)) table.held.add(n);
    table.busyCalls.set('endpoint-0', 3).set('endpoint-1', 2).set('endpoint-3', 1);
    table.autoRelease = false;
    const { cluster, published } = fakeCluster([A, B]);
    const { claims, clock, start } = rounds(table, cluster);

    // Neither the round start() asks for at once nor one asked for later is a scheduled one.
    await start();
    await claims.round();
    expect(table.handedOver).toEqual([]);

    clock.advance(1_000);
    await settle();
    expect(table.handedOver).toEqual(['endpoint-2']);
    // Told only once the socket is closed and the lease released.
    expect(published).toEqual([]);
    table.release();
    await settle();
    expect(published).toEqual([{ type: 'freed', from: A }]);

    // Still over its share (3 of 2): the next scheduled round gives up the next idlest.
    clock.advance(1_000);
    await settle();
    table.release();
    await settle();
    expect(table.handedOver).toEqual(['endpoint-2', 'endpoint-3']);
    expect(published).toHaveLength(2);

    // At its share: no more.
    clock.advance(1_000);
    await settle();
    expect(table.handedOver).toHaveLength(2);
    claims.stop();
  });

  it('claims every free endpoint at once when only the leases are shared (no cluster)', async () => {
    const table = new FakeTable(names(5));
    table.held.add('endpoint-1');
    const { claims, start } = rounds(table);
    await start();
    expect(table.claims.sort()).toEqual(['endpoint-0', 'endpoint-2', 'endpoint-3', 'endpoint-4']);
    claims.stop();
  });

  it('leaves no timer and runs no round once stopped', async () => {
    const table = new FakeTable(names(3));
    const { claims, clock } = rounds(table);
    claims.start();
    expect(clock.pending).toBe(1);
    claims.stop();
    expect(clock.pending).toBe(0);
    // Neither the immediate round start() asked for nor a scheduled one runs.
    await settle();
    clock.advance(10_000);
    await settle();
    expect(table.claims).toEqual([]);
  });

  // Known bug (coord/claims.ts): a scheduled round re-arms the timer when it ends
  // (`.finally(() => this.schedule())`) without asking whether stop() came meanwhile. The
  // timer's round does nothing, but it is left set. Flip to `it` once schedule() checks `stopped`.
  it('leaves no timer when stopped while a scheduled round is still running', async () => {
    const table = new FakeTable(names(2));
    const { cluster } = fakeCluster([A, B]);
    let answer: (() => void) | undefined;
    cluster.holders = (ids) =>
      new Promise((resolve) => (answer = () => resolve(ids.map(() => ''))));
    const { claims, clock } = rounds(table, cluster);
    claims.start();
    await settle();
    answer!();
    await settle();
    // The scheduled round waits for the lease holders; stop() comes meanwhile.
    clock.advance(1_000);
    claims.stop();
    answer!();
    await settle();
    expect(clock.pending).toBe(0);
  });
});
