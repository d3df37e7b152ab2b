import type { Kysely } from 'kysely';
import { channelValues, toChannel } from './codec.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

export function channelsRepo(db: Kysely<Database>, now: () => number): Store['channels'] {
  return {
    async list() {
      const rows = await db
        .selectFrom('channels')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toChannel);
    },
    async put(row) {
      const stored = await db
        .insertInto('channels')
        .values({ ...channelValues(row), created_at: now() })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            kind: eb.ref('excluded.kind'),
            url: eb.ref('excluded.url'),
            enabled: eb.ref('excluded.enabled'),
            events: eb.ref('excluded.events'),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toChannel(stored);
    },
    async remove(id) {
      const result = await db.deleteFrom('channels').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
