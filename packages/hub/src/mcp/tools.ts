import { createHash } from 'node:crypto';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { UpstreamTool } from '../upstream/types.js';

/** Tools per `tools/list` page: enough for most sets in one page, few enough that paging is real. */
export const TOOLS_PAGE_SIZE = 100;

export interface ToolsPage {
  tools: UpstreamTool[];
  nextCursor?: string;
}

/**
 * One page of a tool view. The cursor is the last name of the page before, not a position: a
 * tool added or removed between two pages moves no other tool to another page. A view is
 * sorted by name (catalog/catalog.ts; a budgeted endpoint's pinned tools, then the router's
 * two), so a cursor naming a tool removed since goes on where it would sort, as the API's
 * endpoint pages do (http/paging.ts). Definitions go out as the upstream listed them, renamed
 * only: schemas are never read, checked or rewritten.
 */
export function toolsPage(
  view: readonly CatalogEntry[],
  cursor: string | undefined,
  size: number,
): ToolsPage {
  let start = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    const at = view.findIndex((e) => e.name === after);
    start = at >= 0 ? at + 1 : view.findIndex((e) => e.name > after);
    if (start < 0) start = view.length;
  }
  const end = Math.min(view.length, start + size);
  const tools = view.slice(start, end).map((e) => e.definition);
  return end < view.length ? { tools, nextCursor: encodeCursor(view[end - 1]!.name) } : { tools };
}

/** Opaque to clients (MCP says a cursor is), but only a name inside. */
function encodeCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

/** The name a cursor carries; throws InvalidCursor for anything this server did not hand out. */
function decodeCursor(cursor: string): string {
  const name =
    cursor.length <= 400 && /^[A-Za-z0-9_-]+$/.test(cursor)
      ? Buffer.from(cursor, 'base64url').toString('utf8')
      : '';
  if (name === '' || encodeCursor(name) !== cursor)
    throw new InvalidCursor(`Invalid cursor: ${cursor.slice(0, 80)}`);
  return name;
}

export class InvalidCursor extends Error {}

/**
 * Watches one view (all tools, or an endpoint's) for changes a client would see: names and
 * definitions. The hub hands out the same array until something changed, so most checks cost a
 * comparison; a rebuilt catalog that lists the same tools says "unchanged", so clients are not
 * sent `notifications/tools/list_changed` for nothing.
 */
export class ViewWatch {
  private view: readonly CatalogEntry[] | undefined;
  private signature = '';

  constructor(private readonly read: () => readonly CatalogEntry[] | undefined) {
    this.view = read();
    if (this.view) this.signature = signatureOf(this.view);
  }

  /** Whether the view lists something else than at the last look (or at the start). */
  changed(): boolean {
    const view = this.read();
    if (!view || view === this.view) return false;
    this.view = view;
    const signature = signatureOf(view);
    if (signature === this.signature) return false;
    this.signature = signature;
    return true;
  }
}

function signatureOf(view: readonly CatalogEntry[]): string {
  const hash = createHash('sha256');
  for (const entry of view) hash.update(JSON.stringify(entry.definition)).update('\n');
  return hash.digest('base64url');
}
