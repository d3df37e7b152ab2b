/** Whether `name` is one of the hub's own secrets; case-blind, as Windows reads names. */
function isHubSecret(name: string): boolean {
  const upper = name.toUpperCase();
  return upper.startsWith('TETHER_') || upper === 'DATABASE_URL' || upper === 'REDIS_URL';
}

/**
 * The environment a stdio server starts with.
 *
 * The rule: the hub's environment (`parent`), minus the hub's own secrets — every `TETHER_*`
 * variable (the admin token, the at-rest key `TETHER_SECRET`, …), `DATABASE_URL` and `REDIS_URL`
 * (the store's and the coordinator's credentials) — plus the server's configured `env` (`own`),
 * which wins. So a server that does need one of those names gets it by naming it in its own
 * `env`, with the configured value; everything else (PATH, HOME, locale, proxies) it inherits.
 *
 * Why: a child can read and leak whatever it is given (a crash report, a debug dump, a
 * compromised package), and none of those values is any use to it.
 */
export function childEnvironment(
  parent: NodeJS.ProcessEnv,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !isHubSecret(name)) env[name] = value;
  }
  return { ...env, ...own };
}
