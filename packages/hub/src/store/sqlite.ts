import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { toStoreError } from './errors.js';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

/** How long a write waits for another process's lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

export interface SqliteOptions {
  /** The database file, or ':memory:'. Default `${home}/tether.db`. */
  file?: string;
  /** Default `$TETHER_HOME`, else `~/.tether`; created owner-only, since it holds endpoint URLs. */
  home?: string;
  now?: () => number;
}

export function sqlitePath(options: SqliteOptions): string {
  if (options.file !== undefined) return options.file;
  const home = options.home ?? process.env.TETHER_HOME ?? join(homedir(), '.tether');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return join(home, 'tether.db');
}

export function openSqlite(options: SqliteOptions): Store {
  let path = options.file ?? '(default)';
  try {
    path = sqlitePath(options);
    const database = new BetterSqlite3(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      // WAL lets readers (the dashboard) run beside the writer; with WAL, NORMAL only risks the
      // last transactions on power loss, never corruption, and a killed process loses nothing.
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      database.pragma('foreign_keys = ON');
    } catch (error) {
      database.close();
      throw error;
    }
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    return createKyselyStore(db, 'sqlite', { now: options.now });
  } catch (error) {
    throw toStoreError(error, `opening SQLite database ${path}`);
  }
}
