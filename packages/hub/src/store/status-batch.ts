import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { statusValues, timelineValues } from './codec.js';
import { StoreError } from './errors.js';
import type { Dialect } from './migrations.js';
import { chunked } from './provision.js';
import type { Database } from './schema.js';
import { upsertStatus } from './status.js';
import type { EndpointStatusRow, StatusBatchResult, Store, TimelineEntry } from './types.js';

/**
 * The status mirror's batch (Store['status']['writeBatch']): the newest row per endpoint and
 * every timeline entry since the last batch, in one transaction. The mirror writes one every
 * batchMs at most, so what a batch costs is paid a few times a second, not per transition: in a
 * burst of 1,000 handshakes a query built and a statement prepared per write was most of what
 * the hub allocated (issue #13).
 */
export type WriteStatusBatch = Store['status']['writeBatch'];

const STATUS_COLUMNS =
  'endpoint_id, state, since, last_close_code, last_close_reason, last_close_at, last_error, ' +
  'attempts, next_retry_at, health, owner, fence, updated_at';
const UPDATED = STATUS_COLUMNS.split(', ')
  .slice(1)
  .map((column) => `${column} = excluded.${column}`)
  .join(', ');
const TIMELINE_COLUMNS =
  'endpoint_id, at, from_state, to_state, cause, code, reason, detected_by, instance';
const params = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * SQLite: three statements prepared once, at the first batch (the tables exist only after
 * migrate), run in one better-sqlite3 transaction with the values bound straight from the rows.
 * Each insert is an INSERT … SELECT … WHERE EXISTS, so a row for an endpoint no longer stored
 * is skipped where a VALUES insert would fail the whole batch on the foreign key.
 */
export function sqliteStatusBatch(
  db: Kysely<Database>,
  raw: BetterSqlite3.Database,
): WriteStatusBatch {
  let write: ReturnType<typeof prepare> | undefined;
  return async (rows, timeline) => {
    assertOnePerEndpoint(rows);
    if (rows.length === 0 && timeline.length === 0) return { fenced: [], gone: [] };
    // Through Kysely's one connection, so a batch never lands inside a transaction Kysely has
    // open (a provision) and nothing of Kysely's runs inside ours.
    return db.connection().execute(async () => (write ??= prepare(raw))(rows, timeline));
  };
}

function prepare(raw: BetterSqlite3.Database) {
  const upsert = raw.prepare(
    `INSERT INTO endpoint_status (${STATUS_COLUMNS}) SELECT ${params(13)}` +
      ' WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = ?)' +
      ` ON CONFLICT (endpoint_id) DO UPDATE SET ${UPDATED}` +
      ' WHERE endpoint_status.fence <= excluded.fence',
  );
  const append = raw.prepare(
    `INSERT INTO timeline (${TIMELINE_COLUMNS}) SELECT ${params(9)}` +
      ' WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = ?)',
  );
  const stored = raw.prepare('SELECT 1 FROM endpoints WHERE id = ?').pluck();
  return raw.transaction(
    (rows: readonly EndpointStatusRow[], timeline: readonly TimelineEntry[]) => {
      const result: StatusBatchResult = { fenced: [], gone: [] };
      for (const r of rows) {
        const id = r.endpointId;
        const { changes } = upsert.run(
          id,
          r.state,
          r.since,
          r.lastCloseCode,
          r.lastCloseReason,
          r.lastCloseAt,
          r.lastError,
          r.attempts,
          r.nextRetryAt,
          r.health,
          r.owner,
          r.fence,
          r.updatedAt,
          id,
        );
        // Nothing written: refused by the fence, or the endpoint is not there.
        if (changes === 0) (stored.get(id) === undefined ? result.gone : result.fenced).push(id);
      }
      const refused = refusedIds(result);
      for (const e of timeline) {
        if (refused?.has(e.endpointId)) continue;
        append.run(
          e.endpointId,
          e.at,
          e.from,
          e.to,
          e.cause,
          e.code,
          e.reason,
          e.detectedBy,
          e.instance,
          e.endpointId,
        );
      }
      return result;
    },
  );
}

/**
 * Kysely (PostgreSQL): multi-row statements, at most 500 rows each, so a batch of any size stays
 * within the bound-parameter limit. The endpoints are read first, FOR KEY SHARE on PostgreSQL:
 * one removed before the batch is not seen and its row is skipped; one removed during it waits
 * for the commit. So the foreign key never fails a batch.
 */
export function kyselyStatusBatch(db: Kysely<Database>, dialect: Dialect): WriteStatusBatch {
  return async (rows, timeline) => {
    assertOnePerEndpoint(rows);
    if (rows.length === 0 && timeline.length === 0) return { fenced: [], gone: [] };
    return db.transaction().execute(async (trx) => {
      const ids = new Set<string>();
      for (const r of rows) ids.add(r.endpointId);
      for (const e of timeline) ids.add(e.endpointId);
      const stored = new Set<string>();
      for (const chunk of chunked([...ids].sort())) {
        const found = await trx
          .selectFrom('endpoints')
          .select('id')
          .where('id', 'in', chunk)
          .$if(dialect === 'postgres', (qb) => qb.forKeyShare())
          .execute();
        for (const { id } of found) stored.add(id);
      }
      // In endpoint order, so two batches that share endpoints lock their rows in one order.
      const present = rows.filter((r) => stored.has(r.endpointId));
      present.sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1));
      const written = new Set<string>();
      for (const chunk of chunked(present)) {
        for (const { endpoint_id } of await upsertStatus(trx, chunk.map(statusValues)).execute())
          written.add(endpoint_id);
      }
      const result: StatusBatchResult = { fenced: [], gone: [] };
      for (const { endpointId: id } of rows) {
        if (!stored.has(id)) result.gone.push(id);
        else if (!written.has(id)) result.fenced.push(id);
      }
      const fenced = refusedIds(result);
      const appended = timeline.filter(
        (e) => stored.has(e.endpointId) && !fenced?.has(e.endpointId),
      );
      for (const chunk of chunked(appended))
        await trx.insertInto('timeline').values(chunk.map(timelineValues)).execute();
      return result;
    });
  };
}

/** One INSERT … ON CONFLICT cannot touch a row twice, and the newest row is the only one due. */
function assertOnePerEndpoint(rows: readonly EndpointStatusRow[]): void {
  if (rows.length < 2) return;
  const seen = new Set<string>();
  for (const { endpointId } of rows) {
    if (seen.has(endpointId))
      throw new StoreError('STORE_INVALID', `a status batch holds two rows for '${endpointId}'`);
    seen.add(endpointId);
  }
}

/** Endpoints whose entries stay out of the timeline; undefined in the usual case, none. */
function refusedIds(result: StatusBatchResult): Set<string> | undefined {
  if (result.fenced.length === 0 && result.gone.length === 0) return undefined;
  return new Set([...result.fenced, ...result.gone]);
}
