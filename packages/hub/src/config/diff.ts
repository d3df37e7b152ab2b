import { isDeepStrictEqual } from 'node:util';
import type { TetherConfig } from './types.js';

export interface NamedDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export interface ConfigDiff {
  endpoints: NamedDiff;
  servers: NamedDiff;
  hubChanged: boolean;
}

/**
 * What a reload changes, by name, so the hub restarts only the endpoints and servers that differ
 * and leaves healthy sockets and children alone. Order follows `next`, then removed from `prev`.
 */
export function diffConfig(prev: TetherConfig, next: TetherConfig): ConfigDiff {
  return {
    endpoints: diffNamed(prev.endpoints, next.endpoints),
    servers: diffNamed(prev.servers, next.servers),
    hubChanged: !isDeepStrictEqual(prev.hub, next.hub),
  };
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  const quiet = (d: NamedDiff) => d.added.length + d.removed.length + d.changed.length === 0;
  return quiet(diff.endpoints) && quiet(diff.servers) && !diff.hubChanged;
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
