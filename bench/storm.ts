// Reconnect storm: a fleet of links whose endpoint host goes away for 10 s and comes back.
// The figure is the busiest 100 ms of connection attempts after the host returns, as a share
// of the fleet (target ≤ 3 %, docs/benchmarks.md), with and without a shared ConnectBudget;
// also how long until every link is ready again and the most sockets any link held at once.
//
//   npm run bench -- storm        (or: npx tsc -b && npx tsx bench/run.ts storm)
//
// Two harnesses: the links on a manual clock with fake sockets (deterministic, the same
// harness as packages/link/test/budget.test.ts), and the links on real loopback sockets with
// the endpoint simulator in a child process that is killed and restarted on the same port.
import { ConnectBudget, Link } from '@tether/link';
import type { SocketFactory, Transition } from '@tether/link';
import { wsSocketFactory } from '@tether/link/node';
import { attachResponder } from '../packages/link/test/responder.js';
import { storm } from '../packages/link/test/fleet.js';
import { startSimProcess, sleep, until } from './lib.js';
import type { Row } from './lib.js';

const OUTAGE_MS = 10_000;

interface Figures {
  busiest: number;
  allReadyMs: number;
  maxSocketsPerLink: number;
}

const share = (n: number, of: number) => `${((100 * n) / of).toFixed(1)} %`;

function row(harness: string, links: number, budget: boolean, f: Figures): Row {
  return {
    what: `reconnect storm, ${harness}: ${links.toLocaleString('en')} links, host away ${OUTAGE_MS / 1000} s, ${budget ? 'shared ConnectBudget (defaults)' : 'no budget'}`,
    result: `busiest 100 ms ${f.busiest} attempts (${share(f.busiest, links)}); all ready ${(f.allReadyMs / 1000).toFixed(1)} s after the return; at most ${f.maxSocketsPerLink} socket per link`,
    target: 'busiest 100 ms ≤ 3 %; all ready ≤ 15 s; one socket per endpoint',
    met: f.busiest <= 0.03 * links && f.allReadyMs <= 15_000 && f.maxSocketsPerLink <= 1,
    // Every harness is in the Reconnect storm section; the main table takes one figure.
    detail: true,
  };
}

/**
 * The main table's row: 10,000 links on real sockets sharing one budget. It measures the link
 * package alone (Link and ConnectBudget in the benchmark process), not the hub: the hub's own
 * figure is hub-storm (bench/fleet.ts).
 */
function mainRow(links: number, f: Figures): Row {
  return {
    what: `reconnect storm, links only (the link package's Link and one shared ConnectBudget with its defaults, in the benchmark process, not the hub; the hub's own figure is hub-storm): ${links.toLocaleString('en')} links on real loopback sockets, endpoint host (the simulator's process) killed, away ${OUTAGE_MS / 1000} s, started again on the same port; busiest 100 ms of connection attempts after it listens again, as a share of the fleet`,
    result: `**${f.busiest} attempts (${share(f.busiest, links)})**; all ready ${(f.allReadyMs / 1000).toFixed(1)} s after the return; at most ${f.maxSocketsPerLink} socket per link (every harness: Reconnect storm below)`,
    target: '≤ 3 % of the fleet in the busiest 100 ms',
    met: f.busiest <= 0.03 * links,
  };
}

function simulated(links: number, budget: boolean): Row {
  const result = storm({
    links,
    outageMs: OUTAGE_MS,
    budget: budget ? (clock) => new ConnectBudget({ clock }) : undefined,
  });
  return row('manual clock, fake sockets', links, budget, result);
}

async function realSockets(links: number, budget: boolean): Promise<Figures> {
  let sim = await startSimProcess();
  const port = sim.port;
  const shared = budget ? new ConnectBudget() : undefined;
  let counting = false;
  let backAt = 0;
  const attempts: number[] = [];
  let maxSocketsPerLink = 0;
  const fleet = Array.from({ length: links }, (_, i) => {
    const ws = wsSocketFactory();
    let live = 0;
    // Counts this link's sockets from creation to close, to show there is never a second one.
    const factory: SocketFactory = (url, handlers) => {
      if (counting) attempts.push(Date.now() - backAt);
      live++;
      maxSocketsPerLink = Math.max(maxSocketsPerLink, live);
      let gone = false;
      const end = () => {
        if (!gone) live--;
        gone = true;
      };
      return ws(url, {
        ...handlers,
        onClose: (code, reason) => (end(), handlers.onClose(code, reason)),
      });
    };
    const link = new Link({
      url: `ws://127.0.0.1:${port}/mcp/?token=storm-${i}`,
      socketFactory: factory,
      maxFailures: 1_000,
      connectBudget: shared,
    });
    attachResponder(link);
    const transitions: Transition[] = [];
    link.on('transition', (t) => transitions.push(t));
    return { link, transitions };
  });
  try {
    for (let i = 0; i < links; i += 500)
      await Promise.all(fleet.slice(i, i + 500).map(({ link }) => link.connect()));
    await until(() => fleet.every(({ link }) => link.status.name === 'ready'), 120_000, 'ready');
    await sleep(1_000);
    await sim.kill(); // the process dies: the kernel resets every connection
    await sleep(OUTAGE_MS);
    sim = await startSimProcess(port);
    backAt = Date.now();
    counting = true;
    await until(
      () =>
        fleet.every(({ transitions }) =>
          transitions.some((t) => t.to === 'ready' && t.at >= backAt),
        ),
      120_000,
      'recovery',
    );
    const allReadyMs = Math.max(
      ...fleet.map(
        ({ transitions }) =>
          transitions.find((t) => t.to === 'ready' && t.at >= backAt)!.at - backAt,
      ),
    );
    const bins = new Map<number, number>();
    for (const at of attempts)
      bins.set(Math.floor(at / 100), (bins.get(Math.floor(at / 100)) ?? 0) + 1);
    return { busiest: Math.max(...bins.values()), allReadyMs, maxSocketsPerLink };
  } finally {
    await Promise.all(fleet.map(({ link }) => link.close()));
    await sim.kill();
  }
}

export async function reconnectStorm(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const links of [1_000, 10_000])
    for (const budget of [false, true]) rows.push(simulated(links, budget));
  for (const links of [1_000, 10_000])
    for (const budget of [false, true]) {
      const figures = await realSockets(links, budget);
      rows.push(row('real loopback sockets', links, budget, figures));
      if (links === 10_000 && budget) rows.unshift(mainRow(links, figures));
    }
  return rows;
}
