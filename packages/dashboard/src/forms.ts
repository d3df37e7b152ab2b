/** Parsers for the add/edit forms: plain text in, the API's shapes out. */

/** "a, b\nc" → ["a", "b", "c"]. */
export function list(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One argument per line, kept as typed apart from surrounding blanks. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * "KEY=value" (env) or "Name: value" (headers) lines into a record; the first line that does
 * not fit is reported by its number (1-based).
 */
export function pairs(
  text: string,
  separator: '=' | ':',
): { ok: true; value: Record<string, string> } | { ok: false; line: number } {
  const value: Record<string, string> = {};
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = (all[i] ?? '').trim();
    if (!line) continue;
    const at = line.indexOf(separator);
    const key = at > 0 ? line.slice(0, at).trim() : '';
    if (!key) return { ok: false, line: i + 1 };
    value[key] = line.slice(at + 1).trim();
  }
  return { ok: true, value };
}

/** A command line as the hub shows it ("node calc.js --x") back into command and arguments. */
export function splitCommand(target: string): { command: string; args: string[] } {
  const [command = '', ...args] = target.trim().split(/\s+/);
  return { command, args };
}
