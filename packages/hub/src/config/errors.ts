/** One thing wrong with a configuration, located as precisely as we can. */
export interface ConfigIssue {
  /** The file it was read from; absent for the environment (MCP_ENDPOINT). */
  file?: string;
  /** A JSON path such as `endpoints[0].url`, `line:column` for syntax errors, or `(root)`. */
  path: string;
  message: string;
}

/** Path of the document itself, for problems that belong to no key. */
export const ROOT = '(root)';

/**
 * The user's fault: the configuration cannot be used as written. Carries every issue found,
 * so one edit-and-retry round fixes them all.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.file === undefined
    ? `${issue.path}: ${issue.message}`
    : `${issue.file}: ${issue.path}: ${issue.message}`;
}

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['mcpServers', 'calc', 'args', 0]` → `mcpServers.calc.args[0]`; odd keys are quoted. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? ROOT : out;
}

/** Collects issues for one source; the loader throws once, with all of them, at the end. */
export class IssueList {
  readonly items: ConfigIssue[] = [];

  constructor(readonly file?: string) {}

  add(path: readonly PathSegment[] | string, message: string): void {
    const at = typeof path === 'string' ? path : formatPath(path);
    this.items.push(
      this.file === undefined ? { path: at, message } : { file: this.file, path: at, message },
    );
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  throwIfAny(): void {
    if (this.items.length > 0) throw new ConfigError(this.items);
  }
}
