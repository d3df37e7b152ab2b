import picomatch from 'picomatch';
import type { ToolFilter } from './types.js';

type Matcher = (name: string) => boolean;

// Resolved configs are not mutated, so compiled globs can live as long as their filter object.
const compiled = new WeakMap<ToolFilter, { include: Matcher; exclude: Matcher; pinned: Matcher }>();

function matchers(filter: ToolFilter) {
  let found = compiled.get(filter);
  if (found === undefined) {
    found = {
      include: compile(filter.include),
      exclude: compile(filter.exclude),
      pinned: compile(filter.pinned ?? []),
    };
    compiled.set(filter, found);
  }
  return found;
}

/** Whether an endpoint with this filter gets the tool: it matches an include and no exclude. */
export function toolAllowed(filter: ToolFilter, exposedName: string): boolean {
  const m = matchers(filter);
  return m.include(exposedName) && !m.exclude(exposedName);
}

/**
 * Whether the tool is pinned: sent directly even when the endpoint is over its budget. Pinning
 * does not allow a tool; only a tool the endpoint gets (toolAllowed) can be pinned.
 */
export function toolPinned(filter: ToolFilter, exposedName: string): boolean {
  return matchers(filter).pinned(exposedName);
}

function compile(globs: readonly string[]): Matcher {
  if (globs.length === 0) return () => false;
  // Tool names are flat (`server__tool`), so `*` may match anything, dots included.
  return picomatch([...globs], { dot: true });
}
