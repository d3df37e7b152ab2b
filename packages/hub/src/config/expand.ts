import { formatPath } from './errors.js';
import type { IssueList, PathSegment } from './errors.js';

// `${NAME}`, `${NAME:-default}`, and `$${…}` for a literal `${…}` (URLs and shell snippets).
const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const INNER = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** One `${NAME}` (or `${NAME:-default}`) and where in the document it was written. */
export interface EnvReference {
  name: string;
  path: readonly PathSegment[];
}

/**
 * Expand environment references in every string value (keys stay as written). Runs after
 * parsing, so a value can never break the JSON around it. Returns the expanded document, the
 * paths that failed, so validation does not pile a second, confusing issue on the same spot, and
 * every reference it expanded. Those are also collected for the stdio children (see
 * `namesExpandedOutside`): a variable the configuration put into one place is not inherited by
 * every child the hub starts.
 */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  issues: IssueList,
): { value: unknown; failed: Set<string>; references: EnvReference[] } {
  const failed = new Set<string>();
  const references: EnvReference[] = [];
  const walk = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string') return expandString(node, path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) out[key] = walk(item, [...path, key]);
      return out;
    }
    return node;
  };
  const expandString = (text: string, path: PathSegment[]): string =>
    text.replace(REFERENCE, (whole, escaped: string, inner: string) => {
      if (escaped === '$') return whole.slice(1);
      const match = INNER.exec(inner);
      if (match === null) {
        fail(path, `bad variable reference "${whole}": write \${NAME} or \${NAME:-default}`);
        return '';
      }
      const [, name = '', fallback] = match;
      references.push({ name, path });
      const set = env[name];
      // Shell semantics: `:-` also covers a variable that is set but empty.
      if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
      if (set === undefined) {
        fail(path, `environment variable ${name} is not set`);
        return '';
      }
      return set;
    });
  const fail = (path: PathSegment[], message: string): void => {
    failed.add(formatPath(path));
    issues.add(path, message);
  };
  const expanded = walk(value, []);
  collect(references);
  return { value: expanded, failed, references };
}

// ── what the configuration expanded, for the stdio children ────────────────────────────────

/** Every name a configuration expanded in this process, upper-cased; it only ever grows. */
const expandedNames = new Set<string>();
/** The names each server entry of the latest configuration references, by server name. */
let referencedBy = new Map<string, Set<string>>();

const SERVER_BLOCKS: ReadonlySet<PathSegment> = new Set(['mcpServers', 'servers']);

function collect(references: readonly EnvReference[]): void {
  const byServer = new Map<string, Set<string>>();
  for (const { name, path } of references) {
    const upper = name.toUpperCase();
    expandedNames.add(upper);
    const [block, server] = path;
    if (block === undefined || !SERVER_BLOCKS.has(block) || typeof server !== 'string') continue;
    const names = byServer.get(server) ?? new Set<string>();
    names.add(upper);
    byServer.set(server, names);
  }
  referencedBy = byServer;
}

/**
 * The variables (upper-cased) the configuration expanded with `${NAME}` anywhere but in the
 * entry of `server`: into another server's settings, an endpoint's URL, a webhook. Those hold
 * values meant for that place — a token, a password — so the child of `server` does not inherit
 * them (upstream/child-env.ts). Names stay on the list for the life of the process: a server
 * started from an earlier version of the file may still hold the value. The server's own
 * references are those of the latest configuration expanded.
 */
export function namesExpandedOutside(server: string): string[] {
  const own = referencedBy.get(server);
  return [...expandedNames].filter((name) => own?.has(name) !== true);
}
