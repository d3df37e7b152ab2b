import type { Kysely } from 'kysely';
import { serverValues, toServer } from './codec.js';
import { assertUniqueIds, chunked, refuseOverwrites } from './provision.js';
import type { Database } from './schema.js';
import type { ServerRow, Store } from './types.js';

type Input = Omit<ServerRow, 'createdAt' | 'updatedAt'>;

export function serversRepo(db: Kysely<Database>, now: () => number): Store['servers'] {
  const upsert = (executor: Kysely<Database>, rows: Input[], onlyFileRows: boolean) => {
    const at = now();
    return executor
      .insertInto('servers')
      .values(rows.map((row) => ({ ...serverValues(row), created_at: at, updated_at: at })))
      .onConflict((oc) => {
        const update = oc.column('id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          source: eb.ref('excluded.source'),
          enabled: eb.ref('excluded.enabled'),
          config: eb.ref('excluded.config'),
          updated_at: eb.ref('excluded.updated_at'),
        }));
        return onlyFileRows ? update.where('servers.source', '=', 'file') : update;
      })
      .returningAll()
      .execute();
  };

  return {
    async list() {
      const rows = await db.selectFrom('servers').selectAll().orderBy('id').execute();
      return rows.map(toServer);
    },
    async get(id) {
      const row = await db
        .selectFrom('servers')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toServer(row);
    },
    async put(row) {
      const [stored] = await upsert(db, [row], false);
      return toServer(stored!);
    },
    async remove(id) {
      const result = await db.deleteFrom('servers').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async provision(rows) {
      const ids = assertUniqueIds('server', rows);
      await db.transaction().execute(async (trx) => {
        const input = rows.map((row) => ({ ...row, source: 'file' as const }));
        const written: string[] = [];
        for (const chunk of chunked(input))
          for (const row of await upsert(trx, chunk, true)) written.push(row.id);
        refuseOverwrites('server', ids, written);
        // File rows no longer in the file go (with their status and timeline).
        const keep = new Set(ids);
        const stale = (
          await trx.selectFrom('servers').select('id').where('source', '=', 'file').execute()
        )
          .map((row) => row.id)
          .filter((id) => !keep.has(id));
        for (const chunk of chunked(stale))
          await trx.deleteFrom('servers').where('id', 'in', chunk).execute();
      });
    },
  };
}
