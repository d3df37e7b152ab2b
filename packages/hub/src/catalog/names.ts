import { createHash } from 'node:crypto';

const MAX = 64;
const SEPARATOR = '__';

/** `server__tool` with every character outside [A-Za-z0-9_-] turned into `_`, at most 64 long. */
export function baseName(server: string, tool: string): string {
  const raw = `${server}${SEPARATOR}${tool}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return raw.slice(0, MAX);
}

function suffix(server: string, tool: string): string {
  return createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 6);
}

/**
 * Exposed names for (server, tool) pairs, valid for every MCP client (`^[A-Za-z0-9_-]{1,64}$`).
 *
 * When sanitising or truncation makes two pairs collide, every member of the collision gets a
 * short hash of its own (server, tool) — never "the first one wins" — so a name does not
 * depend on the order in which servers came up, and stays stable across restarts.
 */
export function exposedNames(pairs: ReadonlyArray<{ server: string; tool: string }>): string[] {
  const bases = pairs.map(({ server, tool }) => baseName(server, tool));
  const counts = new Map<string, number>();
  for (const base of bases) counts.set(base, (counts.get(base) ?? 0) + 1);
  return pairs.map(({ server, tool }, i) => {
    const base = bases[i]!;
    if (counts.get(base) === 1) return base;
    const tail = `_${suffix(server, tool)}`;
    return base.slice(0, MAX - tail.length) + tail;
  });
}
