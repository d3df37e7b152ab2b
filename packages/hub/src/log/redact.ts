const SECRET_PARAMS =
  /^(token|access_token|api_key|apikey|key|secret|password|auth|signature|sig)$/i;

/**
 * An endpoint URL with its secrets masked: query parameters that carry credentials (the
 * Xiaozhi `token` above all) and any user:password. Safe for logs, the API and the terminal.
 */
export function maskUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.replace(/(token|key|secret|password)=([^&\s]+)/gi, (_m, k: string) => `${k}=***`);
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
