import { Migrator, sql } from './kysely.js';
import type { ColumnDataType, CreateTableBuilder, Kysely, Migration } from 'kysely';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** The few column types the dialects spell differently; everything else is shared. */
interface Spelling {
  bool: ColumnDataType;
  /** An auto-incrementing primary key that paging cursors can trust to grow. */
  serialId<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'>;
}

const SPELLING: Record<Dialect, Spelling> = {
  sqlite: {
    bool: 'integer',
    // AUTOINCREMENT so ids are never reused after the newest rows are pruned.
    serialId: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
  },
  postgres: {
    bool: 'boolean',
    serialId: (table) => table.addColumn('id', 'bigserial', (c) => c.primaryKey()),
  },
};

/**
 * Migrations live in code, not in files beside the build, so the packaged hub runs them from
 * anywhere. Names sort in the order they apply; never edit one that has shipped.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const { bool, serialId } = SPELLING[dialect];
  return {
    '0001_initial': {
      // Kysely<any> is what Migration hands us: a migration must not depend on today's schema.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('endpoints')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('enabled', bool, (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('tools', 'text', (c) => c.notNull())
          .addColumn('servers', 'text')
          .addColumn('overrides', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('servers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('enabled', bool, (c) => c.notNull())
          .addColumn('config', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        // The mirror goes with its endpoint: a removed endpoint must not keep a "ready" row.
        await db.schema
          .createTable('endpoint_status')
          .addColumn('endpoint_id', 'text', (c) =>
            c.primaryKey().references('endpoints.id').onDelete('cascade'),
          )
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('since', 'bigint', (c) => c.notNull())
          .addColumn('last_close_code', 'integer')
          .addColumn('last_close_reason', 'text')
          .addColumn('last_close_at', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_retry_at', 'bigint')
          .addColumn('health', 'double precision')
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('fence', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await serialId(db.schema.createTable('timeline'))
          .addColumn('endpoint_id', 'text', (c) =>
            c.notNull().references('endpoints.id').onDelete('cascade'),
          )
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('from_state', 'text', (c) => c.notNull())
          .addColumn('to_state', 'text', (c) => c.notNull())
          .addColumn('cause', 'text', (c) => c.notNull())
          .addColumn('code', 'integer')
          .addColumn('reason', 'text')
          .addColumn('detected_by', 'text')
          .addColumn('instance', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('timeline_endpoint_id')
          .on('timeline')
          .columns(['endpoint_id', 'id desc'])
          .execute();

        // No foreign key: call history outlives the endpoint and is pruned on its own terms.
        await serialId(db.schema.createTable('tool_calls'))
          .addColumn('endpoint_id', 'text')
          .addColumn('tool', 'text', (c) => c.notNull())
          .addColumn('server', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('duration_ms', 'double precision', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('args_bytes', 'integer', (c) => c.notNull())
          .addColumn('result_bytes', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .execute();
        await db.schema
          .createIndex('tool_calls_endpoint_id')
          .on('tool_calls')
          .columns(['endpoint_id', 'id'])
          .execute();
        await db.schema
          .createIndex('tool_calls_tool')
          .on('tool_calls')
          .columns(['tool', 'id'])
          .execute();
        await db.schema.createIndex('tool_calls_at').on('tool_calls').column('at').execute();

        await db.schema
          .createTable('channels')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('enabled', bool, (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_overlays': {
      // Operator actions (enable/disable, per-endpoint tool toggles) that apply to provisioned
      // and API endpoints alike, and that re-provisioning from the file must not erase.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('overlays')
          .addColumn('endpoint_id', 'text', (c) => c.primaryKey())
          .addColumn('disabled', bool, (c) => c.notNull())
          .addColumn('disabled_tools', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0003_call_meta': {
      // How a call came (API, /mcp, the router) and what argument repair changed, as one
      // bounded JSON text (store/call-meta.ts). Nullable: older rows and plain calls have none.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema.alterTable('tool_calls').addColumn('meta', 'text').execute();
      },
    },
    '0004_uptime_usage': {
      // The uptime strip reads an endpoint's timeline by time (a window and the row before
      // it); the first index orders by id only. Usage counts outlive the pruned call log, and
      // start from what the log holds today.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createIndex('timeline_endpoint_at')
          .on('timeline')
          .columns(['endpoint_id', 'at'])
          .execute();
        await db.schema
          .createTable('tool_usage')
          .addColumn('tool', 'text', (c) => c.primaryKey())
          .addColumn('calls', 'bigint', (c) => c.notNull())
          .addColumn('last_at', 'bigint', (c) => c.notNull())
          .execute();
        await sql`insert into tool_usage (tool, calls, last_at)
          select tool, count(*), max(at) from tool_calls group by tool`.execute(db);
      },
    },
    '0005_tool_hours': {
      // The per-tool figures counted from the call log, which is pruned by rows: at fleet scale
      // its 10,000 rows held minutes, not the day the figures claim. This rollup per tool and
      // hour (store/tool-hours.ts) is bumped with every batch of the log and pruned by age
      // only. Its buckets are spelled out here, not read from tool-hours.ts: a migration
      // must keep making the schema it made when it shipped. Seeded from the log as it is.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        const bounds = [
          1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
          200_000, 500_000, 600_000,
        ];
        let table = db.schema
          .createTable('tool_hours')
          .addColumn('tool', 'text', (c) => c.notNull())
          .addColumn('hour', 'bigint', (c) => c.notNull())
          .addColumn('server', 'text', (c) => c.notNull())
          .addColumn('calls', 'bigint', (c) => c.notNull())
          .addColumn('errors', 'bigint', (c) => c.notNull())
          .addColumn('sum_ms', 'double precision', (c) => c.notNull());
        for (const column of [...bounds.map((b) => `le_${b}`), 'le_inf'])
          table = table.addColumn(column, 'bigint', (c) => c.notNull());
        await table.addPrimaryKeyConstraint('tool_hours_pk', ['tool', 'hour']).execute();
        await db.schema.createIndex('tool_hours_hour').on('tool_hours').column('hour').execute();

        // The same outcomes as FAILED_OUTCOMES and TIMED_OUTCOMES in tool-hours.ts.
        const timed = sql`outcome in ('ok', 'error', 'timeout', 'dropped')`;
        const buckets = [
          ...bounds.map((bound, i) =>
            i === 0
              ? sql`sum(case when ${timed} and duration_ms <= ${sql.lit(bound)} then 1 else 0 end)`
              : sql`sum(case when ${timed} and duration_ms > ${sql.lit(bounds[i - 1])}
                  and duration_ms <= ${sql.lit(bound)} then 1 else 0 end)`,
          ),
          sql`sum(case when ${timed} and duration_ms > ${sql.lit(bounds.at(-1))} then 1 else 0 end)`,
        ];
        const columns = [...bounds.map((b) => `le_${b}`), 'le_inf'].map((c) => sql.ref(c));
        await sql`insert into tool_hours (tool, hour, server, calls, errors, sum_ms,
            ${sql.join(columns)})
          select tool, (at / 3600000) * 3600000, max(server), count(*),
            sum(case when outcome in ('error', 'timeout') then 1 else 0 end),
            coalesce(sum(case when ${timed} then duration_ms else 0 end), 0),
            ${sql.join(buckets)}
          from tool_calls group by tool, (at / 3600000) * 3600000`.execute(db);
      },
    },
  };
}

/**
 * Brings the schema up to date. Idempotent; on PostgreSQL, Kysely's migrator holds an advisory
 * lock so two instances starting together apply each migration once.
 *
 * `schema` names where the bookkeeping tables live. It must be explicit on PostgreSQL: without
 * it Kysely looks for its table in every schema, and finding another schema's copy it would
 * skip creating ours.
 */
const MIGRATION_TABLE = 'tether_migration';

/**
 * Whether the store has exactly the migrations of this code applied: one small read, so a hub
 * restarted on a current schema skips the migrator (its lock table, lock and transaction). Any
 * doubt (no table yet, a migration missing or one this code does not know) says no, and the
 * migrator then applies or refuses as it would have.
 */
export async function schemaIsCurrent(
  db: Kysely<Database>,
  dialect: Dialect,
  schema?: string,
): Promise<boolean> {
  const table =
    schema === undefined ? sql.table(MIGRATION_TABLE) : sql.table(`${schema}.${MIGRATION_TABLE}`);
  try {
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
    const applied = new Set(rows.map((r) => r.name));
    const wanted = Object.keys(migrations(dialect));
    return applied.size === wanted.length && wanted.every((name) => applied.has(name));
  } catch {
    return false;
  }
}

export async function runMigrations(
  db: Kysely<Database>,
  dialect: Dialect,
  schema?: string,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations(dialect)) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: 'tether_migration_lock',
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}
