/**
 * The environment a stdio server starts with. The rule, in full:
 *
 *   the hub's environment
 *   − the hub's own secrets: every `TETHER_*` variable (the admin token, the at-rest key
 *     `TETHER_SECRET`, …), `DATABASE_URL`, `REDIS_URL` and PostgreSQL's `PG*` variables
 *     (`PGPASSWORD`, `PGHOST`, `PGPASSFILE`, `PGSERVICE`, … — the store's, the coordinator's
 *     credentials), and `MCP_ENDPOINT` (the Xiaozhi endpoint URLs, each with its token)
 *   − every variable the configuration expanded with `${NAME}` anywhere but in this server's
 *     own entry (another server's env or headers, an endpoint's URL, a webhook's secret), except
 *     the system's own PATH, HOME, user, shell, locale, time zone and temporary-folder variables
 *   + the server's configured `env`, which wins.
 *
 * So a server that does need one of those names gets it by naming it in its own `env` (with the
 * configured value, `"PGPASSWORD": "${PGPASSWORD}"` for the hub's) or, for an expanded one, by
 * referencing it anywhere in its own entry; everything else (PATH, HOME, locale, proxies) it
 * inherits, because servers launched through `npx`, `uvx` or `docker` need it. Names are
 * compared case-blind, as Windows reads them.
 *
 * Why: a child can read and leak whatever it is given (a crash report, a debug dump, a
 * compromised package), and none of those values is any use to it.
 */
export function childEnvironment(
  parent: NodeJS.ProcessEnv,
  own: Readonly<Record<string, string>>,
  /** Names the configuration expanded outside this server's entry (`namesExpandedOutside`). */
  expandedElsewhere: Iterable<string> = [],
): Record<string, string> {
  const withheld = new Set<string>();
  for (const name of expandedElsewhere) {
    const upper = name.toUpperCase();
    if (!isSystemName(upper)) withheld.add(upper);
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    const upper = name.toUpperCase();
    if (value !== undefined && !isHubSecret(upper) && !withheld.has(upper)) env[name] = value;
  }
  return { ...env, ...own };
}

/** Whether `upper` (an upper-cased name) is one of the hub's own secrets. */
function isHubSecret(upper: string): boolean {
  return (
    upper.startsWith('TETHER_') ||
    upper.startsWith('PG') ||
    upper === 'DATABASE_URL' ||
    upper === 'REDIS_URL' ||
    upper === 'MCP_ENDPOINT'
  );
}

/**
 * What the system sets for every program and no program runs well without; never secrets, so a
 * configuration that writes `"PATH": "/opt/bin:${PATH}"` for one server leaves the others theirs.
 */
const SYSTEM_NAMES = new Set([
  'PATH',
  'PATHEXT',
  'HOME',
  'USER',
  'USERNAME',
  'LOGNAME',
  'SHELL',
  'TERM',
  'PWD',
  'TZ',
  'LANG',
  'LANGUAGE',
  'TMPDIR',
  'TEMP',
  'TMP',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'SYSTEMROOT',
  'WINDIR',
  'COMSPEC',
]);

function isSystemName(upper: string): boolean {
  return SYSTEM_NAMES.has(upper) || upper.startsWith('LC_') || upper.startsWith('XDG_');
}
