/**
 * Words of tool names, descriptions and queries, as the finder (finder/index.ts) counts them.
 *
 * Latin text is split at anything not a letter or digit and inside camelCase and snake_case
 * names (`getWeatherForecast`, `get_weather` → get, weather, forecast), lower-cased, stripped of
 * a few words every sentence has, and cut to a crude stem so that "lights" finds "light" and
 * "scheduled" finds "schedule". Chinese, Japanese and Korean text has no spaces: every
 * character is a term and so is every pair of neighbours (character bigrams), which finds the
 * words of a query whatever the words of a description are — docs/architecture.md says why
 * this and not a dictionary segmenter. No synonyms: a query finds a tool only through words the
 * tool's own text has, in the language it has them.
 */

/** Han, kana and hangul: scripts written without spaces between words. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || // CJK unified ideographs
    (cp >= 0x3400 && cp <= 0x4dbf) || // extension A
    (cp >= 0x20000 && cp <= 0x3ffff) || // extensions B and later
    (cp >= 0xf900 && cp <= 0xfaff) || // compatibility ideographs
    (cp >= 0x3040 && cp <= 0x30ff) || // hiragana, katakana
    (cp >= 0x31f0 && cp <= 0x31ff) || // katakana extensions
    (cp >= 0xac00 && cp <= 0xd7af) || // hangul syllables
    (cp >= 0x1100 && cp <= 0x11ff) || // hangul jamo
    (cp >= 0x3130 && cp <= 0x318f) // hangul compatibility jamo
  );
}

/**
 * Letters and digits of other scripts, looked up once per character: a Unicode property
 * regular expression over every character of 200 descriptions cost more than the rest of
 * building the index.
 */
const otherWordChars = new Map<number, boolean>();
function isWordChar(cp: number, ch: string): boolean {
  if (cp < 128) return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122);
  let known = otherWordChars.get(cp);
  if (known === undefined) {
    known = /[\p{L}\p{N}]/u.test(ch);
    if (otherWordChars.size < 10_000) otherWordChars.set(cp, known);
  }
  return known;
}

/** Words so common in requests and descriptions that they say nothing about the tool. */
const STOP_WORDS = new Set(
  (
    'a an the of to for in at by with from and or is are be been it its this that these those ' +
    'my me i you your we our please can could would should will what whats how do does did ' +
    'some any as s t into about which who when where there here just than then so'
  ).split(' '),
);

/**
 * Particles that end a word: never a term, and no bigram spans them (的 in 客厅的灯 joins no
 * word, so 厅的 and 的灯 would only be noise).
 */
const PARTICLES = new Set([...'的了吗呢吧啊呀么嘛哦呗着过']);

/** Characters too common to be a term alone; they still count inside bigrams (帮我, 一下). */
const COMMON_CHARS = new Set([...'我你他她它们是在有个这那请帮把给要就都也和与或一不']);

/** "news", "status" and the like end in s without being plurals. */
const KEEP_S = new Set(['news', 'status', 'series', 'always', 'gps', 'sms', 'dns', 'bus', 'plus']);

/** A crude English stem: enough that the forms of one word meet, not a linguist's root. */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w) && !KEEP_S.has(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length > 4) w = undouble(w.slice(0, -2));
  // schedule / scheduled, create / created: both sides lose the e.
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  return /([b-df-hj-np-tv-z])\1$/.test(w) && !/(ll|ss|zz)$/.test(w) ? w.slice(0, -1) : w;
}

/** Splits `getWeatherForecast`, `HTTPServer`, `get_weather` into their words. */
function latinWords(run: string): string[] {
  return run
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(' ')
    .filter((w) => w !== '');
}

/**
 * The terms of a text, in order, repeats kept (term frequency counts). Numbers alone are left
 * out: in a request they are the arguments ("21 degrees", "7 点"), not what the tool is for.
 */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  let run = '';
  let cjk = false;
  const flush = () => {
    if (run === '') return;
    if (cjk) cjkTerms(run, terms);
    else
      for (const word of latinWords(run)) {
        if (/^\d+$/.test(word) || STOP_WORDS.has(word)) continue;
        terms.push(stem(word));
      }
    run = '';
  };
  // Runs of CJK characters and runs of other letters and digits (`26度` is `26`, then `度`);
  // anything else, `_` and `.` included, ends a run, so snake_case and dotted names split.
  // NFKC first: full-width letters and digits (ＡＢＣ１２３), common in Chinese text, become plain.
  for (const ch of text.normalize('NFKC')) {
    const cp = ch.codePointAt(0)!;
    const kind = isCjk(cp) ? 'cjk' : isWordChar(cp, ch) ? 'word' : undefined;
    if (kind === undefined || (kind === 'cjk') !== cjk) flush();
    if (kind === undefined) continue;
    cjk = kind === 'cjk';
    run += ch;
  }
  flush();
  return terms;
}

function cjkTerms(run: string, terms: string[]): void {
  const chars = [...run];
  let start = 0;
  for (let i = 0; i <= chars.length; i++) {
    if (i < chars.length && !PARTICLES.has(chars[i]!)) continue;
    const word = chars.slice(start, i);
    for (let j = 0; j < word.length; j++) {
      if (!COMMON_CHARS.has(word[j]!)) terms.push(word[j]!);
      if (j + 1 < word.length) terms.push(word[j]! + word[j + 1]!);
    }
    start = i + 1;
  }
}

/** A single CJK character: a term, but a weaker sign than a pair or a whole Latin word. */
export function isCjkChar(term: string): boolean {
  const cp = term.codePointAt(0)!;
  return term.length === String.fromCodePoint(cp).length && isCjk(cp);
}
