import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { metaText } from './call-meta.js';
import { timelineValues, toTimeline, toToolCall, toolCallValues } from './codec.js';
import { StoreError } from './errors.js';
import { readPageQuery, toPage } from './paging.js';
import type { Database } from './schema.js';
import { chunked } from './provision.js';
import type { Store, ToolCallEntry } from './types.js';

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

/** How a batch of call records is written (Store['toolCalls']['appendMany']). */
export type AppendCalls = Store['toolCalls']['appendMany'];

/** Kysely: multi-row inserts, at most ROWS_PER_STATEMENT rows each (the parameter limits). */
export function kyselyAppendCalls(db: Kysely<Database>): AppendCalls {
  return async (entries) => {
    for (const chunk of chunked(entries))
      await db.insertInto('tool_calls').values(chunk.map(toolCallValues)).execute();
  };
}

/**
 * SQLite: one statement prepared once (at the first batch: the table exists only after
 * migrate), run per row in one transaction. The mirror writes a batch every batchMs while calls
 * flow; built by Kysely, each batch cost a query of its own size and a fresh prepare, long
 * enough to hold up the calls relayed meanwhile (issue #13).
 */
export function sqliteAppendCalls(db: Kysely<Database>, raw: BetterSqlite3.Database): AppendCalls {
  let write: ((entries: readonly ToolCallEntry[]) => void) | undefined;
  const prepare = () => {
    const insert = raw.prepare(
      'INSERT INTO tool_calls (endpoint_id, tool, server, at, duration_ms, outcome, args_bytes,' +
        ' result_bytes, error, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    return raw.transaction((entries: readonly ToolCallEntry[]) => {
      for (const e of entries)
        insert.run(
          e.endpointId,
          e.tool,
          e.server,
          e.at,
          e.durationMs,
          e.outcome,
          e.argsBytes,
          e.resultBytes,
          e.error,
          metaText(e.meta),
        );
    });
  };
  return async (entries) => {
    if (entries.length === 0) return;
    // Through Kysely's one connection, as the status batch (store/status-batch.ts).
    await db.connection().execute(async () => (write ??= prepare())(entries));
  };
}

export function toolCallsRepo(
  db: Kysely<Database>,
  now: () => number,
  appendMany: AppendCalls = kyselyAppendCalls(db),
): Store['toolCalls'] {
  return {
    async append(entry) {
      await db.insertInto('tool_calls').values(toolCallValues(entry)).execute();
    },
    appendMany,
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
