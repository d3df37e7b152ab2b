import type { Kysely } from 'kysely';
import { statusValues, toStatus } from './codec.js';
import type { Database } from './schema.js';
import type { EndpointStatusRow, Store } from './types.js';

/** States in which a row claims a socket exists: after a restart, no socket does. */
const LIVE_STATES: ReadonlyArray<EndpointStatusRow['state']> = ['connecting', 'open', 'ready'];

export function statusRepo(db: Kysely<Database>, now: () => number): Store['status'] {
  return {
    async write(row) {
      // One statement, so the fence check and the write cannot be split by another writer:
      // the row is written only if its fence is not older than the stored one.
      const written = await db
        .insertInto('endpoint_status')
        .values(statusValues(row))
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
        // RETURNING yields a row only when one was inserted or updated, in both dialects.
        .returning('endpoint_id')
        .executeTakeFirst();
      return written !== undefined;
    },
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
