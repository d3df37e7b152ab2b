import { describe, expect, it } from 'vitest';
import { StoreError, isStoreError } from '../../src/store/index.js';
import { toStoreError } from '../../src/store/errors.js';
import { MAX_LIMIT, readPageQuery } from '../../src/store/paging.js';

const driverError = (code: string) => Object.assign(new Error(`driver says ${code}`), { code });

describe('toStoreError: one mapper from driver errors to store codes', () => {
  it.each([
    ['SQLITE_BUSY', 'STORE_UNAVAILABLE'],
    ['SQLITE_IOERR_WRITE', 'STORE_UNAVAILABLE'],
    ['SQLITE_CONSTRAINT_PRIMARYKEY', 'STORE_CONFLICT'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', 'STORE_CONFLICT'],
    ['SQLITE_CONSTRAINT_NOTNULL', 'STORE_INVALID'],
    ['08006', 'STORE_UNAVAILABLE'], // connection failure
    ['57P01', 'STORE_UNAVAILABLE'], // admin shutdown
    ['23505', 'STORE_CONFLICT'], // unique violation
    ['40001', 'STORE_CONFLICT'], // serialization failure
    ['22003', 'STORE_INVALID'], // numeric value out of range
    ['23502', 'STORE_INVALID'], // not null violation
    ['ECONNREFUSED', 'STORE_UNAVAILABLE'],
  ])('%s is %s', (code, expected) => {
    const error = toStoreError(driverError(code), 'status.write');
    expect(error).toBeInstanceOf(StoreError);
    expect(isStoreError(error)).toBe(true);
    expect(error.code).toBe(expected);
    expect(error.message).toBe(`status.write: driver says ${code}`);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('a value better-sqlite3 cannot bind is the caller’s fault; a closed handle is not', () => {
    const bind = new TypeError(
      'SQLite3 can only bind numbers, strings, bigints, buffers, and null',
    );
    expect(toStoreError(bind, 'x').code).toBe('STORE_INVALID');
    const closed = new TypeError('The database connection is not open');
    expect(toStoreError(closed, 'x').code).toBe('STORE_UNAVAILABLE');
  });

  it('passes a StoreError through unchanged', () => {
    const original = new StoreError('STORE_CONFLICT', 'clash');
    expect(toStoreError(original, 'x')).toBe(original);
  });
});

describe('readPageQuery', () => {
  it('defaults to 50 and clamps to the maximum', () => {
    expect(readPageQuery()).toEqual({ limit: 50, before: undefined });
    expect(readPageQuery({ limit: 10_000, before: 7 })).toEqual({ limit: MAX_LIMIT, before: 7 });
    expect(MAX_LIMIT).toBe(500);
  });
});
