// Hub benchmarks: relay overhead and throughput against calling the server directly, and the
// hub's resident memory idle with one endpoint and with 1,000.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { EndpointSimulator } from '@tether/testkit';
import { percentile, rssOf, sleep, until } from './lib.js';
import type { Row } from './lib.js';

const sampleServer = fileURLToPath(
  new URL('../packages/hub/dist/demo/sample-server.js', import.meta.url),
);
const tetherBin = fileURLToPath(new URL('../packages/hub/bin/tether.js', import.meta.url));

type Caller = () => Promise<unknown>;

async function direct(): Promise<{ call: Caller; close(): Promise<void> }> {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [sampleServer] }),
  );
  return {
    call: () => client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }),
    close: () => client.close(),
  };
}

/** The hub in its own process (as in real use), the endpoint simulator in this one. */
async function viaHub(): Promise<{ call: Caller; close(): Promise<void> }> {
  const sim = await EndpointSimulator.start({ maxFrames: 1_000, callTimeoutMs: 30_000 });
  const hub = startHubProcess(sim, 1);
  await sim.waitForReady({ timeoutMs: 15_000 });
  return {
    call: async () => {
      const outcome = await sim.callTool('sample__add', { a: 1, b: 2 });
      if (!outcome.ok) throw new Error(outcome.error.message);
    },
    close: async () => {
      await hub.stop();
      await sim.close();
    },
  };
}

function startHubProcess(sim: EndpointSimulator, endpoints: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-'));
  const file = join(dir, 'tether.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      endpoints: Array.from({ length: endpoints }, (_, i) => ({
        name: `e${i}`,
        url: sim.url(endpoints === 1 ? 'test-token' : `t${i}`),
      })),
      mcpServers: { sample: { command: process.execPath, args: [sampleServer] } },
      hub: { port: 0 },
    }),
  );
  const child = spawn(process.execPath, [tetherBin, 'start', '--config', file], {
    stdio: 'ignore',
    // A fresh home: the benchmark never touches ~/.tether or a shared database.
    env: { ...process.env, TETHER_LOG_LEVEL: 'warn', TETHER_HOME: dir, DATABASE_URL: '' },
  });
  return {
    child,
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function latencies(call: Caller, n: number): Promise<number[]> {
  for (let i = 0; i < 200; i++) await call(); // warm up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await call();
    out.push(performance.now() - start);
  }
  return out;
}

async function throughput(call: Caller, n: number, inFlight: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) await call();
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

const ms = (x: number) => x.toFixed(3);

export async function relayOverhead(n = 3_000): Promise<Row[]> {
  const d = await direct();
  const h = await viaHub();
  try {
    const dl = await latencies(d.call, n);
    const hl = await latencies(h.call, n);
    const dt = await throughput(d.call, 6_000, 32);
    const ht = await throughput(h.call, 6_000, 32);
    const [d50, d99, h50, h99] = [
      percentile(dl, 50),
      percentile(dl, 99),
      percentile(hl, 50),
      percentile(hl, 99),
    ];
    return [
      {
        what: `relay overhead per call: endpoint → hub → stdio server, against an SDK client calling the same server directly (${n} sequential calls)`,
        result: `overhead p50 ${ms(h50 - d50)} ms, p99 ${ms(h99 - d99)} ms (direct p50 ${ms(d50)} / p99 ${ms(d99)}; through the hub ${ms(h50)} / ${ms(h99)})`,
        target: 'p50 ≤ 0.3 ms, p99 ≤ 1 ms',
        met: h50 - d50 <= 0.3 && h99 - d99 <= 1,
      },
      {
        what: 'throughput with 32 calls in flight, as a share of calling the server directly',
        result: `${(ht / dt).toFixed(2)} (${ht.toFixed(0)} calls/s through the hub, ${dt.toFixed(0)} direct)`,
        target: '≥ 0.6',
        met: ht / dt >= 0.6,
      },
    ];
  } finally {
    await d.close();
    await h.close();
  }
}

async function hubProcessRss(endpoints: number): Promise<number> {
  const sim = await EndpointSimulator.start({ maxFrames: 1_000 });
  const hub = startHubProcess(sim, endpoints);
  const token = (i: number) => (endpoints === 1 ? 'test-token' : `t${i}`);
  try {
    await until(
      () => [...Array(endpoints).keys()].every((i) => sim.accounting(token(i)).handshakes >= 1),
      120_000,
      `${endpoints} endpoints ready`,
    );
    await sleep(5_000);
    return rssOf(hub.child.pid!);
  } finally {
    await hub.stop();
    await sim.close();
  }
}

export async function hubMemory(): Promise<Row[]> {
  const one = await hubProcessRss(1);
  const many = await hubProcessRss(1_000);
  const mb = (x: number) => (x / 2 ** 20).toFixed(1);
  return [
    {
      what: 'resident memory of the hub process, idle, one endpoint (one stdio server), 5 s after it is ready',
      result: `${mb(one)} MB`,
      target: '≤ 50 MB',
      met: one <= 50 * 2 ** 20,
    },
    {
      what: 'resident memory with 1,000 endpoints (one stdio server), 5 s after all are ready, beyond the one-endpoint hub above',
      result: `${mb(many)} MB: ${((many - one) / 999 / 1024).toFixed(1)} KB per endpoint beyond the base`,
      target: '≤ 30 KB each beyond the base',
      met: (many - one) / 999 <= 30 * 1024,
    },
  ];
}
