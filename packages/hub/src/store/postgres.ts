import { Kysely, PostgresDialect, sql } from './kysely.js';
import pg from 'pg';
// The one redactor: a URL's password is masked whether or not the URL parses.
import { redact } from '../log/redact.js';
import { StoreError, toStoreError } from './errors.js';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 15_000;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const INT8_OID = 20;

export interface PostgresOptions {
  databaseUrl: string;
  /** Put on every connection's search_path, so tests (or tenants) can live in their own schema. */
  schema?: string;
  now?: () => number;
}

/**
 * Times and ids are bigint columns, which pg returns as strings to be safe beyond 2^53. Ours
 * are milliseconds and counters, far below that, so this pool reads them as numbers; the
 * parser is per pool, not pg's global registry, so other pg users in the process are unaffected.
 */
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8_OID && format !== 'binary'
    ? (value: string) => Number(value)
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;

export async function openPostgres(options: PostgresOptions): Promise<Store> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StoreError('STORE_INVALID', `not a plain schema name: ${JSON.stringify(schema)}`);
  }
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A database that goes silent (a cut link, not a refusal) fails queries after this rather
    // than holding every write forever; the status mirror keeps and retries what failed.
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    types: { getTypeParser },
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its server emits 'error' on the pool, which would crash the
  // process unhandled. The next query fails on its own and reports STORE_UNAVAILABLE.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // pg connects lazily; fail at open, where the caller can still say "check DATABASE_URL".
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    throw toStoreError(error, `connecting to PostgreSQL at ${redact(options.databaseUrl)}`);
  }
  return createKyselyStore(db, 'postgres', { schema, now: options.now });
}
