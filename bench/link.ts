// Link benchmarks on real loopback sockets: recovery after closes and restarts, dead-link
// detection, and memory per idle link.
import v8 from 'node:v8';
import vm from 'node:vm';
import { Link } from '@tether/link';
import type { Transition } from '@tether/link';
import { wsSocketFactory } from '@tether/link/node';
import { attachResponder } from '../packages/link/test/responder.js';
import { startSimProcess, summary, sleep, until } from './lib.js';
import type { Row, SimProcess } from './lib.js';

export type { Row } from './lib.js';

interface Tracked {
  link: Link;
  transitions: Transition[];
}

function makeLinks(
  url: (i: number) => string,
  n: number,
  options: Partial<ConstructorParameters<typeof Link>[0]> = {},
): Tracked[] {
  return Array.from({ length: n }, (_, i) => {
    const link = new Link({ url: url(i), socketFactory: wsSocketFactory(), ...options });
    attachResponder(link);
    const transitions: Transition[] = [];
    link.on('transition', (t) => transitions.push(t));
    return { link, transitions };
  });
}

async function connectAll(links: Tracked[], batch = 250): Promise<void> {
  for (let i = 0; i < links.length; i += batch) {
    await Promise.all(links.slice(i, i + batch).map(({ link }) => link.connect()));
  }
  await until(
    () => links.every(({ link }) => link.status.name === 'ready'),
    60_000,
    'every link ready',
  );
}

async function closeAll(links: Tracked[]): Promise<void> {
  await Promise.all(links.map(({ link }) => link.close()));
}

/** Time from `from` to each link's next `ready` after it. */
function readyAfter(links: Tracked[], from: number): number[] {
  return links.map(({ transitions }) => {
    const ready = transitions.find((t) => t.to === 'ready' && t.at >= from);
    return ready ? ready.at - from : NaN;
  });
}

const fmt = (s: { n: number; p50: number; p99: number; max: number }) =>
  `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (n = ${s.n})`;

export async function recoveryAfterClose(n = 200): Promise<Row> {
  const sim = await startSimProcess();
  const links = makeLinks((i) => `ws://127.0.0.1:${sim.port}/mcp/?token=bench-${i}`, n);
  try {
    await connectAll(links);
    const { at } = await sim.request<{ at: number }>(
      { type: 'close-all', code: 1000, reason: '' },
      'closed',
    );
    await until(
      () =>
        links.every(({ transitions }) => transitions.some((t) => t.to === 'ready' && t.at >= at)),
      10_000,
      'recovery',
    );
    const s = summary(readyAfter(links, at));
    return {
      what: `endpoint closes with 1000 → next handshake done (${n} links)`,
      result: fmt(s),
      target: 'p50 ≤ 300 ms, every one ≤ 1.5 s',
      met: s.p50 <= 300 && s.max <= 1_500,
    };
  } finally {
    await closeAll(links);
    await sim.kill();
  }
}

export async function recoveryAfterRestart(n = 200, outageMs = 0): Promise<Row> {
  let sim: SimProcess = await startSimProcess();
  const port = sim.port;
  const links = makeLinks((i) => `ws://127.0.0.1:${port}/mcp/?token=bench-${i}`, n, {
    maxFailures: 1_000,
  });
  try {
    await connectAll(links);
    const killedAt = Date.now();
    await sim.kill(); // the process dies: the kernel resets every connection
    await sleep(outageMs);
    sim = await startSimProcess(port);
    const backAt = Date.now();
    await until(
      () =>
        links.every(({ transitions }) =>
          transitions.some((t) => t.to === 'ready' && t.at >= backAt),
        ),
      30_000,
      'recovery',
    );
    const label =
      outageMs > 0
        ? `endpoint back after a ${outageMs / 1000} s outage`
        : 'endpoint process killed and restarted at once';
    const s = summary(readyAfter(links, backAt));
    return {
      what: `${label} → handshake done, from the moment it listens again (${n} links; restart took ${backAt - killedAt} ms)`,
      result: fmt(s),
      target: outageMs > 0 ? 'p50 ≤ 1 s, p99 ≤ 3 s' : 'p50 ≤ 300 ms, every one ≤ 1.5 s',
      met: outageMs > 0 ? s.p50 <= 1_000 && s.p99 <= 3_000 : s.p50 <= 300 && s.max <= 1_500,
    };
  } finally {
    await closeAll(links);
    await sim.kill();
  }
}

export async function memoryPerIdleLink(n = 10_000): Promise<Row> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const sim = await startSimProcess();
  gc();
  const before = process.memoryUsage();
  const links = makeLinks((i) => `ws://127.0.0.1:${sim.port}/mcp/?token=bench-${i}`, n);
  try {
    await connectAll(links, 500);
    await sleep(2_000);
    gc();
    const after = process.memoryUsage();
    const rss = (after.rss - before.rss) / n / 1024;
    const heap = (after.heapUsed - before.heapUsed) / n / 1024;
    return {
      what: `memory per idle link, ${n} links ready`,
      result: `${rss.toFixed(1)} KB RSS, ${heap.toFixed(1)} KB heap per link (process RSS ${(after.rss / 2 ** 20).toFixed(0)} MB)`,
      target: '≤ 30 KB each beyond the base (hub target, link share of it)',
      met: rss <= 30,
    };
  } finally {
    await closeAll(links);
    await sim.kill();
  }
}

export async function blackholeDetection(n = 50): Promise<Row> {
  const { FaultProxy } = await import('@tether/testkit');
  const sim = await startSimProcess();
  const proxy = await FaultProxy.start({ target: { port: sim.port } });
  const links = makeLinks((i) => proxy.url(`/mcp/?token=bench-${i}`), n);
  try {
    await connectAll(links);
    await sleep(Math.random() * 5_000); // cut at a random phase of the heartbeat
    const cutAt = Date.now();
    proxy.blackhole();
    await until(
      () => links.every(({ transitions }) => transitions.some((t) => t.cause.type === 'heartbeat')),
      30_000,
      'detection',
    );
    const detected = links.map(
      ({ transitions }) => transitions.find((t) => t.cause.type === 'heartbeat')!.at - cutAt,
    );
    const s = summary(detected);
    return {
      what: `silent dead link (blackhole: no FIN, no RST) noticed, default P = 5 s, M = 2 (${n} links)`,
      result: fmt(s),
      target: '≤ 10 s with default settings (the link cuts at P × M = 10 s after the last pong)',
      met: s.max <= 10_000,
    };
  } finally {
    await closeAll(links);
    await proxy.close();
    await sim.kill();
  }
}
