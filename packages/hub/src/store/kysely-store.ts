import { sql } from './kysely.js';
import type { Kysely } from 'kysely';
import { channelsRepo } from './channels.js';
import { overlaysRepo } from './overlays.js';
import { endpointsRepo } from './endpoints.js';
import { StoreError, toStoreError } from './errors.js';
import { timelineRepo, toolCallsRepo } from './history.js';
import type { AppendCalls } from './history.js';
import { runMigrations, schemaIsCurrent } from './migrations.js';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';
import { serversRepo } from './servers.js';
import { statusRepo } from './status.js';
import { kyselyStatusBatch } from './status-batch.js';
import type { WriteStatusBatch } from './status-batch.js';
import type { Store } from './types.js';

export interface KyselyStoreOptions {
  /** PostgreSQL only: the schema on the search_path, where the tables live. */
  schema?: string;
  now?: () => number;
  /** The status mirror's batch writer; default multi-row statements through Kysely. */
  statusBatch?: WriteStatusBatch;
  /** The call log's batch writer; likewise. */
  appendCalls?: AppendCalls;
}

/** One Store over either dialect: the repositories write SQL both SQLite and PostgreSQL accept. */
export function createKyselyStore(
  db: Kysely<Database>,
  dialect: Dialect,
  options: KyselyStoreOptions = {},
): Store {
  const now = options.now ?? Date.now;
  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new StoreError('STORE_UNAVAILABLE', 'the store is closed');
  };
  const wrap = <T extends object>(area: string, methods: T) => guard(area, methods, ensureOpen);

  return {
    kind: dialect,
    migrate: wrap('store', {
      async migrate() {
        const schema = await migrationSchema(db, dialect, options.schema);
        // A restart on a current schema costs one read, not the migrator's lock and transaction.
        if (await schemaIsCurrent(db, dialect, schema)) return;
        await runMigrations(db, dialect, schema);
      },
    }).migrate,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.destroy();
      } catch (error) {
        throw toStoreError(error, 'store.close');
      }
    },
    endpoints: wrap('endpoints', endpointsRepo(db, now)),
    servers: wrap('servers', serversRepo(db, now)),
    status: wrap(
      'status',
      statusRepo(db, now, options.statusBatch ?? kyselyStatusBatch(db, dialect)),
    ),
    timeline: wrap('timeline', timelineRepo(db)),
    toolCalls: wrap('toolCalls', toolCallsRepo(db, now, options.appendCalls)),
    channels: wrap('channels', channelsRepo(db, now)),
    overlays: wrap('overlays', overlaysRepo(db, now)),
  };
}

/** Every method of `methods`, refusing after close and turning driver errors into StoreErrors. */
function guard<T extends object>(area: string, methods: T, ensureOpen: () => void): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(methods)) {
    const call = method as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = async (...args: unknown[]) => {
      ensureOpen();
      try {
        return await call(...args);
      } catch (error) {
        throw toStoreError(error, `${area}.${name}`);
      }
    };
  }
  return guarded as T;
}

/** PostgreSQL's migration bookkeeping must name its schema (see runMigrations). */
async function migrationSchema(
  db: Kysely<Database>,
  dialect: Dialect,
  schema: string | undefined,
): Promise<string | undefined> {
  if (dialect !== 'postgres' || schema !== undefined) return schema;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
    db,
  );
  return rows[0]?.schema ?? 'public';
}
