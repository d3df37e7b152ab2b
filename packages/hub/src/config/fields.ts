import type { IssueList, PathSegment } from './errors.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Typed reads of one JSON object. Each read reports a wrong type at the key's own path and
 * returns undefined, so validation carries on and the user sees every issue in one go.
 */
export class Fields {
  private constructor(
    readonly value: Record<string, unknown>,
    readonly path: readonly PathSegment[],
    readonly issues: IssueList,
  ) {}

  /** Undefined (and an issue) when `value` is not an object. */
  static of(value: unknown, path: readonly PathSegment[], issues: IssueList): Fields | undefined {
    if (isRecord(value)) return new Fields(value, path, issues);
    issues.add(path, `must be an object, got ${typeName(value)}`);
    return undefined;
  }

  /** The object under `key`, if present; undefined (with an issue) if it is not an object. */
  child(key: string): Fields | undefined {
    return this.has(key) ? Fields.of(this.value[key], this.at(key), this.issues) : undefined;
  }

  at(key: string): PathSegment[] {
    return [...this.path, key];
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  /** Unknown keys are errors: a typo such as `comand` must not be ignored silently. */
  allowOnly(allowed: readonly string[]): void {
    for (const key of Object.keys(this.value)) {
      if (allowed.includes(key)) continue;
      const guess = closest(key, allowed);
      this.issues.add(
        this.at(key),
        guess === undefined ? 'unknown key' : `unknown key (did you mean "${guess}"?)`,
      );
    }
  }

  issue(key: string | undefined, message: string): void {
    this.issues.add(key === undefined ? this.path : this.at(key), message);
  }

  string(key: string, required = false): string | undefined {
    const value = this.value[key];
    if (value === undefined) {
      if (required) this.issue(key, 'missing');
      return undefined;
    }
    if (typeof value === 'string') return value;
    this.issue(key, `must be a string, got ${typeName(value)}`);
    return undefined;
  }

  boolean(key: string): boolean | undefined {
    const value = this.value[key];
    if (value === undefined || typeof value === 'boolean') return value;
    this.issue(key, `must be true or false, got ${typeName(value)}`);
    return undefined;
  }

  integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.value[key];
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
      return value;
    }
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    this.issue(key, `must be a whole number ${range}, got ${JSON.stringify(value)}`);
    return undefined;
  }

  stringArray(key: string): string[] | undefined {
    const value = this.value[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      this.issue(key, `must be an array of strings, got ${typeName(value)}`);
      return undefined;
    }
    let ok = true;
    value.forEach((item, i) => {
      if (typeof item === 'string') return;
      ok = false;
      this.issues.add([...this.at(key), i], `must be a string, got ${typeName(item)}`);
    });
    return ok ? (value as string[]) : undefined;
  }

  stringRecord(key: string): Record<string, string> | undefined {
    const value = this.value[key];
    if (value === undefined) return undefined;
    if (!isRecord(value)) {
      this.issue(key, `must be an object of strings, got ${typeName(value)}`);
      return undefined;
    }
    let ok = true;
    for (const [name, item] of Object.entries(value)) {
      if (typeof item === 'string') continue;
      ok = false;
      this.issues.add([...this.at(key), name], `must be a string, got ${typeName(item)}`);
    }
    return ok ? { ...(value as Record<string, string>) } : undefined;
  }
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The allowed key a typo most likely meant: same letters ignoring case, or at most 2 edits. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    if (candidate.startsWith('$')) continue;
    const d =
      candidate.toLowerCase() === key.toLowerCase()
        ? 0
        : distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, two rows. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
