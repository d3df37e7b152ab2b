import type { Kysely } from 'kysely';
import { endpointValues, toEndpoint } from './codec.js';
import { assertUniqueIds, chunked, refuseOverwrites } from './provision.js';
import type { Database } from './schema.js';
import type { EndpointRow, Store } from './types.js';

type Input = Omit<EndpointRow, 'createdAt' | 'updatedAt'>;

export function endpointsRepo(db: Kysely<Database>, now: () => number): Store['endpoints'] {
  // An upsert, never REPLACE: deleting the old row would cascade to its status and timeline.
  const upsert = (executor: Kysely<Database>, rows: Input[], onlyFileRows: boolean) => {
    const at = now();
    return executor
      .insertInto('endpoints')
      .values(rows.map((row) => ({ ...endpointValues(row), created_at: at, updated_at: at })))
      .onConflict((oc) => {
        const update = oc.column('id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          url: eb.ref('excluded.url'),
          enabled: eb.ref('excluded.enabled'),
          source: eb.ref('excluded.source'),
          tools: eb.ref('excluded.tools'),
          servers: eb.ref('excluded.servers'),
          overrides: eb.ref('excluded.overrides'),
          updated_at: eb.ref('excluded.updated_at'),
        }));
        return onlyFileRows ? update.where('endpoints.source', '=', 'file') : update;
      })
      .returningAll()
      .execute();
  };

  return {
    async list() {
      const rows = await db.selectFrom('endpoints').selectAll().orderBy('id').execute();
      return rows.map(toEndpoint);
    },
    async get(id) {
      const row = await db
        .selectFrom('endpoints')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toEndpoint(row);
    },
    async put(row) {
      const [stored] = await upsert(db, [row], false);
      return toEndpoint(stored!);
    },
    async remove(id) {
      const result = await db.deleteFrom('endpoints').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async provision(rows) {
      const ids = assertUniqueIds('endpoint', rows);
      await db.transaction().execute(async (trx) => {
        const input = rows.map((row) => ({ ...row, source: 'file' as const }));
        const written: string[] = [];
        for (const chunk of chunked(input))
          for (const row of await upsert(trx, chunk, true)) written.push(row.id);
        refuseOverwrites('endpoint', ids, written);
        // File rows no longer in the file go (with their status and timeline).
        const keep = new Set(ids);
        const stale = (
          await trx.selectFrom('endpoints').select('id').where('source', '=', 'file').execute()
        )
          .map((row) => row.id)
          .filter((id) => !keep.has(id));
        for (const chunk of chunked(stale))
          await trx.deleteFrom('endpoints').where('id', 'in', chunk).execute();
      });
    },
  };
}
