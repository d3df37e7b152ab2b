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

const SECRET_NAMES =
  'token|access_token|refresh_token|id_token|api[_-]?key|apikey|key|secret|client_secret|password|passwd|pwd|auth|authorization|signature|sig|sign|session|cookie';
/** Names that mean a credential even after a colon ("key: x" alone is too common in prose). */
const STRICT_NAMES =
  'token|access_token|refresh_token|api[_-]?key|apikey|secret|client_secret|password|passwd|authorization';
const SECRET_PARAMS = new RegExp(`^(${SECRET_NAMES})$`, 'i');
const VALUE = `([^\\s&"',;)}\\]]+)`;
/** `token=…`, `api_key: …`, `"password":"…"` — the key must stand alone, not end a longer word. */
const LOOSE_PAIR = new RegExp(
  `(^|[^A-Za-z0-9_-])(?:(${SECRET_NAMES})(\\s*=\\s*)|(${STRICT_NAMES})("?\\s*:\\s*"?))${VALUE}`,
  'gi',
);
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
/** scheme://user:password@ — the password, and anything that looks like one. */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/@]*@/gi;
const URL_RUN = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Shorter values are not registered: masking "1" or "dev" everywhere would garble text. */
const MIN_SECRET_LENGTH = 6;
/**
 * Up to this many secrets, each is searched for; past it (thousands of endpoints, each with its
 * token), each word of the text is looked up instead, so a log line costs the same either way.
 * Secrets that a word boundary would cut (a `/` in base64) are always searched for.
 */
const SEARCH_LIMIT = 64;
const WORD = /[^\s"'&?=,;()<>[\]{}@:/\\]+/g;
const CUT_BY_WORDS = /[\s"'&?=,;()<>[\]{}@:/\\]/;
/** Nothing below can match a text without one of these: most log lines skip the passes. */
const TRIGGER = /:\/\/|bearer|basic|token|key|secret|pass|pwd|auth|sig|session|cookie/i;
/** Each secret with the number of holders that registered it (two endpoints may share a token). */
const known = new Map<string, number>();
/** The registered secrets that contain a word delimiter. */
const unsplittable = new Set<string>();

/**
 * Registers values that must never be shown (a token from an endpoint URL, a header value, an
 * env value). Returns a function that releases them again; a value is forgotten when its last
 * holder releases it.
 */
export function registerSecrets(values: Iterable<string | undefined>): () => void {
  const added = new Set<string>();
  for (const value of values) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || added.has(value)) continue;
    known.set(value, (known.get(value) ?? 0) + 1);
    if (CUT_BY_WORDS.test(value)) unsplittable.add(value);
    added.add(value);
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
        unsplittable.delete(value);
      }
    }
  };
}

/** The secrets inside a URL: credential query values and the password. */
export function secretsOfUrl(raw: string): string[] {
  const out: string[] = [];
  try {
    const url = new URL(raw);
    if (url.password) out.push(decodeURIComponent(url.password), url.password);
    for (const [key, value] of url.searchParams) if (SECRET_PARAMS.test(key)) out.push(value);
  } catch {
    for (const m of raw.matchAll(LOOSE_PAIR)) out.push(m[6] ?? '');
  }
  return out.filter((v) => v !== '');
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

function maskKnown(text: string): string {
  if (known.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
  let out = text;
  const search = known.size <= SEARCH_LIMIT ? known.keys() : unsplittable.values();
  for (const secret of search) if (out.includes(secret)) out = out.split(secret).join('***');
  if (known.size > SEARCH_LIMIT)
    out = out.replace(WORD, (word) => (known.has(word) ? '***' : word));
  return out;
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
    url.password !== '' ||
    [...url.searchParams].some(([k, v]) => v !== '' && SECRET_PARAMS.test(k));
  return secret ? maskUrl(run) : run;
}

/** Masks the value of every credential-named pair. */
function maskPairs(text: string): string {
  return text.replace(
    LOOSE_PAIR,
    (whole, lead: string, k1?: string, s1?: string, k2?: string, s2?: string, value = '') => {
      if (value.includes('***') || /^(Bearer|Basic)$/i.test(value)) return whole;
      return `${lead}${k1 ?? k2 ?? ''}${s1 ?? s2 ?? ''}***`;
    },
  );
}

/** `redact` for a value that may be absent. */
export function redactNullable(text: string | null | undefined): string | null {
  return text == null ? null : redact(text);
}

/**
 * An endpoint URL with its secrets masked: query parameters that carry credentials (the
 * Xiaozhi `token` above all) and any user:password. Safe for logs, the API and the terminal.
 */
export function maskUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return maskPairs(raw);
  }
  if (url.password) url.password = '***';
  if (url.username && url.password) url.username = url.username.slice(0, 2) + '***';
  for (const [key, value] of url.searchParams) {
    if (SECRET_PARAMS.test(key) && value) url.searchParams.set(key, mask(value));
  }
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
    Object.entries(headers).map(([k, v]) => [
      k,
      /auth|token|key|secret|cookie/i.test(k) ? mask(v) : v,
    ]),
  );
}
