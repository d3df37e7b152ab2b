import type { UpstreamTool } from './types.js';

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
