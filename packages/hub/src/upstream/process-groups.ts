/**
 * Process groups of live stdio children. When the hub process exits, whatever the reason, a
 * best-effort SIGKILL reaches every group still registered, so no server (nor anything it
 * started) outlives the hub. The `exit` listener exists only while some group is live.
 */
const live = new Set<number>();

function killAll(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
}

export function trackGroup(pgid: number): void {
  if (live.size === 0) process.on('exit', killAll);
  live.add(pgid);
}

export function untrackGroup(pgid: number): void {
  if (live.delete(pgid) && live.size === 0) process.off('exit', killAll);
}

/** Signals the whole group led by `pgid`; false when no member is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Process groups this module still watches (tests check it drops to zero). */
export function liveGroupCount(): number {
  return live.size;
}
