import type { ArgumentRepair, CallMeta, RepairKind } from './types.js';

/**
 * The call log keeps a call's meta as one JSON text, at most META_MAX_BYTES of UTF-8. Every
 * part of it comes from outside (a client's name, a model's query, a model's arguments), so
 * each part has a budget of its own and the whole a budget too: a hostile call costs the log a
 * few KB, never its own size.
 */
export const META_MAX_BYTES = 4_096;

/** Budgets for the parts, in bytes of their JSON. */
const CLIENT_BYTES = 256;
const QUERY_BYTES = 1_024;
/** A search answers 10 tools at most, and a tool's name is at most 64 characters. */
const FOUND_MAX = 10;
const NAME_BYTES = 64;
const PATH_BYTES = 512;
const VALUE_BYTES = 256;

const VIAS: ReadonlySet<unknown> = new Set(['api', 'mcp', 'router']);
const KINDS: ReadonlySet<unknown> = new Set<RepairKind>([
  'rename',
  'prefix',
  'number',
  'integer',
  'boolean',
  'wrap',
]);

const jsonBytes = (text: string): number => Buffer.byteLength(text);

/**
 * `text` if its JSON fits `maxBytes`, else its longest prefix that fits with an ellipsis after
 * it. A surrogate pair is never split (the half left would not be valid UTF-8 on the way out).
 */
export function cutString(text: string, maxBytes: number): string {
  if (jsonBytes(JSON.stringify(text)) <= maxBytes) return text;
  // A character is at most 6 bytes of JSON (\u0000), so the first length tried is already
  // close; the loop shortens until the cut fits.
  let length = Math.min(text.length, maxBytes);
  for (;;) {
    let end = length;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1;
    const cut = `${text.slice(0, end)}…`;
    if (end <= 0 || jsonBytes(JSON.stringify(cut)) <= maxBytes) return end <= 0 ? '…' : cut;
    length = Math.floor(length * 0.75);
  }
}

/** A repair's value as logged: itself when small, else `{ $cut: bytes }` (its size as JSON). */
function boundValue(value: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // Cyclic or BigInt: not something JSON arguments can hold, so say so rather than guess.
    return { $cut: null };
  }
  if (text === undefined) return null;
  const bytes = jsonBytes(text);
  return bytes <= VALUE_BYTES ? value : { $cut: bytes };
}

function boundRepair(repair: ArgumentRepair): ArgumentRepair | undefined {
  if (repair === null || typeof repair !== 'object' || !KINDS.has(repair.kind)) return undefined;
  return {
    path: cutString(String(repair.path), PATH_BYTES),
    kind: repair.kind,
    before: boundValue(repair.before),
    after: boundValue(repair.after),
  };
}

/**
 * The meta as the log keeps it: unknown `via`s and repair kinds left out, strings cut, big
 * values replaced, and repairs kept in order while the whole fits META_MAX_BYTES; the rest are
 * counted in `repairsOmitted`. Undefined when nothing is left to say. Idempotent.
 */
export function boundCallMeta(meta: CallMeta | null | undefined): CallMeta | undefined {
  if (meta === null || typeof meta !== 'object') return undefined;
  const out: CallMeta = {};
  if (VIAS.has(meta.via)) out.via = meta.via;
  if (typeof meta.client === 'string') out.client = cutString(meta.client, CLIENT_BYTES);
  if (typeof meta.query === 'string') out.query = cutString(meta.query, QUERY_BYTES);
  if (Array.isArray(meta.found)) {
    out.found = meta.found
      .filter((name): name is string => typeof name === 'string')
      .slice(0, FOUND_MAX)
      .map((name) => cutString(name, NAME_BYTES));
  }

  let omitted =
    Number.isSafeInteger(meta.repairsOmitted) && meta.repairsOmitted! > 0
      ? meta.repairsOmitted!
      : 0;
  const given = Array.isArray(meta.repairs) ? meta.repairs : [];
  const kept: ArgumentRepair[] = [];
  // Room for the keys that may still be added, and the largest count they may carry.
  let used = jsonBytes(JSON.stringify(out)) + ',"repairs":[]'.length + ',"repairsOmitted":'.length;
  used += String(Number.MAX_SAFE_INTEGER).length;
  for (let i = 0; i < given.length; i++) {
    const repair = boundRepair(given[i]!);
    if (repair === undefined) {
      omitted += 1;
      continue;
    }
    const size = jsonBytes(JSON.stringify(repair)) + 1;
    if (used + size > META_MAX_BYTES) {
      omitted += given.length - i;
      break;
    }
    used += size;
    kept.push(repair);
  }
  if (kept.length > 0) out.repairs = kept;
  if (omitted > 0) out.repairsOmitted = Math.min(omitted, Number.MAX_SAFE_INTEGER);
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The `meta` column's text: the bounded meta as JSON, or null. */
export function metaText(meta: CallMeta | undefined): string | null {
  const bounded = boundCallMeta(meta);
  return bounded === undefined ? null : JSON.stringify(bounded);
}
