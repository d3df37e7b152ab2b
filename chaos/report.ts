import type { Outcome } from './calls.js';
import type { ChaosSummary } from './runner.js';

const LABELS: ReadonlyArray<readonly [Outcome, string, string]> = [
  ['answered', 'answered', "the call's own result (or its tool's own error)"],
  ['failed', 'failed, clear error', 'an error the device can read, or the socket closed under it'],
  ['cutoff', 'cut off', 'timed out while its network path was blackholed or paused'],
  ['dropped', 'dropped', 'a finished result the hub gave away to a dead request ("No job" next)'],
  ['lost', 'lost', 'never answered on a healthy path, no error'],
  ['misdelivered', 'misdelivered', "an answer carrying another call's result or id"],
];

/** The run's figures as a person reads them. */
export function formatSummary(s: ChaosSummary): string {
  const lines: string[] = [];
  const faultCount = Object.values(s.faults).reduce((a, b) => a + b, 0);
  lines.push(
    `chaos: seed ${s.seed}, ${Math.round(s.durationMs / 1000)} s, ${Object.keys(s.maxOpen).length} endpoints; ${faultCount} faults`,
  );
  lines.push(
    `  faults: ${Object.entries(s.faults)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  lines.push(`calls made ${String(s.calls.made).padStart(8)}`);
  for (const [outcome, label, meaning] of LABELS) {
    const extra =
      outcome === 'answered' && s.calls.viaJob > 0 ? ` (${s.calls.viaJob} via tether__result)` : '';
    lines.push(
      `  ${label.padEnd(20)} ${String(s.calls[outcome]).padStart(7)}${extra}   ${meaning}`,
    );
    const reasons = Object.entries(s.reasons[outcome]).sort((a, b) => b[1] - a[1]);
    if (outcome !== 'answered' && reasons.length > 0)
      for (const [reason, n] of reasons) lines.push(`      ${String(n).padStart(6)}  ${reason}`);
  }
  lines.push(`  (workers waited ${s.idleWaits} × 100 ms for a ready socket)`);
  const worst = Math.max(...Object.values(s.maxOpen));
  lines.push(
    `most sockets per endpoint at once: ${worst}  (${Object.entries(s.maxOpen)
      .map(([e, n]) => `${e} ${n}`)
      .join(', ')})`,
  );
  const held = s.doubleOpens.filter((d) => d.heldByNetwork).length;
  if (s.doubleOpens.length > 0)
    lines.push(
      `  ${s.doubleOpens.length} moment(s) with two open at the endpoint; ${held} held by the network (the hub had let go of the older socket, a proxy fault held back its teardown), ${s.doubleOpens.length - held} not`,
    );
  for (const d of s.doubleOpens) {
    const sec = (ms: number) => `+${(ms / 1000).toFixed(3)}s`;
    const older = d.olderClosed
      ? `older closed ${sec(d.olderClosed.at)}, ${d.olderClosed.code} "${d.olderClosed.reason}" by ${d.olderClosed.by}`
      : 'older never closed';
    lines.push(
      `  ${d.heldByNetwork ? 'network' : 'HUB'}: ${d.endpoint} ${d.sockets.join(' + ')} open at ${sec(d.at)} (older opened ${sec(d.olderOpenedAt)}); ${d.release ?? 'the hub never let go of the older'}; faults on the path: ${d.faults.join(', ') || 'none'}; ${older}`,
    );
  }
  lines.push(`referee violations: ${s.violations.length}`);
  for (const v of s.violations)
    lines.push(
      `  ${v.kind} on ${v.token} ${v.socketId}: ${v.detail}; frame ${v.frame.slice(0, 200)}`,
    );
  lines.push(
    `hub: ${s.hub.starts} start(s), ${s.hub.kills} kill -9, ${s.hub.crashes.length} exit(s) nobody asked for` +
      s.hub.crashes.map((c) => ` [code ${c.code ?? c.signal}]`).join(''),
  );
  lines.push(
    `heal: every endpoint ready and quiet ${(s.recovery.ms / 1000).toFixed(1)} s after the faults ended` +
      (s.recovery.notReady.length ? `; NOT READY: ${s.recovery.notReady.join(', ')}` : '') +
      `; probes ${s.recovery.probes - s.recovery.probeFailures.length}/${s.recovery.probes} answered`,
  );
  for (const failure of s.recovery.probeFailures) lines.push(`  probe: ${failure}`);
  if (s.problems.length > 0) {
    lines.push(`dropped, lost and misdelivered calls (${s.problems.length}):`);
    for (const r of s.problems.slice(0, 50))
      lines.push(
        `  #${r.seq} ${r.endpoint} ${r.tool} ${JSON.stringify(r.args)} sent +${((r.sentAt - s.startedAt) / 1000).toFixed(3)}s on ${r.sockets.join('→')}: ${r.outcome} (${r.reason}${r.detail ? `: ${r.detail}` : ''})\n      ${r.trail.join(' | ')}`,
      );
  }
  lines.push(
    s.clean
      ? `RESULT: clean (seed ${s.seed})`
      : `RESULT: FAILED (seed ${s.seed}): ${s.failures.join('; ')}\n  run folder kept: ${s.dir} (schedule.txt, executed.txt, hub-*.log, summary.json)`,
  );
  return lines.join('\n');
}
