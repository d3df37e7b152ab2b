import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { sql } from './kysely.js';
import { metaText } from './call-meta.js';
import { timelineValues, toTimeline, toToolCall, toolCallValues } from './codec.js';
import { StoreError } from './errors.js';
import { readPageQuery, toPage } from './paging.js';
import type { Database } from './schema.js';
import { chunked } from './provision.js';
import {
  LATENCY_COLUMNS,
  TOOL_HOURS_KEEP_MS,
  hoursOf,
  toToolHour,
  toolHourValues,
} from './tool-hours.js';
import type { Store, ToolCallEntry, ToolCallSample } from './types.js';

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
    async between(endpointId, from, to, limit) {
      assertLimit(limit);
      const rows = await db
        .selectFrom('timeline')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .where('at', '>=', from)
        .where('at', '<', to)
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.reverse().map(toTimeline);
    },
    async lastBefore(endpointId, at) {
      const row = await db
        .selectFrom('timeline')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .where('at', '<', at)
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toTimeline(row);
    },
  };
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new StoreError('STORE_INVALID', `limit must be an integer >= 1, got ${limit}`);
}

/**
 * A batch's calls per distinct tool: one usage bump each, however many calls it logged. Sorted
 * by tool: an upsert locks its rows in the order it meets them, and two PostgreSQL instances
 * writing the same tools in different orders could each hold a row the other waits for.
 */
export function usageOf(
  entries: readonly ToolCallEntry[],
): Array<{ tool: string; calls: number; last_at: number }> {
  const byTool = new Map<string, { tool: string; calls: number; last_at: number }>();
  for (const e of entries) {
    const row = byTool.get(e.tool);
    if (row) {
      row.calls++;
      row.last_at = Math.max(row.last_at, e.at);
    } else byTool.set(e.tool, { tool: e.tool, calls: 1, last_at: e.at });
  }
  return [...byTool.values()].sort((a, b) => byKey(a.tool, b.tool));
}

/** Code-unit order: the same on every instance, whatever its locale. */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How a batch of call records is written (Store['toolCalls']['appendMany']). */
export type AppendCalls = Store['toolCalls']['appendMany'];

/**
 * Kysely: multi-row inserts, at most ROWS_PER_STATEMENT rows each (the parameter limits), and
 * the usage and hourly rollup upserts, in one transaction: a batch retried after a failure is never counted twice.
 * In a cluster every instance adds to the same rows, so the count is the cluster's.
 */
export function kyselyAppendCalls(db: Kysely<Database>): AppendCalls {
  return async (entries) => {
    if (entries.length === 0) return;
    await db.transaction().execute(async (trx) => {
      for (const chunk of chunked(entries))
        await trx.insertInto('tool_calls').values(chunk.map(toolCallValues)).execute();
      for (const chunk of chunked(usageOf(entries)))
        await trx
          .insertInto('tool_usage')
          .values(chunk)
          .onConflict((oc) =>
            oc.column('tool').doUpdateSet({
              calls: sql<number>`tool_usage.calls + excluded.calls`,
              last_at: sql<number>`case when excluded.last_at > tool_usage.last_at
                then excluded.last_at else tool_usage.last_at end`,
            }),
          )
          .execute();
      // After tool_usage, in (tool, hour) order: every instance takes the locks alike.
      for (const chunk of chunked(hoursOf(entries)))
        await trx
          .insertInto('tool_hours')
          .values(chunk.map(toolHourValues))
          .onConflict((oc) =>
            oc.columns(['tool', 'hour']).doUpdateSet({
              server: sql<string>`excluded.server`,
              ...Object.fromEntries(
                ['calls', 'errors', 'sum_ms', ...LATENCY_COLUMNS].map((column) => [
                  column,
                  sql<number>`${sql.ref(`tool_hours.${column}`)} + ${sql.ref(`excluded.${column}`)}`,
                ]),
              ),
            }),
          )
          .execute();
    });
  };
}

/**
 * SQLite: one statement prepared once (at the first batch: the table exists only after
 * migrate), run per row in one transaction. The mirror writes a batch every batchMs while calls
 * flow; built by Kysely, each batch cost a query of its own size and a fresh prepare, long
 * enough to hold up the calls relayed meanwhile (issue #13). The usage upsert (one per distinct
 * tool) and the rollup's (one per distinct tool-hour) ride in the same transaction.
 */
export function sqliteAppendCalls(db: Kysely<Database>, raw: BetterSqlite3.Database): AppendCalls {
  let write: ((entries: readonly ToolCallEntry[]) => void) | undefined;
  const prepare = () => {
    const insert = raw.prepare(
      'INSERT INTO tool_calls (endpoint_id, tool, server, at, duration_ms, outcome, args_bytes,' +
        ' result_bytes, error, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const bump = raw.prepare(
      'INSERT INTO tool_usage (tool, calls, last_at) VALUES (?, ?, ?) ON CONFLICT (tool)' +
        ' DO UPDATE SET calls = calls + excluded.calls, last_at = max(last_at, excluded.last_at)',
    );
    const added = ['calls', 'errors', 'sum_ms', ...LATENCY_COLUMNS];
    const hour = raw.prepare(
      `INSERT INTO tool_hours (tool, server, hour, ${added.join(', ')})` +
        ` VALUES (${['?', '?', '?', ...added.map(() => '?')].join(', ')})` +
        ' ON CONFLICT (tool, hour) DO UPDATE SET server = excluded.server, ' +
        added.map((c) => `${c} = ${c} + excluded.${c}`).join(', '),
    );
    return raw.transaction((entries: readonly ToolCallEntry[]) => {
      for (const u of usageOf(entries)) bump.run(u.tool, u.calls, u.last_at);
      for (const h of hoursOf(entries))
        hour.run(h.tool, h.server, h.hour, h.calls, h.errors, h.sumMs, ...h.latency);
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
    // Through the batch writer, so a single call is counted in its tool's usage too.
    append: (entry) => appendMany([entry]),
    appendMany,
    async between(from, to, limit) {
      assertLimit(limit);
      const rows = await db
        .selectFrom('tool_calls')
        .select(['tool', 'server', 'at', 'duration_ms', 'outcome'])
        .where('at', '>=', from)
        .where('at', '<', to)
        .orderBy('at', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r): ToolCallSample => ({
        tool: r.tool,
        server: r.server,
        at: Number(r.at),
        durationMs: Number(r.duration_ms),
        outcome: r.outcome as ToolCallSample['outcome'],
      }));
    },
    async usage() {
      const rows = await db.selectFrom('tool_usage').selectAll().execute();
      return rows.map((r) => ({ tool: r.tool, calls: Number(r.calls), lastAt: Number(r.last_at) }));
    },
    async hours(from, to) {
      const rows = await db
        .selectFrom('tool_hours')
        .selectAll()
        .where('hour', '>=', from)
        .where('hour', '<', to)
        .orderBy('tool')
        .orderBy('hour')
        .execute();
      return rows.map(toToolHour);
    },
    async pruneHours(keepMs = TOOL_HOURS_KEEP_MS, at = now()) {
      if (!Number.isFinite(keepMs) || keepMs < 0)
        throw new StoreError('STORE_INVALID', `pruneHours keepMs must be >= 0, got ${keepMs}`);
      // An hour goes once all of it is older than keepMs.
      const result = await db
        .deleteFrom('tool_hours')
        .where('hour', '<', at - keepMs - 3_600_000)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
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
