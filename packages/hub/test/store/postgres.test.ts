import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '@tether/testkit';
import { openStore } from '../../src/store/index.js';
import { writeThenKill9 } from './abandon.js';
import { describeStoreContract } from './contract.js';
import { call, endpoint, rejection, unique } from './fixtures.js';

// Skips locally when PostgreSQL is not running; under CI=true this throws instead.
const url = await requireService('postgres');

const freshSchema = () => `t_${randomBytes(6).toString('hex')}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.skipIf(url === undefined)('PostgreSQL store', () => {
  const schema = freshSchema();
  const spare = freshSchema();
  beforeAll(() => admin(`create schema ${schema}; create schema ${spare}`));
  afterAll(() =>
    admin(`drop schema if exists ${schema} cascade; drop schema if exists ${spare} cascade`),
  );

  describeStoreContract('PostgreSQL', (now) => openStore({ databaseUrl: url, schema, now }));

  it('two instances migrating the same empty schema at once both succeed', async () => {
    const stores = await Promise.all(
      [1, 2, 3].map(() => openStore({ databaseUrl: url, schema: spare })),
    );
    try {
      expect(stores[0]!.kind).toBe('postgres');
      await Promise.all(stores.map((store) => store.migrate()));
      const id = unique('e');
      await stores[0]!.endpoints.put(endpoint(id));
      expect((await stores[2]!.endpoints.get(id))?.id).toBe(id);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('keeps every write of a process killed with SIGKILL', async () => {
    const id = unique('e');
    await writeThenKill9({ databaseUrl: url, schema }, id);
    const store = await openStore({ databaseUrl: url, schema });
    try {
      expect(await store.status.get(id)).toMatchObject({ owner: 'doomed', fence: 5 });
      expect((await store.timeline.page(id)).items).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('a call log from before meta keeps its rows and takes meta from then on', async () => {
    const old = freshSchema();
    await admin(`create schema ${old}`);
    try {
      const store = await openStore({ databaseUrl: url, schema: old });
      await store.migrate();
      await store.close();
      // Back to the schema of 0002: what 0003 to 0005 made and their records gone, one old row.
      await admin(
        `drop table ${old}.tool_hours; drop table ${old}.tool_usage;` +
          ` drop index ${old}.timeline_endpoint_at; alter table ${old}.tool_calls drop column meta;` +
          ` delete from ${old}.tether_migration where name in` +
          ` ('0003_call_meta', '0004_uptime_usage', '0005_tool_hours');` +
          ` insert into ${old}.tool_calls (endpoint_id, tool, server, at, duration_ms, outcome,` +
          ` args_bytes, result_bytes, error) values ('old', 'calc.add', 'calc', 1, 2, 'ok', 3, 4, null)`,
      );
      const upgraded = await openStore({ databaseUrl: url, schema: old });
      try {
        await upgraded.migrate();
        await upgraded.toolCalls.append(call({ endpointId: 'old', at: 2, meta: { via: 'mcp' } }));
        const items = (await upgraded.toolCalls.page({ endpointId: 'old' })).items;
        expect(items.map((c) => [c.at, c.meta])).toEqual([
          [2, { via: 'mcp' }],
          [1, undefined],
        ]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await admin(`drop schema if exists ${old} cascade`);
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    const error = await rejection(openStore({ databaseUrl: url, schema: 'x; drop table y' }));
    expect(error.code).toBe('STORE_INVALID');
  });
});

describe('PostgreSQL out of reach', () => {
  it('opening is STORE_UNAVAILABLE, and the message hides the password', async () => {
    const error = await rejection(
      openStore({ databaseUrl: 'postgresql://tether:s3cret@127.0.0.1:1/tether' }),
    );
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).not.toContain('s3cret');
  });
});
