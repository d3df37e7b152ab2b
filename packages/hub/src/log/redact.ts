/**
 * The one redactor. Every message that may carry a URL or a credential — link causes, upstream
 * errors, timeline reasons, log lines, API answers — passes through `redact()` before it is
 * stored or shown (docs/security.md, "What is redacted where").
 *
 * It works on text, not on parsed URLs, because the messages that leak most are the ones about
 * a URL that could not be parsed (`Invalid URL: ws://exa mple.test/?token=…`): three passes,
 * each safe on its own.
 *   1. values the hub knows to be secret (endpoint tokens, header values, admin token), wherever
 *      they appear;
 *   2. URL-shaped runs: `user:password@` and credential query parameters;
 *   3. loose `key=value` / `key: value` pairs and `Bearer …` whose key names a credential.
 */

/**
 * Words that name a credential even at the end of a longer word (`csrftoken`, `PGPASSWORD`,
 * `oauth`). The one list of credential names: `isCredentialName` and the passes below use it.
 */
const GLUED_WORDS =
  'token|secret|password|passwd|passphrase|pwd|credentials?|cookie|auth|authorization|sessionid|sessid|(?:api|access|private|secret|signing)key';
/** Words that name a credential only as a word of their own: `monkey` and `design` do not. */
const WHOLE_WORDS = 'key|sig|sign|signature|session';
/**
 * After a colon, a name of one word is a credential only if it is one of these: "key: x" and
 * "Invalid credentials: …" are prose. A name of more words (`X-Api-Key:`) always counts.
 */
const COLON_WORDS =
  'token|secret|password|passwd|passphrase|cookie|authorization|(?:api|access|private|secret|signing)key';
const GLUED = new RegExp(`(?:${GLUED_WORDS})$`);
const WHOLE = new RegExp(`^(?:${WHOLE_WORDS})$`);
const COLON_WORD = new RegExp(`(?:${COLON_WORDS})$`);
/** Most names hold none of the words at all: they are answered without being split. */
const NAME_TRIGGER = new RegExp(`${GLUED_WORDS}|${WHOLE_WORDS}`, 'i');
/** Names whose `Name: value` runs to the end of the line, as an HTTP header's does. */
const HEADER_WORD = /^(?:authorization|cookie)$/;
/** Authorization schemes kept in sight before the masked credential (`Authorization: token ***`). */
const SCHEME = /(bearer|basic|token|digest|negotiate|ntlm|dpop|hoba|mutual|aws4-hmac-sha256)\s+/iy;

/** The words of a name: `OPENAI_API_KEY`, `X-Api-Key`, `apiKey`, `db.password`. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/**
 * Whether a name (an env variable, a header, a query parameter, a JSON member, the key of a
 * `key=value` pair) says its value is a credential: one of its words, split at `_`, `-`, `.`
 * and camelCase, is a credential word — `GITHUB_TOKEN`, `X-Api-Key`, `clientSecret`,
 * `PGPASSWORD`, `SECRET_KEY_BASE`, `Authorization`, `Cookie`; not `max_tokens` or `monkey`.
 */
export function isCredentialName(name: string): boolean {
  if (!NAME_TRIGGER.test(name)) return false;
  return wordsOf(name).some((word) => GLUED.test(word) || WHOLE.test(word));
}

/** `Name: value` (unquoted) as a credential: prose says "key: …", programs say "api_key: …". */
function isCredentialAfterColon(name: string): boolean {
  if (!NAME_TRIGGER.test(name)) return false;
  const words = wordsOf(name);
  if (words.length === 1) return COLON_WORD.test(words[0]!);
  return words.some((word) => GLUED.test(word) || WHOLE.test(word));
}

/**
 * A name, optionally quoted (`"password"`, `\"password\"` inside JSON in a string), and its
 * `=` or `:`. The value is read after it; a name that says nothing is skipped without its value,
 * so `x=GITHUB_TOKEN=abc` is still found.
 */
