import { formatPath } from './errors.js';
import type { IssueList, PathSegment } from './errors.js';

// `${NAME}`, `${NAME:-default}`, and `$${…}` for a literal `${…}` (URLs and shell snippets).
const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const INNER = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Expand environment references in every string value (keys stay as written). Runs after
 * parsing, so a value can never break the JSON around it. Returns the expanded document and the
 * paths that failed, so validation does not pile a second, confusing issue on the same spot.
 */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  issues: IssueList,
): { value: unknown; failed: Set<string> } {
  const failed = new Set<string>();
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
  return { value: walk(value, []), failed };
}
