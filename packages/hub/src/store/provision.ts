import { StoreError } from './errors.js';

/** Provisioned ids must be unique: one INSERT … ON CONFLICT cannot touch a row twice. */
export function assertUniqueIds(kind: string, rows: ReadonlyArray<{ id: string }>): string[] {
  const ids = rows.map((row) => row.id);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new StoreError('STORE_INVALID', `${kind} '${id}' is provisioned twice`);
    seen.add(id);
  }
  return ids;
}

/**
 * The upsert only updates rows whose source is 'file', so an id missing from what it wrote
 * belongs to an API row. Throwing rolls the whole provision back.
 */
export function refuseOverwrites(kind: string, ids: string[], written: string[]): void {
  const done = new Set(written);
  const clashes = ids.filter((id) => !done.has(id));
  if (clashes.length > 0) {
    const list = clashes.map((id) => `'${id}'`).join(', ');
    throw new StoreError(
      'STORE_CONFLICT',
      `cannot provision ${kind} ${list} from the config file: created through the API with the same id (rename one of them)`,
    );
  }
}

/**
 * Rows per statement when provisioning: a config file may hold 10,000 endpoints, and one
 * statement for all of them would pass SQLite's 32,766 and PostgreSQL's 65,535 bound
 * parameters.
 */
const ROWS_PER_STATEMENT = 500;

export function chunked<T>(list: readonly T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
