import type { CatalogEntry } from '../catalog/catalog.js';
import { toolPinned } from '../config/index.js';
import type { ToolFilter } from '../config/types.js';
import { ToolIndex } from '../finder/index.js';
import type { ToolResult, UpstreamTool } from '../upstream/types.js';
import { RESULT_TOOL } from './jobs.js';

/**
 * What an endpoint is sent, and what it may call.
 *
 * Under its tool budget (`tools.budget`, or none) an endpoint is sent every tool it is
 * allowed. Over it, small device models choose badly among so many, so it is sent a small
 * fixed set instead — the pinned tools, `tether__find_tools` and `tether__call_tool` (and
 * `tether__result` when early replies are on) — and reaches the rest through the router:
 *
 *   model ── tether__find_tools {query} ──▶ ranked search over the allowed tools (finder/)
 *         ◀── names, descriptions, input schemas of the best few
 *   model ── tether__call_tool {name, arguments} ──▶ the named tool, if the endpoint is
 *         ◀── its result                             allowed it, by the normal call path
 *
 * The fixed set changes only when the pinned tools do, so a server that adds a tool does not
 * cost the endpoint a reconnect (Xiaozhi reads tools only at the handshake); the new tool is
 * found at the next search.
 */
export interface ServedTools {
  /** What tools/list sends (endpoint/server.ts adds `tether__result`). */
  listed: readonly CatalogEntry[];
  /** Every tool the endpoint may call, sent or not. */
  allowed: readonly CatalogEntry[];
  /** Present when the endpoint is over its budget: its tools are reached through the router. */
  router?: ToolRouter;
}

/** How many tools a search returns unless it asks, and the most it may ask for. */
export const DEFAULT_FOUND = 5;
export const MAX_FOUND = 10;
/** A query longer than this is cut: it is a few words, and its length costs the search. */
export const MAX_QUERY_CHARS = 500;

export const FIND_TOOLS = {
  name: 'tether__find_tools',
  description:
    'Search the tools of this device by what they do, when the tool you need is not in your ' +
    'list. Describe the task in a few words, in the language of the request (for example ' +
    '"weather forecast" or "打开客厅的灯"). Returns the best matches with their names, ' +
    'descriptions and input schemas; call one with tether__call_tool. ' +
    '按用途搜索本设备的工具（可用中文描述），再用 tether__call_tool 调用。',
  inputSchema: {
    type: 'object',
    properties: {
      query: { type: 'string', description: 'What the tool should do, in a few words' },
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_FOUND,
        description: `How many tools to return (default ${DEFAULT_FOUND}, at most ${MAX_FOUND})`,
      },
    },
    required: ['query'],
  },
} as const;

export const CALL_TOOL = {
  name: 'tether__call_tool',
  description:
    'Call a tool that tether__find_tools found: its exact name, and its arguments as its ' +
    'input schema describes. 调用 tether__find_tools 找到的工具。',
  inputSchema: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'The tool name, as tether__find_tools returned it' },
      arguments: {
        type: 'object',
        description: "The tool's arguments, as its input schema describes",
      },
    },
    required: ['name'],
  },
} as const;

/** The router's tools as catalog entries, so tools/list and fingerprints treat them alike. */
const routerEntry = (tool: typeof FIND_TOOLS | typeof CALL_TOOL): CatalogEntry => ({
  name: tool.name,
  server: 'tether',
  tool: tool.name,
  definition: tool as unknown as UpstreamTool,
});
export const FIND_TOOLS_ENTRY = routerEntry(FIND_TOOLS);
export const CALL_TOOL_ENTRY = routerEntry(CALL_TOOL);

/**
 * Served sets by allowed set and filter. The hub hands every session serving one definition
 * the same allowed array until the catalog changes, so endpoints alike share one served set,
 * one router and one search index; both keys go with the catalog they came from.
 */
const cache = new WeakMap<readonly CatalogEntry[], WeakMap<ToolFilter, ServedTools>>();

/** What an endpoint with this filter is sent, given the tools it is allowed (catalogFor). */
export function servedTools(allowed: readonly CatalogEntry[], filter: ToolFilter): ServedTools {
  let byFilter = cache.get(allowed);
  if (!byFilter) cache.set(allowed, (byFilter = new WeakMap()));
  let served = byFilter.get(filter);
  if (!served) byFilter.set(filter, (served = compute(allowed, filter)));
  return served;
}

function compute(allowed: readonly CatalogEntry[], filter: ToolFilter): ServedTools {
  if (filter.budget === undefined || allowed.length <= filter.budget)
    return { listed: allowed, allowed };
  const pinned = allowed.filter((e) => toolPinned(filter, e.name));
  return {
    listed: [...pinned, FIND_TOOLS_ENTRY, CALL_TOOL_ENTRY],
    allowed,
    router: new ToolRouter(allowed),
  };
}

interface Indexed {
  name: string;
  description?: string;
  inputSchema: unknown;
  entry: CatalogEntry;
}

