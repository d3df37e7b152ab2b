import { toolAllowed } from '../config/index.js';
import type { ToolFilter } from '../config/types.js';
import type { UpstreamTool } from '../upstream/types.js';
import { exposedNames, namePrefix } from './names.js';

/** One tool as endpoints see it, and where it really lives. */
export interface CatalogEntry {
  /** `server__tool`, sanitised; what endpoints call. */
  name: string;
  server: string;
  /** The upstream's own name for it. */
  tool: string;
  /** The tool object sent in tools/list: the upstream's, renamed, schemas untouched. */
  definition: UpstreamTool;
}

export interface ServerTools {
  server: string;
  /** The tools it listed last. */
  tools: readonly UpstreamTool[];
  /**
   * False for a server that is down (restarting, failed): its last listed tools still take
   * part in the naming, so the names of the others do not move while it is away, but none of
   * them is served. Undefined counts as up.
   */
  ready?: boolean;
  descriptions?: Record<string, string>;
  /** The server's `toolPrefix`: undefined for the server's name, `""` for none. */
  prefix?: string;
}

/**
 * The aggregated tool set. Deterministic: the same servers and tools always give the same
 * names in the same order (sorted by exposed name), whatever order the servers came up in
 * and whichever of them are down for now.
 */
export function buildCatalog(servers: readonly ServerTools[]): CatalogEntry[] {
  const down = new Set(servers.filter((s) => s.ready === false).map((s) => s.server));
  const named = namedTools(servers);
  return down.size === 0 ? named : named.filter((e) => !down.has(e.server));
}

/** Every listed tool of every server, up or not, named as they collide. */
function namedTools(servers: readonly ServerTools[]): CatalogEntry[] {
  const pairs = servers.flatMap((s) =>
    s.tools.map((tool) => ({
      server: s.server,
      tool: tool.name,
      ...(s.prefix !== undefined && { prefix: s.prefix }),
      s,
      definition: tool,
    })),
  );
  const names = exposedNames(pairs);
  const entries = pairs.map(({ server, tool, s, definition }, i): CatalogEntry => {
    const description = s.descriptions?.[tool] ?? definition.description;
    return {
      name: names[i]!,
      server,
      tool,
      definition: {
        ...definition,
        name: names[i]!,
        ...(description !== undefined ? { description } : {}),
      },
    };
  });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The entry a call names when its server is known but down (restarting, unresponsive, failed):
 * its tools have left the catalog, yet the caller should hear that the server is restarting,
 * not that the tool does not exist. Found among the server's last listed tools, named as a
 * catalog of every server would name them; for a server that never listed any, by its
 * `prefix__` (a server without a prefix has none to be known by). Undefined when the name is
 * no tool of a down server: it is unknown.
 */
export function absentEntry(
  name: string,
  servers: ReadonlyArray<ServerTools & { ready: boolean }>,
): CatalogEntry | undefined {
  const entry = namedTools(servers).find((e) => e.name === name);
  if (entry !== undefined) {
    return servers.find((s) => s.server === entry.server)?.ready === true ? undefined : entry;
  }
  for (const s of servers) {
    const prefix = namePrefix(s.server, s.prefix);
    if (s.ready || s.tools.length > 0 || prefix === '') continue;
    if (!name.startsWith(prefix) || name === prefix) continue;
    const tool = name.slice(prefix.length);
    return { name, server: s.server, tool, definition: { name, inputSchema: {} } };
  }
  return undefined;
}

/**
 * What one endpoint is allowed: its servers (all by default), then its include/exclude globs,
 * which match the names as served (prefixes applied). Over its tool budget it is sent only some
 * of them directly and reaches the rest through the router (endpoint/served.ts).
 */
export function catalogFor(
  catalog: readonly CatalogEntry[],
  endpoint: { tools: ToolFilter; servers?: string[] },
): CatalogEntry[] {
  return catalog.filter(
    (entry) =>
      (endpoint.servers === undefined || endpoint.servers.includes(entry.server)) &&
      toolAllowed(endpoint.tools, entry.name),
  );
}
