import type { Kysely, Selectable } from 'kysely';
import { statusValues, toStatus } from './codec.js';
import type { Database, EndpointStatusTable } from './schema.js';
import type { EndpointStatusRow, Store } from './types.js';

/** States in which a row claims a socket exists: after a restart, no socket does. */
const LIVE_STATES: ReadonlyArray<EndpointStatusRow['state']> = ['connecting', 'open', 'ready'];

/**
 * The fenced upsert, for one row or many: a row is written only if its fence is not older than
 * the stored one. One statement, so the fence check and the write cannot be split by another
 * writer. RETURNING yields a row only when one was inserted or updated, in both dialects.
 */
export function upsertStatus(db: Kysely<Database>, values: Array<Selectable<EndpointStatusTable>>) {
  return db
    .insertInto('endpoint_status')
    .values(values)
    .onConflict((oc) =>
      oc
        .column('endpoint_id')
        .doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          since: eb.ref('excluded.since'),
          last_close_code: eb.ref('excluded.last_close_code'),
          last_close_reason: eb.ref('excluded.last_close_reason'),
          last_close_at: eb.ref('excluded.last_close_at'),
          last_error: eb.ref('excluded.last_error'),
          attempts: eb.ref('excluded.attempts'),
          next_retry_at: eb.ref('excluded.next_retry_at'),
          health: eb.ref('excluded.health'),
          owner: eb.ref('excluded.owner'),
          fence: eb.ref('excluded.fence'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
        .whereRef('endpoint_status.fence', '<=', 'excluded.fence'),
    )
    .returning('endpoint_id');
}

export function statusRepo(
  db: Kysely<Database>,
  now: () => number,
  writeBatch: Store['status']['writeBatch'],
): Store['status'] {
  return {
    async write(row) {
      const written = await upsertStatus(db, [statusValues(row)]).executeTakeFirst();
      return written !== undefined;
    },
    writeBatch,
    async get(endpointId) {
      const row = await db
        .selectFrom('endpoint_status')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .executeTakeFirst();
      return row === undefined ? undefined : toStatus(row);
    },
    async list() {
      const rows = await db
        .selectFrom('endpoint_status')
        .selectAll()
        .orderBy('endpoint_id')
        .execute();
      return rows.map(toStatus);
    },
    async resetStale(owner, at = now()) {
      const result = await db
        .updateTable('endpoint_status')
        .set({
          state: 'backoff',
          since: at,
          last_error: 'hub restarted',
          next_retry_at: null,
          updated_at: at,
        })
        .where('state', 'in', LIVE_STATES)
        .$if(owner !== undefined, (qb) => qb.where('owner', '=', owner!))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
