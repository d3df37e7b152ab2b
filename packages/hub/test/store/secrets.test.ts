import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  loadKey,
  openStore,
  openSealed,
  seal,
  withEncryptedSecrets,
} from '../../src/store/index.js';

describe('secrets at rest', () => {
  it('stores endpoint URLs, server configs and webhook URLs encrypted, and reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-secrets-'));
    const file = join(dir, 'tether.db');
    const key = loadKey({ file: join(dir, 'secret.key') });
    const store = withEncryptedSecrets(await openStore({ file }), key);
    await store.migrate();
    await store.endpoints.put({
      id: 'e',
      name: 'e',
      url: 'wss://api.xiaozhi.me/mcp/?token=SECRET-TOKEN',
      enabled: true,
      source: 'api',
      tools: { include: ['*'], exclude: [] },
      servers: null,
      overrides: {},
    });
    await store.servers.put({
      id: 's',
      name: 's',
      enabled: true,
      source: 'api',
      config: {
        type: 'http',
        url: 'https://x.test/mcp',
        headers: { Authorization: 'Bearer SECRET-HEADER' },
      },
    });
    await store.channels.put({
      id: 'c',
      name: 'c',
      kind: 'generic',
      url: 'https://hooks.test/SECRET-HOOK',
      enabled: true,
      events: [],
    });
    expect((await store.endpoints.get('e'))!.url).toBe(
      'wss://api.xiaozhi.me/mcp/?token=SECRET-TOKEN',
    );
    expect((await store.servers.get('s'))!.config).toMatchObject({
      headers: { Authorization: 'Bearer SECRET-HEADER' },
    });
    expect((await store.channels.list())[0]!.url).toBe('https://hooks.test/SECRET-HOOK');
    await store.close();

    const db = new Database(file, { readonly: true });
    const dump = JSON.stringify([
      db.prepare('select * from endpoints').all(),
      db.prepare('select * from servers').all(),
      db.prepare('select * from channels').all(),
    ]);
    db.close();
    expect(dump).not.toMatch(/SECRET-/);
    expect(dump).toContain('enc:v1:');
  });

  it('keeps a generated key in a file only its owner can read, and derives one from TETHER_SECRET', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-key-'));
    const key = loadKey({ file: join(dir, 'k', 'secret.key') });
    expect(statSync(join(dir, 'k', 'secret.key')).mode & 0o777).toBe(0o600);
    expect(loadKey({ file: join(dir, 'k', 'secret.key') })).toEqual(key);
    expect(readFileSync(join(dir, 'k', 'secret.key'), 'utf8')).not.toBe('');
    expect(loadKey({ secret: 'correct horse', file: '/nonexistent' })).toEqual(
      loadKey({ secret: 'correct horse', file: '/other' }),
    );
  });

  it('refuses a tampered value, and passes a value stored before encryption through', () => {
    const key = loadKey({ secret: 's', file: '/unused' });
    const sealed = seal(key, 'hello');
    expect(openSealed(key, sealed)).toBe('hello');
    expect(() => openSealed(key, sealed.slice(0, -2) + 'AA')).toThrow();
    expect(openSealed(key, 'wss://plain')).toBe('wss://plain');
  });
});
