import { isDeepStrictEqual } from 'node:util';
import type { ServerConfig, TetherConfig } from './types.js';

export interface NamedDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export interface ServerDiff extends NamedDiff {
  /**
   * Servers whose definition changed only in how their tools are served — `toolPrefix`,
   * `descriptions` — and not in how the server runs: they keep running, and the catalog (so
   * every endpoint that gets their tools) changes. Not also in `changed`.
   */
  retooled: string[];
}

export interface ConfigDiff {
  endpoints: NamedDiff;
  servers: ServerDiff;
  hubChanged: boolean;
}

/** The fields of a server definition that change only the catalog, not the running server. */
const CATALOG_FIELDS = ['toolPrefix', 'descriptions'] as const;

/**
 * What a reload changes, by name, so the hub restarts only the endpoints and servers that differ
 * and leaves healthy sockets and children alone. Order follows `next`, then removed from `prev`.
 */
export function diffConfig(prev: TetherConfig, next: TetherConfig): ConfigDiff {
  const servers = diffNamed(prev.servers, next.servers);
  const before = new Map(prev.servers.map((s) => [s.name, s]));
  const retooled = servers.changed.filter((name) =>
    sameToRun(
      before.get(name)!,
      next.servers.find((s) => s.name === name)!,
    ),
  );
  return {
    endpoints: diffNamed(prev.endpoints, next.endpoints),
    servers: {
      ...servers,
      changed: servers.changed.filter((name) => !retooled.includes(name)),
      retooled,
    },
    hubChanged: !isDeepStrictEqual(prev.hub, next.hub),
  };
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  const quiet = (d: NamedDiff) => d.added.length + d.removed.length + d.changed.length === 0;
  return (
    quiet(diff.endpoints) &&
    quiet(diff.servers) &&
    diff.servers.retooled.length === 0 &&
    !diff.hubChanged
  );
}

/** Two definitions of a server that differ at most in how its tools are named and described. */
function sameToRun(a: ServerConfig, b: ServerConfig): boolean {
  const strip = (s: ServerConfig) => {
    const copy: Record<string, unknown> = { ...s };
    for (const field of CATALOG_FIELDS) delete copy[field];
    return copy;
  };
  return isDeepStrictEqual(strip(a), strip(b));
}

function diffNamed<T extends { name: string }>(prev: readonly T[], next: readonly T[]): NamedDiff {
  const before = new Map(prev.map((item) => [item.name, item]));
  const diff: NamedDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const item of next) {
    const old = before.get(item.name);
    if (old === undefined) diff.added.push(item.name);
    else if (isDeepStrictEqual(old, item)) diff.unchanged.push(item.name);
    else diff.changed.push(item.name);
  }
  const after = new Set(next.map((item) => item.name));
  diff.removed = prev.filter((item) => !after.has(item.name)).map((item) => item.name);
  return diff;
}
