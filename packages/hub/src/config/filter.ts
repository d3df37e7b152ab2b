import picomatch from 'picomatch';
import type { ToolFilter } from './types.js';

type Matcher = (name: string) => boolean;

// Resolved configs are not mutated, so compiled globs can live as long as their filter object.
const compiled = new WeakMap<ToolFilter, { include: Matcher; exclude: Matcher }>();

/** Whether an endpoint with this filter gets the tool: it matches an include and no exclude. */
export function toolAllowed(filter: ToolFilter, exposedName: string): boolean {
  let matchers = compiled.get(filter);
  if (matchers === undefined) {
    matchers = { include: compile(filter.include), exclude: compile(filter.exclude) };
    compiled.set(filter, matchers);
  }
  return matchers.include(exposedName) && !matchers.exclude(exposedName);
}

function compile(globs: readonly string[]): Matcher {
  if (globs.length === 0) return () => false;
  // Tool names are flat (`server__tool`), so `*` may match anything, dots included.
  return picomatch([...globs], { dot: true });
}
