// docs/benchmarks.md as bench/run.ts reads and writes it: the head (the title, a paragraph on
// how the table was produced, the main table, notes under it), then "## " sections.
//
// The main table has one row per figure, each tagged with the scenario that produced it and
// with how and when it was measured:
//
//   | scenario | what | result | target | met | measured |
//
// so that a scenario run alone replaces only its own rows, and a full run rewrites them all.
import type { Row } from './lib.js';

export const DOC = new URL('../docs/benchmarks.md', import.meta.url);

export interface TableRow {
  scenario: string;
  what: string;
  result: string;
  target: string;
  met: string;
  measured: string;
}

const COLUMNS = ['scenario', 'what', 'result', 'target', 'met', 'measured'] as const;

export const tableRow = (scenario: string, row: Row, measured: string): TableRow => ({
  scenario,
  what: row.what,
  result: row.result,
  target: row.target,
  met: row.met === undefined ? '—' : row.met ? 'yes' : '**no**',
  measured,
});

/** The head split around its first table; `rows` empty when it has none. */
export function parseHead(head: string): { before: string; rows: TableRow[]; after: string } {
  const lines = head.split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  if (first < 0) return { before: head.trimEnd(), rows: [], after: '' };
  let end = first;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  const [header, , ...body] = lines.slice(first, end);
  const names = cells(header!);
  if (names.join() !== COLUMNS.join())
    throw new Error(
      `bench: the main table of docs/benchmarks.md has the columns ${names.join(', ')}, not ${COLUMNS.join(', ')}; a single scenario cannot tell its rows apart`,
    );
  const rows = body.map((line) => {
    const c = cells(line);
    return {
      scenario: c[0]!.replace(/`/g, ''),
      what: c[1] ?? '',
      result: c[2] ?? '',
      target: c[3] ?? '',
      met: c[4] ?? '',
      measured: c[5] ?? '',
    };
  });
  return {
    before: lines.slice(0, first).join('\n').trimEnd(),
    rows,
    after: lines.slice(end).join('\n').trim(),
  };
}

/** Splits `| a | b \| c |` into ['a', 'b \| c']: escaped pipes stay inside their cell. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|\s?/, '')
    .replace(/\s?\|$/, '')
    .split(/\s(?<!\\)\|\s/)
    .map((cell) => cell.trim());
}

const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/(?<!\\)\|/g, '\\|');

export function renderTable(rows: readonly TableRow[]): string {
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map(
      (r) =>
        `| \`${r.scenario}\` | ${cell(r.what)} | ${cell(r.result)} | ${cell(r.target)} | ${r.met} | ${cell(r.measured)} |`,
    ),
  ].join('\n');
}

/**
 * The rows in scenario order: the fresh rows of each scenario that ran, the old ones of each
 * that did not. Old rows of a scenario no longer in `order` are kept at the end unless `prune`.
 */
export function mergeRows(
  old: readonly TableRow[],
  fresh: ReadonlyMap<string, readonly TableRow[]>,
  order: readonly string[],
  prune: boolean,
): TableRow[] {
  const rows: TableRow[] = [];
  for (const name of order)
    rows.push(...(fresh.get(name) ?? old.filter((r) => r.scenario === name)));
  if (!prune) rows.push(...old.filter((r) => !order.includes(r.scenario)));
  return rows;
}

/** The document split into its head and its "## " sections (each with its heading). */
export function splitDoc(doc: string): { head: string; sections: string[] } {
  const [head = '', ...sections] = doc.split(/^(?=## )/m);
  return { head, sections: sections.map((s) => s.trimEnd()) };
}

export const titleOf = (section: string) => section.slice(3, section.indexOf('\n')).trim();

export function joinDoc(head: string, sections: readonly string[]): string {
  return `${[head.trimEnd(), ...sections.map((s) => s.trimEnd())].join('\n\n')}\n`;
}

/** Replaces the section titled as `section` is, or adds it after `after` (or at the end). */
export function withSection(doc: string, section: string, after?: string): string {
  const { head, sections } = splitDoc(doc);
  const title = titleOf(section);
  const at = sections.findIndex((s) => titleOf(s) === title);
  if (at >= 0) sections[at] = section;
  else {
    const previous = after ? sections.findIndex((s) => titleOf(s) === after) : -1;
    sections.splice(previous >= 0 ? previous + 1 : sections.length, 0, section);
  }
  return joinDoc(head, sections);
}
