import {
  MAX_CURSOR_CHARS,
  MAX_TOOL_BYTES,
  MAX_TOOL_LIST_BYTES,
  MAX_TOOL_NAME_CHARS,
  MAX_TOOL_PAGES,
  MAX_TOOLS_PER_SERVER,
  sizeOf,
} from './limits.js';
import type { UpstreamTool } from './types.js';

/** One page of a tools/list answer. */
export interface ToolsPage {
  tools: UpstreamTool[];
  nextCursor?: string;
}

/** What one walk of tools/list kept, and what it left out and why (empty when nothing). */
export interface ToolListing {
  tools: UpstreamTool[];
  dropped: string[];
}

/**
 * Every page of a server's tools/list (`page(cursor)` asks for one), within the limits of
 * limits.ts, so that no server can make the hub hold an unbounded list:
 *
 * - a tool whose name is over MAX_TOOL_NAME_CHARS, or that is over MAX_TOOL_BYTES of JSON, is
 *   left out by itself, and the walk goes on;
 * - past MAX_TOOLS_PER_SERVER tools or MAX_TOOL_LIST_BYTES in all, the walk ends with the tools
 *   that fit, and asks for no more pages;
 * - after MAX_TOOL_PAGES pages, on a cursor seen before or one over MAX_CURSOR_CHARS, the walk
 *   ends with the tools listed so far.
 *
 * None of these fails the listing: `dropped` says, for a person, what was left out and why.
 * Errors of `page` (a timeout, a refused request) do fail it, as before.
 */
export async function walkToolList(
  page: (cursor: string | undefined) => Promise<ToolsPage>,
): Promise<ToolListing> {
  const kept = new Kept();
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages === MAX_TOOL_PAGES) {
      kept.end(
        `the server kept sending a nextCursor; stopped after ${count(MAX_TOOL_PAGES)} pages, ` +
          `the most the hub reads, and kept the ${count(kept.length)} tools of those pages`,
      );
      break;
    }
    const result = await page(cursor);
    if (!kept.add(result.tools)) break;
    cursor = result.nextCursor;
    if (cursor === undefined) break;
    if (cursor.length > MAX_CURSOR_CHARS) {
      kept.end(
        `the server sent a cursor over ${count(MAX_CURSOR_CHARS)} characters; stopped listing ` +
          `and kept the ${count(kept.length)} tools listed so far`,
      );
      break;
    }
    if (seen.has(cursor)) {
      kept.end(
        'the server sent a cursor it had sent before; stopped listing and kept the ' +
          `${count(kept.length)} tools listed so far`,
      );
      break;
    }
    seen.add(cursor);
  }
  return kept.listing();
}

/** The tools a walk keeps, and the notes on those it does not. */
class Kept {
  private readonly tools: UpstreamTool[] = [];
  private bytes = 0;
  private readonly longNames: string[] = [];
  private readonly large: string[] = [];
  private ended?: string;

  get length(): number {
    return this.tools.length;
  }

  /** Keeps what fits of one page; false once the list is full (ask for no more pages). */
  add(page: readonly UpstreamTool[]): boolean {
    for (const tool of page) {
      if (tool.name.length > MAX_TOOL_NAME_CHARS) {
        this.longNames.push(`${tool.name.slice(0, 32)}…`);
        continue;
      }
      const size = Buffer.byteLength(JSON.stringify(tool), 'utf8');
      if (size > MAX_TOOL_BYTES) {
        this.large.push(`${tool.name.slice(0, 64)} (${sizeOf(size)})`);
        continue;
      }
      if (this.tools.length === MAX_TOOLS_PER_SERVER) {
        return this.end(
          `the server lists more than ${count(MAX_TOOLS_PER_SERVER)} tools, the most one ` +
            `server may have; kept the first ${count(MAX_TOOLS_PER_SERVER)}`,
        );
      }
      if (this.bytes + size > MAX_TOOL_LIST_BYTES) {
        return this.end(
          `the server's tools add up to more than ${sizeOf(MAX_TOOL_LIST_BYTES)} of JSON, the ` +
            `most one server's may take; kept the first ${count(this.tools.length)}`,
        );
      }
      this.bytes += size;
      this.tools.push(tool);
    }
    return true;
  }

  /** Ends the walk for `why`; false, for `return`. */
  end(why: string): false {
    this.ended ??= why;
    return false;
  }

  listing(): ToolListing {
    const dropped: string[] = [];
    if (this.ended !== undefined) dropped.push(this.ended);
    if (this.longNames.length > 0) {
      dropped.push(
        `left out ${tools(this.longNames.length)} whose name is over ` +
          `${count(MAX_TOOL_NAME_CHARS)} characters: ${some(this.longNames)}`,
      );
    }
    if (this.large.length > 0) {
      dropped.push(
        `left out ${tools(this.large.length)} over the ${sizeOf(MAX_TOOL_BYTES)} of JSON ` +
          `a tool may take: ${some(this.large)}`,
      );
    }
    return { tools: this.tools, dropped };
  }
}

const count = (n: number): string => n.toLocaleString('en-US');
const tools = (n: number): string => (n === 1 ? '1 tool' : `${count(n)} tools`);
/** The first few of `items`, and how many more. */
const some = (items: readonly string[]): string =>
  items.length <= 5
    ? items.join(', ')
    : `${items.slice(0, 5).join(', ')} and ${count(items.length - 5)} more`;

/**
 * The latest tool list of one upstream. Lists are compared as JSON so that a refresh returning
 * the same tools (a list_changed that changed nothing, a restart) is not announced as a change.
 */
export class ToolList {
  private list: readonly UpstreamTool[] = Object.freeze([]);
  private names = new Set<string>();
  private json = '[]';

  get tools(): readonly UpstreamTool[] {
    return this.list;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Keeps `tools` as the latest list; true when it differs from the previous one. */
  update(tools: UpstreamTool[]): boolean {
    const json = JSON.stringify(tools);
    this.list = Object.freeze(tools);
    this.names = new Set(tools.map((t) => t.name));
    if (json === this.json) return false;
    this.json = json;
    return true;
  }
}
