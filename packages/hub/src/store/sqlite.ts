import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from './kysely.js';
import { toStoreError } from './errors.js';
import { ownerOnlyDir } from './files.js';
import { sqliteAppendCalls } from './history.js';
import { sqliteStatusBatch } from './status-batch.js';
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
  ownerOnlyDir(home);
  return join(home, 'tether.db');
}

/**
 * The database and its WAL and shared-memory files, owner-only. The file is created 0600 before
 * SQLite opens it, because SQLite gives the -wal and -shm files the mode of the database.
 */
function ownerOnlyFiles(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

export function openSqlite(options: SqliteOptions): Store {
  let path = options.file ?? '(default)';
  try {
    path = sqlitePath(options);
    if (path !== ':memory:' && path !== '') ownerOnlyFiles(path);
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
    // The mirror's batches (status, call log) bypass Kysely's query building: statements prepared once, run on the
    // driver (through Kysely's connection lock).
    const statusBatch = sqliteStatusBatch(db, database);
    const appendCalls = sqliteAppendCalls(db, database);
    return createKyselyStore(db, 'sqlite', { now: options.now, statusBatch, appendCalls });
  } catch (error) {
    throw toStoreError(error, `opening SQLite database ${path}`);
  }
}
