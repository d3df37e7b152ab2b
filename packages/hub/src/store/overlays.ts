import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Overlay, Store } from './types.js';

const toOverlay = (row: {
  endpoint_id: string;
  disabled: boolean | number;
  disabled_tools: string;
  updated_at: number | string;
}): Overlay => ({
  endpointId: row.endpoint_id,
  disabled: Boolean(Number(row.disabled)),
  disabledTools: JSON.parse(row.disabled_tools) as string[],
  updatedAt: Number(row.updated_at),
});

export function overlaysRepo(db: Kysely<Database>, now: () => number): Store['overlays'] {
  return {
    async list() {
      const rows = await db.selectFrom('overlays').selectAll().orderBy('endpoint_id').execute();
      return rows.map(toOverlay);
    },
    async get(endpointId) {
      const row = await db
        .selectFrom('overlays')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .executeTakeFirst();
      return row && toOverlay(row);
    },
    async put(overlay) {
      const values = {
        endpoint_id: overlay.endpointId,
        disabled: overlay.disabled ? 1 : 0,
        disabled_tools: JSON.stringify([...new Set(overlay.disabledTools)].sort()),
        updated_at: now(),
      };
      const row = await db
        .insertInto('overlays')
        .values(values)
        .onConflict((oc) =>
          oc.column('endpoint_id').doUpdateSet((eb) => ({
            disabled: eb.ref('excluded.disabled'),
            disabled_tools: eb.ref('excluded.disabled_tools'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toOverlay(row);
    },
    async remove(endpointId) {
      const result = await db
        .deleteFrom('overlays')
        .where('endpoint_id', '=', endpointId)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