/** Search and lookup over one endpoint's allowed tools; the index is built at first search. */
export class ToolRouter {
  private index: ToolIndex<Indexed> | undefined;
  private byName: Map<string, CatalogEntry> | undefined;

  constructor(readonly allowed: readonly CatalogEntry[]) {}

  /** The best `k` tools for a query, best first. */
  find(query: string, k: number): CatalogEntry[] {
    this.index ??= new ToolIndex(
      this.allowed.map((entry) => ({
        name: entry.name,
        ...(entry.definition.description !== undefined && {
          description: entry.definition.description,
        }),
        inputSchema: entry.definition.inputSchema,
        entry,
      })),
    );
    return this.index.search(query.slice(0, MAX_QUERY_CHARS), k).map((found) => found.tool.entry);
  }

  /** The allowed tool of this name, if there is one. */
  lookup(name: string): CatalogEntry | undefined {
    this.byName ??= new Map(this.allowed.map((e) => [e.name, e]));
    return this.byName.get(name);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A result the model reads (the router's own answers and refusals). */
export function textResult(text: string, isError = false): ToolResult {
  return { ...(isError ? { isError: true } : {}), content: [{ type: 'text', text }] };
}

/**
 * `tether__find_tools`: the query read, the search made, and the answer — as much of the
 * ranked list as fits the endpoint's result budget, whole entries only, so the model never gets
 * a schema cut in half. `query` is undefined when the arguments were refused.
 */
export function findTools(
  router: ToolRouter,
  args: Record<string, unknown> | undefined,
  budgetBytes: number,
): { result: ToolResult; query?: string; found: string[] } {
  const query = args?.query;
  if (typeof query !== 'string' || query.trim() === '')
    return {
      result: textResult(
        `${FIND_TOOLS.name} needs "query": a few words saying what the tool should do.`,
        true,
      ),
      found: [],
    };
  const limit = args?.limit;
  const k =
    typeof limit === 'number' && Number.isFinite(limit)
      ? Math.min(MAX_FOUND, Math.max(1, Math.floor(limit)))
      : DEFAULT_FOUND;
  const hits = router.find(query, k);
  if (hits.length === 0)
    return {
      result: textResult(
        JSON.stringify({
          tools: [],
          note: 'No tool matched. Try other words, such as those a tool would use to describe itself.',
        }),
      ),
      query,
      found: [],
    };
  const tools = hits.map((e) => ({
    name: e.name,
    ...(e.definition.description !== undefined && { description: e.definition.description }),
    inputSchema: e.definition.inputSchema,
  }));
  let shown = tools.length;
  let text = answerText(tools, shown);
  while (budgetBytes > 0 && shown > 1 && Buffer.byteLength(text) > budgetBytes - 200)
    text = answerText(tools, --shown);
  return { result: textResult(text), query, found: tools.slice(0, shown).map((t) => t.name) };
}

function answerText(tools: ReadonlyArray<{ name: string }>, shown: number): string {
  return JSON.stringify({
    tools: tools.slice(0, shown),
    ...(shown < tools.length && {
      note: `${tools.length - shown} more matched but did not fit; narrow the query to see them.`,
    }),
    next: `Call ${CALL_TOOL.name} with {"name": <one of these names>, "arguments": {…}}.`,
  });
}

/**
 * What `tether__call_tool` names: the allowed tool to call and its arguments, or the refusal the
 * model reads. A name the endpoint is not allowed is refused as unknown whether or not another
 * endpoint has it — an endpoint learns nothing of tools it was not given.
 */
export function routedCall(
  router: ToolRouter,
  args: Record<string, unknown> | undefined,
  absent?: (name: string) => CatalogEntry | undefined,
):
  | { entry: CatalogEntry; args: Record<string, unknown> | undefined }
  | { refusal: ToolResult; name?: string } {
  const name = args?.name;
  if (typeof name !== 'string' || name === '')
    return {
      refusal: textResult(
        `${CALL_TOOL.name} needs "name": the name of a tool that ${FIND_TOOLS.name} returned.`,
        true,
      ),
    };
  const inner = args?.arguments;
  if (inner !== undefined && inner !== null && !isObject(inner))
    return {
      refusal: textResult(
        `${CALL_TOOL.name}: "arguments" must be an object of ${name}'s parameters, as its input schema describes.`,
        true,
      ),
      name,
    };
  if (name === FIND_TOOLS.name || name === CALL_TOOL.name || name === RESULT_TOOL.name)
    return {
      refusal: textResult(`Call ${name} directly, not through ${CALL_TOOL.name}.`, true),
      name,
    };
  const entry = router.lookup(name) ?? absent?.(name);
  if (!entry) {
    const near = router.find(name, 3).map((e) => e.name);
    return {
      refusal: textResult(
        `No tool "${name}" on this endpoint. ${
          near.length ? `Similar names: ${near.join(', ')}. ` : ''
        }${FIND_TOOLS.name} finds the tools it has.`,
        true,
      ),
      name,
    };
  }
  return { entry, args: isObject(inner) ? inner : undefined };
}
