// `npm run bench`: runs every benchmark and writes docs/benchmarks.md: the main table, the
// disconnect scenarios and the cluster section; the other sections (start-up, reconnect storm,
// the memory profile: written by hand from what their scenarios print) are kept as they are.
//
// `npx tsx bench/run.ts <scenario>` (after `npx tsc -b`) runs one scenario and replaces only
// its rows of the main table — or, for `scenarios` and `cluster`, only its section — keeping
// every other row and section. Each row says which command measured it, when, the load
// average as its scenario began, and which commit was built (and whether sources differed).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import {
  blackholeDetection,
  memoryPerIdleLink,
  recoveryAfterClose,
  recoveryAfterRestart,
} from './link.js';
import { hubMemory, relayOverhead } from './hub.js';
import { hub10k, hubStorm } from './fleet.js';
import { clusterBench, writeClusterSection } from './cluster.js';
import { sessionBench } from './session.js';
import { startBench } from './start.js';
import { reconnectStorm } from './storm.js';
import { routerBench } from './router.js';
import { buildOf, loadAverage } from './lib.js';
import type { Row } from './lib.js';
import {
  DOC,
  joinDoc,
  mergeRows,
  parseHead,
  renderTable,
  splitDoc,
  tableRow,
  titleOf,
  withSection,
} from './doc.js';
import type { TableRow } from './doc.js';

// The table's order is this list's.
const scenarios: Array<[string, () => Promise<Row | Row[]>]> = [
  ['close', () => recoveryAfterClose()],
  ['restart', () => recoveryAfterRestart()],
  ['outage', () => recoveryAfterRestart(200, 5_000)],
  ['blackhole', () => blackholeDetection()],
  ['memory', () => memoryPerIdleLink()],
  ['storm', () => reconnectStorm()],
  ['start', () => startBench()],
  ['relay', () => relayOverhead()],
  ['hub-memory', () => hubMemory()],
  ['hub-10k', () => hub10k()],
  ['hub-storm', () => hubStorm()],
  ['session', () => sessionBench()],
  ['router', () => routerBench()],
];
const SCENARIOS_SECTION = 'Disconnect scenarios of the platform Tether replaces';

const only = process.argv[2];
const known = [...scenarios.map(([name]) => name), 'scenarios', 'cluster'];
if (only && !known.includes(only)) {
  console.error(`bench: no scenario "${only}"; one of: ${known.join(', ')}`);
  process.exit(2);
}
// What produced the figures, as it was typed: `npm run bench` (which builds first) or tsx.
const viaNpm = process.env.npm_lifecycle_event === 'bench';
const command = !only
  ? 'npm run bench'
  : viaNpm
    ? `npm run bench -- ${only}`
    : `npx tsx bench/run.ts ${only}`;
const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const began = { at: new Date(), load: loadAverage() };

const fresh = new Map<string, TableRow[]>();
const failed: string[] = [];
for (const [name, run] of scenarios) {
  if (only && name !== only) continue;
  const measured = `\`${command}\`, ${utc(new Date())}, load ${loadAverage()}, ${buildOf()}`;
  process.stdout.write(`${name} (load ${loadAverage()})… `);
  try {
    const result = await run();
    const produced = Array.isArray(result) ? result : [result];
    console.log(
      produced
        .map((r) => `${r.detail ? `(detail: ${r.what}) ` : ''}${r.result} [met: ${r.met}]`)
        .join('\n  '),
    );
    fresh.set(
      name,
      produced.filter((r) => !r.detail).map((r) => tableRow(name, r, measured)),
    );
  } catch (error) {
    // Its rows stay as they were: a failed scenario loses nothing the table had.
    failed.push(name);
    console.log(`failed: ${(error as Error).stack ?? String(error)}`);
  }
}

