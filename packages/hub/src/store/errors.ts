/**
 * Local errors of the store, by audience:
 * - STORE_UNAVAILABLE: operational (database down, disk full, busy, closed); retrying may help.
 * - STORE_CONFLICT: the write clashes with what is stored (a unique key, an API row that a
 *   provisioned row would overwrite, a serialization failure).
 * - STORE_INVALID: the caller's fault (a bad page limit, a value the column cannot hold).
 */
export type StoreErrorCode = 'STORE_UNAVAILABLE' | 'STORE_CONFLICT' | 'STORE_INVALID';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}

/** The one mapper from what better-sqlite3, pg or Kysely throw to a StoreError. */
export function toStoreError(error: unknown, doing: string): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError(classify(error), `${doing}: ${message}`, { cause: error });
}

function classify(error: unknown): StoreErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return classifySqlite(code);
  // A five-character code is a PostgreSQL SQLSTATE; node's own codes (ECONNREFUSED…) are not.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return classifySqlState(code);
  // better-sqlite3 refuses values it cannot bind (booleans, objects) with a TypeError or a
  // RangeError, but also reports a closed handle as a TypeError.
  if (error instanceof RangeError) return 'STORE_INVALID';
  if (error instanceof TypeError && /bind/i.test(error.message)) return 'STORE_INVALID';
  return 'STORE_UNAVAILABLE';
}

function classifySqlite(code: string): StoreErrorCode {
  if (code === 'SQLITE_CONSTRAINT_NOTNULL' || code === 'SQLITE_CONSTRAINT_CHECK') {
    return 'STORE_INVALID';
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) return 'STORE_CONFLICT';
  if (code === 'SQLITE_MISMATCH' || code === 'SQLITE_RANGE' || code === 'SQLITE_TOOBIG') {
    return 'STORE_INVALID';
  }
  // BUSY, LOCKED, IOERR, FULL, CANTOPEN, READONLY, CORRUPT: the database, not the caller.
  return 'STORE_UNAVAILABLE';
}

function classifySqlState(code: string): StoreErrorCode {
  if (code === '23502' || code === '23514') return 'STORE_INVALID'; // not null, check
  const family = code.slice(0, 2);
  if (family === '23' || family === '40') return 'STORE_CONFLICT'; // integrity, rollback
  if (family === '22') return 'STORE_INVALID'; // data exception: a value out of range
  // 08 connection, 53 resources, 57 shutdown, 42 missing table (not migrated)…
  return 'STORE_UNAVAILABLE';
}
