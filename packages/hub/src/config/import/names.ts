import { createHash } from 'node:crypto';

/** What the API and dashboard accept as a server name (packages/protocol, ServerInputSchema). */
const VALID = /^[A-Za-z0-9_-]{1,64}$/;
/** Readable names stay short: the name begins every served tool name, which is at most 64. */
const MAX = 32;
const HAN = /\p{Script=Han}/u;

/** Chinese characters → pinyin syllables, one per character; other text passes through. */
export type Transliterate = (text: string) => string[];

/**
 * pinyin-pro is only needed when a name holds Chinese characters, and only in `tether import`,
 * so it is loaded here and not by anything the hub imports at start-up.
 */
export async function transliteratorFor(
  names: Iterable<string>,
): Promise<Transliterate | undefined> {
  if (![...names].some((name) => HAN.test(name))) return undefined;
  const { pinyin } = await import('pinyin-pro');
  return (text) => pinyin(text, { toneType: 'none', type: 'array', nonZh: 'consecutive' });
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 6);
}

/**
 * A readable ASCII form of a name: Chinese as pinyin with the syllables of a word run together
 * (`高德 地图` → `gaode_ditu`), accented Latin letters without their accents, everything else
 * that cannot be part of a name as `_`. Empty when nothing readable is left (Cyrillic, kana,
 * emoji).
 */
export function asciiForm(name: string, transliterate?: Transliterate): string {
  const text = name.slice(0, 4 * MAX);
  let out = '';
  let inHan = false;
  for (const piece of pieces(text, transliterate)) {
    if (piece.han) {
      if (!inHan && out !== '') out += '_';
      out += piece.text.toLowerCase();
    } else {
      if (inHan) out += '_';
      out += piece.text.normalize('NFKD').replace(/\p{M}/gu, '');
    }
    inHan = piece.han;
  }
  return (
    out
      .replace(/[^A-Za-z0-9_-]+/g, '_')
      // A word break next to a hyphen is the hyphen (`天气-v2` is `tianqi-v2`, not `tianqi_-v2`).
      .replace(/[_-]*-[_-]*/g, '-')
      .replace(/_{2,}/g, '_')
      .replace(/^[_-]+/, '')
      .slice(0, MAX)
      .replace(/[_-]+$/, '')
  );
}

/** The text in runs of Han characters (as pinyin syllables) and runs of anything else. */
function pieces(
  text: string,
  transliterate?: Transliterate,
): Array<{ han: boolean; text: string }> {
  const chars = [...text];
  if (transliterate === undefined || !HAN.test(text)) return [{ han: false, text }];
  // pinyin-pro reads polyphonic characters in context (重庆 is chong qing), so the whole text
  // goes in at once; with `nonZh: 'consecutive'` it answers one syllable per Chinese character
  // and one item per run of other characters, which lines up with the runs below.
  const syllables = transliterate(text);
  const out: Array<{ han: boolean; text: string }> = [];
  let i = 0;
  for (let c = 0; c < chars.length;) {
    const han = HAN.test(chars[c]!);
    let end = c + 1;
    if (!han) while (end < chars.length && !HAN.test(chars[end]!)) end++;
    const item = syllables[i++];
    out.push({ han, text: han && item !== undefined ? item : chars.slice(c, end).join('') });
    c = end;
  }
  return i === syllables.length ? out : [{ han: false, text }];
}

/**
 * Tether names for the servers of an imported file, by their name there. A name the API would
 * accept stays as it is. Any other gets its readable ASCII form, or `server_<hash>` when it has
 * none. When a new name would be taken twice, or is already a name in the file, each server
 * that was renamed into it gets a suffix from a hash of its own original name — never "the
 * first one keeps it" — so a name does not depend on the order of the file (the catalog's rule
 * for tool names, catalog/names.ts).
 */
export function tetherNames(
  names: readonly string[],
  transliterate?: Transliterate,
): Map<string, string> {
  const out = new Map<string, string>();
  const kept = new Set(names.filter((name) => VALID.test(name)));
  const wanted = new Map<string, string>();
  for (const name of names) {
    if (kept.has(name)) out.set(name, name);
    else wanted.set(name, asciiForm(name, transliterate) || `server_${hash(name)}`);
  }
  const counts = new Map<string, number>();
  for (const base of wanted.values()) counts.set(base, (counts.get(base) ?? 0) + 1);
  const taken = new Set(kept);
  for (const [name, base] of wanted) {
    let candidate = base;
    if (counts.get(base)! > 1 || kept.has(base)) candidate = `${base.slice(0, MAX)}_${hash(name)}`;
    // Two hashes alike, or a hashed name already in the file: astronomically rare, still unique.
    for (let n = 2; taken.has(candidate); n++)
      candidate = `${base.slice(0, MAX)}_${hash(name)}_${n}`;
    taken.add(candidate);
    out.set(name, candidate);
  }
  return out;
}

/**
 * A name from the file, for a note: at most 64 characters, and quoted with control characters
 * escaped unless it is plainly a word (a key like `connection`).
 */
export function shown(text: string, quote = false): string {
  const cut = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return !quote && /^[\p{L}\p{N}_.()-][\p{L}\p{N} _.()-]*$/u.test(cut) ? cut : JSON.stringify(cut);
}
