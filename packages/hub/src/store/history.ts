import type { Kysely } from 'kysely';
import { timelineValues, toTimeline, toToolCall, toolCallValues } from './codec.js';
import { StoreError } from './errors.js';
import { readPageQuery, toPage } from './paging.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

/** Append-only history: endpoint timelines and tool calls, read newest first by id. */

export function timelineRepo(db: Kysely<Database>): Store['timeline'] {
  return {
    async append(entry) {
      await db.insertInto('timeline').values(timelineValues(entry)).execute();
    },
    async page(endpointId, query) {
      const { limit, before } = readPageQuery(query);
      const rows = await db
        .selectFrom('timeline')
        .selectAll()
        .$if(endpointId !== undefined, (qb) => qb.where('endpoint_id', '=', endpointId!))
        .$if(before !== undefined, (qb) => qb.where('id', '<', before!))
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      return toPage(rows.map(toTimeline), limit);
    },
  };
}

export function toolCallsRepo(db: Kysely<Database>, now: () => number): Store['toolCalls'] {
  return {
    async append(entry) {
      await db.insertInto('tool_calls').values(toolCallValues(entry)).execute();
    },
    async appendMany(entries) {
      if (entries.length === 0) return;
      await db.insertInto('tool_calls').values(entries.map(toolCallValues)).execute();
    },
    async page(query = {}) {
      const { limit, before } = readPageQuery(query);
      const { endpointId, tool } = query;
      const rows = await db
        .selectFrom('tool_calls')
        .selectAll()
        .$if(endpointId !== undefined, (qb) => qb.where('endpoint_id', '=', endpointId!))
        .$if(tool !== undefined, (qb) => qb.where('tool', '=', tool!))
        .$if(before !== undefined, (qb) => qb.where('id', '<', before!))
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      return toPage(rows.map(toToolCall), limit);
    },
    async prune(keep, maxAgeMs, at = now()) {
      if (!Number.isInteger(keep) || keep < 0) {
        throw new StoreError('STORE_INVALID', `prune keep must be an integer >= 0, got ${keep}`);
      }
      if (Number.isNaN(maxAgeMs) || maxAgeMs < 0) {
        throw new StoreError('STORE_INVALID', `prune maxAgeMs must be >= 0, got ${maxAgeMs}`);
      }
      // The id of the newest row beyond `keep`; NULL (nothing to cut) when there are fewer.
      const firstCut = db
        .selectFrom('tool_calls')
        .select('id')
        .orderBy('id', 'desc')
        .limit(1)
        .offset(keep);
      const result = await db
        .deleteFrom('tool_calls')
        .where((eb) =>
          eb.or([
            eb('id', '<=', firstCut),
            // An infinite age keeps everything by age; -Infinity cannot be bound as a bigint.
            ...(Number.isFinite(maxAgeMs) ? [eb('at', '<', at - maxAgeMs)] : []),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
