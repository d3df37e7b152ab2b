import type { Store } from './types.js';

export type * from './types.js';
export { StoreError, isStoreError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { DEFAULT_LIMIT, MAX_LIMIT } from './paging.js';

export interface OpenStoreOptions {
  /** A postgres:// or postgresql:// URL selects PostgreSQL; anything else, SQLite. */
  databaseUrl?: string;
  /** SQLite: the directory of `tether.db`. Default `$TETHER_HOME`, else `~/.tether`. */
  home?: string;
  /** SQLite: the database file itself, or ':memory:'. Wins over `home`. */
  file?: string;
  /** PostgreSQL: the schema to work in (set as search_path), e.g. a fresh one per test. */
  schema?: string;
  /** The clock for createdAt/updatedAt and defaults; tests pass a fake one. */
  now?: () => number;
}

/** Opens (does not migrate) the store the options point at. Errors are StoreErrors. */
function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const { databaseUrl, schema, now } = options;
  // Each driver is loaded only when it is used: a SQLite hub never pays for pg, and back.
  if (isPostgresUrl(databaseUrl)) {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres({ databaseUrl, schema, now });
  }
  const { openSqlite } = await import('./sqlite.js');
  return openSqlite({ file: options.file, home: options.home, now });
}
export { loadKey, seal, open as openSealed, withEncryptedSecrets } from './secrets.js';
