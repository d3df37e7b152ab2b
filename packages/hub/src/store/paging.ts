import { StoreError } from './errors.js';
import type { Page, PageQuery } from './types.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** Validates a page query; a limit above the maximum is clamped rather than refused. */
export function readPageQuery(query: PageQuery = {}): { limit: number; before?: number } {
  const { limit = DEFAULT_LIMIT, before } = query;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new StoreError('STORE_INVALID', `page limit must be a positive integer, got ${limit}`);
  }
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw new StoreError('STORE_INVALID', `page cursor must be an integer id, got ${before}`);
  }
  return { limit: Math.min(limit, MAX_LIMIT), before };
}

/**
 * `rows` were fetched newest first with one row more than `limit`: that extra row says an older
 * page exists, without a second COUNT query.
 */
export function toPage<T extends { id?: number }>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: items[items.length - 1]?.id ?? null };
}
