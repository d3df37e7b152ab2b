/**
 * Property names as argument repair compares them: case and the `_`/`-` between words do not
 * count, so `userName`, `user_name`, `user-name` and `USER_NAME` are one name. Separators at
 * either end do count: `_id` is not `id` (a different field in many tools), so they are kept.
 */
export function nameKey(name: string): string {
  let start = 0;
  while (start < name.length && isSeparator(name.charCodeAt(start))) start++;
  let end = name.length;
  while (end > start && isSeparator(name.charCodeAt(end - 1))) end--;
  const core = name.slice(start, end).replace(/[_-]+/g, '').toLowerCase();
  return name.slice(0, start) + core + name.slice(end);
}

function isSeparator(code: number): boolean {
  return code === 0x5f /* _ */ || code === 0x2d; /* - */
}

/** One reference token of a JSON Pointer (RFC 6901): `~` and `/` escaped, in that order. */
export function pointerToken(token: string): string {
  if (!token.includes('~') && !token.includes('/')) return token;
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
