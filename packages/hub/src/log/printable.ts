/**
 * Terminal-safe text, shared by the CLI's printers and the pretty logger (docs/security.md,
 * "Terminal output").
 */
/* eslint-disable no-control-regex -- matching control characters is the point */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, but newlines, tabs and CRLF pass: for text that is meant to span lines. */
const UNSAFE_IN_LINES =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;
/* eslint-enable no-control-regex */

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escape = (char: string) => {
  const short = SHORT[char];
  if (short) return short;
  const code = char.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * Text from the network, made safe for a terminal. Control characters (C0, newline and tab
 * included, DEL, C1) can clear the screen, move the cursor or retitle the window; bidi overrides
 * and isolates make text read differently from what it is; line separators forge new lines.
 * Each is shown as a visible escape (`\x1b`, `\n`, `\u202e`); all other text, Chinese
 * included, stays as it is. `lines` keeps newlines, tabs and CRLF, for text meant to span lines
 * (a tool's answer). Every printer of the CLI and the pretty logger go through this function.
 */
export function printable(text: string, options: { lines?: boolean } = {}): string {
  return text.replace(options.lines ? UNSAFE_IN_LINES : UNSAFE, escape);
}
