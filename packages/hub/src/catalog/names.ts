import { createHash } from 'node:crypto';

const MAX = 64;
const SEPARATOR = '__';

/**
 * Names Tether serves itself on endpoints (endpoint/jobs.ts, endpoint/served.ts). A server's
 * tool that would be served under one of them is treated as a collision with Tether's own, so
 * it gets a hash suffix and Tether's tool keeps its name.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'tether__result',
  'tether__find_tools',
  'tether__call_tool',
]);

/** One tool of one server, and the prefix its served name starts with. */
export interface NamedTool {
  server: string;
  tool: string;
  /** The server's `toolPrefix`: undefined for the server's name, `""` for none. */
  prefix?: string;
}

/**
 * `prefix__tool` (the prefix is the server's name unless the server sets `toolPrefix`; with
 * `""` the tool's name alone), every character outside [A-Za-z0-9_-] turned into `_`, at
 * most 64 long.
 */
export function baseName(server: string, tool: string, prefix: string = server): string {
  const raw = (prefix === '' ? tool : `${prefix}${SEPARATOR}${tool}`).replace(
    /[^A-Za-z0-9_-]/g,
    '_',
  );
  // A tool with an empty name under an empty prefix would be no name at all.
  return (raw === '' ? '_' : raw).slice(0, MAX);
}

/**
 * What every served name of the server's tools starts with (`prefix__`, sanitised), or `""`
 * when it has no prefix and its names cannot be told from any other server's.
 */
export function namePrefix(server: string, prefix: string = server): string {
  return prefix === '' ? '' : baseName(server, '', prefix);
}

function suffix(server: string, tool: string): string {
  return createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 6);
}

/**
 * Served names for (server, tool) pairs, valid for every MCP client (`^[A-Za-z0-9_-]{1,64}$`).
 *
 * When prefixes, sanitising or truncation make two pairs collide — or a pair takes one of
 * Tether's own names — every member of the collision gets a short hash of its own
 * (server, tool) — never "the first one wins" — so a name does not depend on the order in
 * which servers came up, and stays stable across restarts.
 */
export function exposedNames(pairs: ReadonlyArray<NamedTool>): string[] {
  const bases = pairs.map(({ server, tool, prefix }) => baseName(server, tool, prefix));
  const counts = new Map<string, number>();
  for (const base of bases) counts.set(base, (counts.get(base) ?? 0) + 1);
  return pairs.map(({ server, tool }, i) => {
    const base = bases[i]!;
    if (counts.get(base) === 1 && !RESERVED_NAMES.has(base)) return base;
    const tail = `_${suffix(server, tool)}`;
    return base.slice(0, MAX - tail.length) + tail;
  });
}
