import { parse, printParseErrorCode, visit } from 'jsonc-parser';
import type { ParseError } from 'jsonc-parser';
import type { IssueList } from './errors.js';

/**
 * Parse JSONC (comments, trailing commas) and report problems by `line:column`, which is what a
 * person needs to find a missing comma. Duplicate keys are reported too: JSON.parse keeps the last
 * one silently, so a copy-pasted server block would quietly replace another; so is `__proto__`.
 */
export function parseJsonc(text: string, issues: IssueList): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  // The parser can report the same error twice at the end of a truncated file.
  const seen = new Set<string>();
  for (const error of errors) {
    const at = lineColumn(text, error.offset);
    const message = `syntax error: ${describe(error.error)}`;
    if (seen.has(`${at} ${message}`)) continue;
    seen.add(`${at} ${message}`);
    issues.add(at, message);
  }
  if (errors.length === 0) findDuplicateKeys(text, issues);
  return value;
}

function findDuplicateKeys(text: string, issues: IssueList): void {
  const open: Map<string, number>[] = [];
  visit(text, {
    onObjectBegin: () => {
      open.push(new Map());
    },
    onObjectEnd: () => {
      open.pop();
    },
    onObjectProperty: (property, _offset, _length, startLine, _startCharacter, pathSupplier) => {
      // The parser stores a `__proto__` key by assignment, which replaces the object's prototype
      // instead of adding the key: the entry would vanish, or leak into every lookup of its
      // neighbours. No config has a use for it, so it is refused by name.
      if (property === '__proto__') {
        issues.add([...pathSupplier(), property], 'is not allowed as a key');
        return;
      }
      const seen = open[open.length - 1];
      if (seen === undefined) return;
      const firstLine = seen.get(property);
      if (firstLine === undefined) seen.set(property, startLine + 1);
      else issues.add([...pathSupplier(), property], `defined twice (first on line ${firstLine})`);
    },
  });
}

/** 1-based `line:column` of a character offset, counting \r\n as one line break. */
export function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return `${line}:${offset - lineStart + 1}`;
}

/** `CommaExpected` → `comma expected`. */
function describe(code: Parameters<typeof printParseErrorCode>[0]): string {
  return printParseErrorCode(code)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
