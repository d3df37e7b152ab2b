import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Pair, reset, type PairHooks } from './pair.js';
import { ConnectionWaiters } from './waiters.js';
import type {
  Direction,
  DirectionState,
  FaultProxyOptions,
  FaultProxyStats,
  Target,
} from './types.js';

const LOOPBACK = '127.0.0.1';
const PASS: DirectionState = { flow: 'pass', latencyMs: 0, jitterMs: 0 };
const DIRECTIONS: readonly Direction[] = ['toServer', 'toClient'];

/**
 * A TCP proxy whose faults change while connections are open.
 *
 * The proxy holds one DirectionState per direction, not per connection. Every pipe consults it
 * for each chunk it reads, and every mode change asks every pipe to re-read it, so a fault hits
 * existing and new connections alike. `flow` decides whether a direction reads and forwards,
 * reads and discards, or stops reading; latency is orthogonal and only delays what is
 * forwarded. Listening is a separate switch (refuse/accept) that never touches open pairs.
 */
export class FaultProxy {
  readonly host: string;
  private listenPort: number;
  private target: Target;
  private readonly random: () => number;
  private server: Server | undefined;
  private closing: Promise<void> | undefined;
  private directions: Record<Direction, DirectionState> = { toServer: PASS, toClient: PASS };
  private readonly pairs = new Set<Pair>();
  private readonly waiters = new ConnectionWaiters(() => this.openCount);
  private readonly counters = {
    bytes: { toServer: 0, toClient: 0 },
    dropped: { toServer: 0, toClient: 0 },
  };
  private openCount = 0;
  private totalCount = 0;
  private readonly hooks: PairHooks = {
    state: (direction) => this.directions[direction],
    random: () => this.random(),
    count: (direction, kind, n) => (this.counters[kind][direction] += n),
    connected: () => {
      this.openCount++;
      this.waiters.settle();
    },
    closed: (pair) => {
      this.pairs.delete(pair);
      if (pair.connected) this.openCount--;
    },
  };

  private constructor(options: FaultProxyOptions) {
    this.host = options.host ?? LOOPBACK;
    this.listenPort = options.port ?? 0;
    this.target = { ...options.target };
    this.random = options.random ?? Math.random;
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.accept();
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  get state(): { listening: boolean; toServer: DirectionState; toClient: DirectionState } {
    const { toServer, toClient } = this.directions;
    return {
      listening: this.server !== undefined,
      toServer: { ...toServer },
      toClient: { ...toClient },
    };
  }

  url(pathAndQuery = '/', scheme: 'ws' | 'http' = 'ws'): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    const path = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
    return `${scheme}://${host}:${this.listenPort}${path}`;
  }

  retarget(target: Target): void {
    this.target = { ...target };
  }

  pass(): void {
    this.change('both', () => PASS);
  }

  blackhole(direction: Direction | 'both' = 'both'): void {
    this.change(direction, (state) => ({ ...state, flow: 'blackhole' }));
  }

  pause(direction: Direction | 'both'): void {
    this.change(direction, (state) => ({ ...state, flow: 'paused' }));
  }

  resume(direction: Direction | 'both' = 'both'): void {
    this.change(direction, (state) =>
      state.flow === 'paused' ? { ...state, flow: 'pass' } : state,
    );
  }

  latency(options: { ms: number; jitterMs?: number; direction?: Direction | 'both' }): void {
    const { ms, jitterMs = 0, direction = 'both' } = options;
    if (!(ms >= 0) || !(jitterMs >= 0)) {
      throw new RangeError(`latency needs ms >= 0 and jitterMs >= 0, got ${ms} and ${jitterMs}`);
    }
    this.change(direction, (state) => ({ ...state, latencyMs: ms, jitterMs }));
  }

  resetAll(): number {
    const pairs = [...this.pairs];
    for (const pair of pairs) pair.reset();
    return pairs.length;
  }

  async refuse(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    // close()'s callback waits for every accepted connection to end, which is the opposite of
    // what refuse() promises; the listening handle itself is gone within one loop turn.
    server.close();
    await new Promise((resolve) => setImmediate(resolve));
  }

  async accept(): Promise<void> {
    if (this.closing) throw new Error('FaultProxy is closed');
    if (this.server) return;
    const server = createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  stats(): FaultProxyStats {
    return {
      open: this.openCount,
      total: this.totalCount,
      bytes: { ...this.counters.bytes },
      dropped: { ...this.counters.dropped },
    };
  }

  waitForConnections(n: number, timeoutMs = 5_000): Promise<void> {
    if (this.closing) return Promise.reject(new Error('FaultProxy is closed'));
    return this.waiters.wait(n, timeoutMs);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** The one teardown path: waiters, listener, sockets, and (through the pairs) every timer. */
  private async shutdown(): Promise<void> {
    this.waiters.rejectAll('FaultProxy closed');
    const server = this.server;
    this.server = undefined;
    const pairs = [...this.pairs];
    for (const pair of pairs) pair.destroy();
    const stopped = server && new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([stopped, ...pairs.map((pair) => pair.closed)]);
  }

  private onConnection(client: Socket): void {
    if (this.closing) {
      reset(client);
      return;
    }
    this.totalCount++;
    client.setNoDelay(true);
    const upstream = connect({
      host: this.target.host ?? LOOPBACK,
      port: this.target.port,
      allowHalfOpen: true,
    });
    // A proxy that batched small writes would add latency nobody asked for.
    upstream.setNoDelay(true);
    this.pairs.add(new Pair(client, upstream, this.hooks));
  }

  private change(direction: Direction | 'both', next: (state: DirectionState) => DirectionState) {
    for (const d of DIRECTIONS) {
      if (direction === 'both' || direction === d) this.directions[d] = next(this.directions[d]);
    }
    for (const pair of this.pairs) pair.refresh();
  }
}
