// `npm run bench`: runs every benchmark and writes docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import {
  blackholeDetection,
  memoryPerIdleLink,
  recoveryAfterClose,
  recoveryAfterRestart,
} from './link.js';
import type { Row } from './link.js';
import { hubMemory, relayOverhead } from './hub.js';
import { clusterBench, currentClusterSection, writeClusterSection } from './cluster.js';
import { sessionBench } from './session.js';
import { startBench } from './start.js';
import { reconnectStorm } from './storm.js';

const only = process.argv[2];
const scenarios: Array<[string, () => Promise<Row | Row[]>]> = [
  ['close', () => recoveryAfterClose()],
  ['restart', () => recoveryAfterRestart()],
  ['outage', () => recoveryAfterRestart(200, 5_000)],
  ['blackhole', () => blackholeDetection()],
  ['memory', () => memoryPerIdleLink()],
  ['relay', () => relayOverhead()],
  ['hub-memory', () => hubMemory()],
  ['start', () => startBench()],
  ['session', () => sessionBench()],
  ['storm', () => reconnectStorm()],
];

const rows: Row[] = [];
for (const [name, run] of scenarios) {
  if (only && name !== only) continue;
  process.stdout.write(`${name}… `);
  const result = await run();
  const produced = Array.isArray(result) ? result : [result];
  console.log(produced.map((r) => r.result).join(' | '));
  rows.push(...produced);
}

// The disconnect scenarios of the platform Tether replaces are end-to-end tests that print
// their measured times; the benchmark runs them and records what they printed.
let scenarios$ = '';
if (!only || only === 'scenarios') {
  process.stdout.write('scenarios… ');
  const run = spawnSync('npx', ['vitest', 'run', 'packages/hub/test/scenarios.test.ts'], {
    encoding: 'utf8',
  });
  const lines = run.stdout.split('\n').filter((line) => line.startsWith('scenario '));
  console.log(lines.length === 3 ? 'done' : `failed:\n${run.stdout}\n${run.stderr}`);
  scenarios$ = lines.map((line) => `- ${line}`).join('\n');
}

// The cluster benchmarks (real instances on PostgreSQL and Redis) write a section of their own;
// run alone (`npm run bench -- cluster`) they replace only that section of docs/benchmarks.md.
let cluster$: string | undefined;
if (!only || only === 'cluster') {
  console.log('cluster…');
  const { section, skipped } = await clusterBench(
    only ? 'npm run bench -- cluster' : 'npm run bench',
  );
  if (skipped) {
    // A full run keeps the section docs/benchmarks.md has (it says when it was measured).
    cluster$ = only ? undefined : currentClusterSection();
    console.log(
      `cluster: skipped, ${skipped}${cluster$ ? '; the Cluster section of docs/benchmarks.md is kept as it was' : ''}`,
    );
  } else {
    cluster$ = section;
    if (only) {
      writeClusterSection(section!);
      console.log(`${section}\nwrote the Cluster section of docs/benchmarks.md`);
    }
  }
  if (only) process.exit(0);
}

// Sections written by hand or by a benchmark run alone (the storm, start-up, the profile) are
// kept as they are: a full run rewrites only the table, the scenarios and the cluster.
const generated = new Set(['Disconnect scenarios of the platform Tether replaces', 'Cluster']);
const doc = readFileSync(new URL('../docs/benchmarks.md', import.meta.url), 'utf8');
const kept = doc
  .split(/^(?=## )/m)
  .slice(1)
  .filter((section) => !generated.has(section.slice(3, section.indexOf('\n')).trim()))
  .map((section) => section.trimEnd())
  .join('\n\n');

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const text = `# Benchmarks

Produced by \`npm run bench\` (${new Date().toISOString().slice(0, 10)}), on loopback:
Node ${process.version}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB.
The endpoint simulator runs in a child process; the links run with their default settings
(ping every 5 s, 2 missed pongs, first retry in 0–250 ms, full-jitter backoff to 30 s).

| what | result | target |
|---|---|---|
${rows.map((r) => `| ${r.what} | ${r.result} | ${r.target} |`).join('\n')}

## Disconnect scenarios of the platform Tether replaces

End-to-end (hub, stdio server, endpoint simulator; heartbeat P = 500 ms, M = 2, so the bound
is 1 s; \`packages/hub/test/scenarios.test.ts\`). The .NET platform documented 90–120 s.

${scenarios$}
${cluster$ ? `\n${cluster$}\n` : ''}${kept ? `\n${kept}\n` : ''}`;
if (!only) writeFileSync(new URL('../docs/benchmarks.md', import.meta.url), text);
console.log(only ? text : 'wrote docs/benchmarks.md');
process.exit(0);
