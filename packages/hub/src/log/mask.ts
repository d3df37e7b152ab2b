import { isCredentialName, mask, redact } from './redact.js';

/**
 * Masking for values shown whole, as a person reads them: a config file's values
 * (`tether config get`) and a server's command line (`target` in http/views.ts, which the API,
 * the dashboard and `tether server list` show). Both must hide the same things the same way,
 * so the rule lives here, below both the CLI and the API.
 */

const REFERENCE = /\$\{[^}]*\}/g;
const SCHEME = /^\s*(?:bearer|basic|token)\s*/i;
/** `--name` or `--name=value` in a list of arguments. */
const FLAG = /^--?([A-Za-z][\w.-]*)(?:=(.*))?$/s;

/**
 * A value with its credentials masked: tokens in URLs, credential query parameters, values under
 * credential names (headers, env), `key=value` pairs, and in a list of arguments the value of
 * `--api-key VALUE` and `--api-key=VALUE`. A `${VAR}` reference is shown as written: the secret
 * is in the environment, not in the value. `key` is the name the value sits under, if any.
 *
 * A list is masked as a whole because an item's meaning can come from its neighbour (the flag
 * before it): a caller that shows one item of a list masks the list and takes the item from the
 * masked copy (`maskedAt`).
 */
export function maskSecrets(value: unknown, key?: string | number): unknown {
  if (Array.isArray(value))
    return value.map((item: unknown, i) => {
      // A command line's `--api-key VALUE` and `--api-key=VALUE`: the flag names the value.
      const flag = FLAG.exec(String(value[i - 1] ?? ''));
      if (typeof item === 'string' && flag && !flag[2] && isCredentialName(flag[1]!))
        return maskSecrets(item, flag[1]);
      const glued = typeof item === 'string' ? FLAG.exec(item) : null;
      if (typeof item === 'string' && glued?.[2] !== undefined && isCredentialName(glued[1]!))
        return `${item.slice(0, item.length - glued[2].length)}${String(maskSecrets(glued[2], glued[1]))}`;
      return maskSecrets(item, key);
    });
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  if (typeof value !== 'string') return value;
  const credential = typeof key === 'string' && isCredentialName(key);
  const literal = value.replace(REFERENCE, '');
  if (literal !== value) {
    const rest = credential ? literal.replace(SCHEME, '').trim() : literal;
    if (credential ? rest === '' : redact(rest) === rest) return value;
  }
  const redacted = redact(value);
  if (redacted !== value || !credential || value === '') return redacted;
  return mask(value);
}

/**
 * The values of credential flags in a command line (`--api-key VALUE`, `--token=VALUE`): the
 * upstream registers them with the redactor, since a server that fails often prints its own
 * arguments on stderr, which the API, the dashboard and the logs show.
 */
export function credentialsInArgs(args: readonly string[]): string[] {
  const found: string[] = [];
  args.forEach((arg, i) => {
    const glued = FLAG.exec(arg);
    if (glued?.[2] !== undefined && isCredentialName(glued[1]!)) found.push(glued[2]);
    const flag = FLAG.exec(args[i - 1] ?? '');
    if (flag && !flag[2] && isCredentialName(flag[1]!) && !arg.startsWith('-')) found.push(arg);
  });
  return found;
}

/**
 * The value at `path` inside `root`, as it reads in `maskSecrets(root)`: every container on the
 * way is masked with its neighbours in view, so `args[2]` is masked when `args[1]` is
 * `--api-key`, and `env.API_KEY[0]` when its list sits under a credential name. Undefined when
 * the path leads nowhere.
 */
export function maskedAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = maskSecrets(root);
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment))
      return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** A command line, as safe to show as `maskSecrets` makes its arguments. */
export function maskCommandLine(command: string, args: readonly string[]): string {
  return (maskSecrets([command, ...args]) as string[]).join(' ');
}