const PAIR = /(?<![\w.-])(\\?["'])?([A-Za-z0-9][\w.-]*)(\\?["'])?(\s*[=:]\s*)/g;
const PLAIN_VALUE = /[^\s&"',;)}\]]+/y;
const QUOTED_VALUE = /(["'])((?:\\.|(?!\1)[^\\\r\n])*)/y;
const ESCAPED_QUOTED_VALUE = /\\(["'])(.*?)(?=\\\1|[\r\n]|$)/y;
const HEADER_VALUE = /[^\r\n"]*/y;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
/**
 * scheme://user:password@ — the password, and anything that looks like one. The password may
 * hold a `/` (`postgres://u:pa/ss@host` does not parse as a URL, and its password would show).
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s@]*@/gi;
const USERINFO_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:([^\s@]*)@/gi;
const URL_RUN = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
/**
 * Nothing below can match a text without one of these, so most log lines skip the passes: a
 * credential name holds a credential word, a URL `://`.
 */
const TRIGGER = new RegExp(`://|bearer|basic|${GLUED_WORDS}|${WHOLE_WORDS}`, 'i');

/** Shorter values are not registered: masking "1" or "dev" everywhere would garble text. */
const MIN_SECRET_LENGTH = 6;
/** Each secret with the number of holders that registered it (two endpoints may share a token). */
const known = new Map<string, number>();
/**
 * The registered secrets by their first MIN_SECRET_LENGTH characters (hashed): the lengths of those
 * that start so, each with how many secrets have it. The text is read once, one lookup a
 * character, so a line costs the same with one secret registered or thousands.
 */
const byPrefix = new Map<number, Map<number, number>>();

/** A number for the MIN_SECRET_LENGTH characters at `at`: a lookup without a string. */
function prefixHash(text: string, at: number): number {
  let hash = 0;
  for (let j = at; j < at + MIN_SECRET_LENGTH; j++)
    hash = (Math.imul(hash, 31) + text.charCodeAt(j)) | 0;
  return hash;
}

/**
 * Registers values that must never be shown (a token from an endpoint URL, a header value, an
 * env value). Returns a function that releases them again; a value is forgotten when its last
 * holder releases it.
 */
export function registerSecrets(values: Iterable<string | undefined>): () => void {
  // An array, not a Set: it holds a URL's one or two secrets for as long as a session lives.
  const added: string[] = [];
  for (const value of values) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || added.includes(value)) continue;
    const holders = known.get(value) ?? 0;
    known.set(value, holders + 1);
    if (holders === 0) index(value, +1);
    added.push(value);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const value of added) {
      const holders = (known.get(value) ?? 1) - 1;
      if (holders > 0) known.set(value, holders);
      else {
        known.delete(value);
        index(value, -1);
      }
    }
  };
}

function index(secret: string, change: 1 | -1): void {
  // Two prefixes may share a hash; their lengths then share an entry, and the lookup still
  // compares the whole secret.
  const prefix = prefixHash(secret, 0);
  const lengths = byPrefix.get(prefix) ?? new Map<number, number>();
  const count = (lengths.get(secret.length) ?? 0) + change;
  if (count > 0) lengths.set(secret.length, count);
  else lengths.delete(secret.length);
  if (lengths.size > 0) byPrefix.set(prefix, lengths);
  else byPrefix.delete(prefix);
}

/**
 * The secrets inside a URL: the password and credential query (and fragment) values, each as
 * written and, where that differs, decoded — a message may quote either. Malformed
 * percent-encoding (`%zz`) is kept as written. A URL that does not parse gives what its text
 * shows: the password of `user:password@` and the values of credential-named pairs.
 */
export function secretsOfUrl(raw: string): string[] {
  const out = credentialPairs(raw).map((pair) => pair.value);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined) {
    for (const m of raw.matchAll(USERINFO_PASSWORD)) out.push(m[1] ?? '');
  } else {
    out.push(url.password);
    for (const params of [url.searchParams, new URLSearchParams(url.hash.slice(1))])
      for (const [key, value] of params) if (isCredentialName(key)) out.push(value);
  }
  const decoded = out.map(decoded1).filter((v) => v !== undefined);
  return [...new Set([...out, ...decoded])].filter((v) => v !== '');
}

function decoded1(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** A message with every credential it may carry masked. Safe for logs, the API and storage. */
export function redact(text: string): string {
  let out = maskKnown(text);
  if (!TRIGGER.test(out)) return out;
  out = out.replace(USERINFO, '$1:***@');
  out = out.replace(URL_RUN, maskUrlRun);
  out = out.replace(BEARER, '$1 ***');
  return maskPairs(out);
}

/** Every registered secret, wherever it appears; overlapping ones are masked as one. */
function maskKnown(text: string): string {
  if (known.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
  let out = '';
  let shown = 0;
  let start = -1;
  let end = -1;
  for (let i = 0; i + MIN_SECRET_LENGTH <= text.length; i++) {
    const lengths = byPrefix.get(prefixHash(text, i));
    if (lengths === undefined) continue;
    let longest = 0;
    for (const length of lengths.keys()) {
      if (length > longest && i + length <= text.length && known.has(text.slice(i, i + length)))
        longest = length;
    }
    if (longest === 0) continue;
    if (start >= 0 && i > end) {
      out += `${text.slice(shown, start)}***`;
      shown = end;
      start = -1;
    }
    if (start < 0) start = i;
    end = Math.max(end, i + longest);
  }
  if (start < 0 && shown === 0) return text;
  if (start >= 0) {
    out += `${text.slice(shown, start)}***`;
    shown = end;
  }
  return out + text.slice(shown);
}

/** A URL inside a message: rewritten only when it holds a credential, so the text reads as it was. */
function maskUrlRun(run: string): string {
  let url: URL;
  try {
    url = new URL(run);
  } catch {
    return run;
  }
  const secret =
    url.password !== '' || [...url.searchParams].some(([k, v]) => v !== '' && isCredentialName(k));
  // In a message nothing of the value is kept: the hint maskUrl gives the API is for a reader
  // who knows which endpoint it is, and a log line goes further.
  return secret ? maskUrlWith(run, () => '***') : run;
}

interface Pair {
  /** Where the value starts and ends in the text. */
  start: number;
  end: number;
  value: string;
  /** The value as shown: `***`, or `token ***` after an Authorization scheme. */
  masked: string;
}

/** The credential-named pairs of a text, in order, each with its value. */
function credentialPairs(text: string): Pair[] {
  const pairs: Pair[] = [];
  const names = new RegExp(PAIR.source, 'g');
  for (let m = names.exec(text); m !== null; m = names.exec(text)) {
    const [whole, open, name = '', close, separator = ''] = m;
    const quoted = open !== undefined || close !== undefined;
    const colon = separator.includes(':');
    const credential = colon && !quoted ? isCredentialAfterColon(name) : isCredentialName(name);
    if (!credential) continue;
    const header = colon && !quoted && HEADER_WORD.test(wordsOf(name).at(-1) ?? '');
    const pair = valueAt(text, m.index + whole.length, header);
    if (pair === undefined) continue;
    pairs.push(pair);
    names.lastIndex = Math.max(pair.end, names.lastIndex);
  }
  return pairs;
}

/** The value that starts at `at`: quoted, the rest of a header line, or a plain run. */
function valueAt(text: string, at: number, header: boolean): Pair | undefined {
  const read = (pattern: RegExp, group = 0) => {
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (m === null) return undefined;
    const value = m[group] ?? '';
    // Each pattern ends where its value does (a closing quote is left in place).
    const start = m.index + m[0].length - value.length;
    return { start, end: start + value.length, value, masked: '***' };
  };
  if (text.startsWith('\\"', at) || text.startsWith("\\'", at))
    return unmasked(read(ESCAPED_QUOTED_VALUE, 2));
  if (text[at] === '"' || text[at] === "'") return unmasked(read(QUOTED_VALUE, 2));
  if (header) {
    SCHEME.lastIndex = at;
    const scheme = SCHEME.exec(text)?.[0] ?? '';
    const pair = read(HEADER_VALUE);
    const rest = pair?.value.slice(scheme.length).trim() ?? '';
    if (pair === undefined || rest === '' || rest.startsWith('***')) return undefined;
    return { ...pair, masked: `${scheme}***` };
  }
  const pair = unmasked(read(PLAIN_VALUE));
  return pair === undefined || /^(Bearer|Basic)$/i.test(pair.value) ? undefined : pair;
}

/** A value worth masking: not empty, and not masked already. */
function unmasked(pair: Pair | undefined): Pair | undefined {
  return pair === undefined || pair.value === '' || pair.value.includes('***') ? undefined : pair;
}

/** Masks the value of every credential-named pair. */
function maskPairs(text: string): string {
  let out = '';
  let shown = 0;
  for (const pair of credentialPairs(text)) {
    out += text.slice(shown, pair.start) + pair.masked;
    shown = pair.end;
  }
  return out + text.slice(shown);
}

/** `redact` for a value that may be absent. */
export function redactNullable(text: string | null | undefined): string | null {
  return text == null ? null : redact(text);
}

/**
 * An endpoint URL with its secrets masked: query parameters that carry credentials (the
 * Xiaozhi `token` above all) and any user:password. Safe for logs, the API and the terminal.
 * A credential keeps a hint (`token=eyJh***`) so a reader can tell two endpoints apart.
 */
export function maskUrl(raw: string): string {
  return maskUrlWith(raw, mask);
}

function maskUrlWith(raw: string, maskValue: (value: string) => string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return maskPairs(raw.replace(USERINFO, '$1:***@'));
  }
  if (url.password) url.password = '***';
  if (url.username && url.password) url.username = url.username.slice(0, 2) + '***';
  for (const [key, value] of url.searchParams) {
    if (isCredentialName(key) && value) url.searchParams.set(key, maskValue(value));
  }
  // An OAuth implicit grant puts its token in the fragment.
  const hash = maskPairs(url.hash);
  if (hash !== url.hash) url.hash = hash;
  // URLSearchParams encodes '*' as-is, so the result reads naturally.
  return url.toString();
}

/** Keeps a hint of the value (its first four characters) and hides the rest. */
export function mask(value: string): string {
  return value.length <= 8 ? '***' : `${value.slice(0, 4)}***`;
}

/** Header values that carry credentials, masked. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, isCredentialName(k) ? mask(v) : v]),
  );
}