// The disconnect scenarios of the platform Tether replaces are end-to-end tests that print
// their measured times; the benchmark runs them and records what they printed.
let scenarios$: string | undefined;
if (!only || only === 'scenarios') {
  process.stdout.write('scenarios… ');
  const run = spawnSync('npx', ['vitest', 'run', 'packages/hub/test/scenarios.test.ts'], {
    encoding: 'utf8',
  });
  const lines = run.stdout.split('\n').filter((line) => line.startsWith('scenario '));
  if (lines.length === 3) {
    console.log('done');
    scenarios$ = `## ${SCENARIOS_SECTION}

End-to-end (hub, stdio server, endpoint simulator; heartbeat P = 500 ms, M = 2, so the bound
is 1 s; \`packages/hub/test/scenarios.test.ts\`), measured by \`${command}\`, ${utc(new Date())}.
The .NET platform documented 90–120 s.

${lines.map((line) => `- ${line}`).join('\n')}`;
  } else {
    failed.push('scenarios');
    console.log(`failed:\n${run.stdout}\n${run.stderr}`);
  }
}

// The cluster benchmarks (real instances on PostgreSQL and Redis) write a section of their own.
let cluster$: string | undefined;
if (!only || only === 'cluster') {
  console.log('cluster…');
  const { section, skipped } = await clusterBench(command);
  if (skipped) {
    console.log(`cluster: skipped, ${skipped}; the Cluster section of docs/benchmarks.md is kept`);
  } else {
    cluster$ = section;
    if (only) {
      writeClusterSection(section!);
      console.log(`${section}\nwrote the Cluster section of docs/benchmarks.md`);
    }
  }
}

const doc = readFileSync(DOC, 'utf8');
const { head, sections } = splitDoc(doc);
const old = parseHead(head);
const order = scenarios.map(([name]) => name);
let next: string;
if (only) {
  next = doc;
  if (fresh.size > 0) {
    const rows = mergeRows(old.rows, fresh, order, false);
    const table = renderTable(rows);
    next = joinDoc([old.before, table, old.after].filter(Boolean).join('\n\n'), sections);
  }
  if (scenarios$) next = withSection(next, scenarios$);
} else {
  // A full run: a new head; the notes under the old table were about its figures, and go.
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const intro = `# Benchmarks

Produced by \`npm run bench\` (begun ${utc(began.at)}; load average ${began.load}, 1 / 5 / 15 min),
on loopback: Node ${process.version}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB.
The endpoint simulator runs in a child process; the links run with their default settings
(ping every 5 s, 2 missed pongs, first retry in 0–250 ms, full-jitter backoff to 30 s).
Each row's scenario runs alone with \`npx tsc -b && npx tsx bench/run.ts <scenario>\`, which
replaces only that scenario's rows; the last column says which command measured a row, when,
the load average (1 / 5 / 15 min) as its scenario began, and the commit built.`;
  const rows = mergeRows(old.rows, fresh, order, true);
  // Generated sections are replaced (a skipped or failed one is kept); the rest stay as they are.
  const kept = sections.map((section) => {
    const title = titleOf(section);
    if (title === SCENARIOS_SECTION && scenarios$) return scenarios$;
    if (title === 'Cluster' && cluster$) return cluster$;
    return section;
  });
  if (scenarios$ && !kept.some((s) => titleOf(s) === SCENARIOS_SECTION)) kept.unshift(scenarios$);
  next = joinDoc(`${intro}\n\n${renderTable(rows)}`, kept);
  if (cluster$) next = withSection(next, cluster$, SCENARIOS_SECTION);
}
if (next !== doc) writeFileSync(DOC, next);
console.log(
  next !== doc
    ? `wrote docs/benchmarks.md${only ? ` (${only}'s ${only === 'scenarios' || only === 'cluster' ? 'section' : 'rows'} only)` : ''}`
    : 'docs/benchmarks.md unchanged',
);
if (failed.length) console.log(`failed: ${failed.join(', ')} (their rows and sections were kept)`);
process.exit(failed.length ? 1 : 0);
