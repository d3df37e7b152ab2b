import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKey, openStore } from '../../src/store/index.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('state files', () => {
  it('are owner-only even when TETHER_HOME already existed with an open mode', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-home-'));
    chmodSync(home, 0o755);
    const store = await openStore({ home });
    await store.migrate();
    await store.status.list();
    loadKey({ file: join(home, 'secret.key') });
    try {
      expect(mode(home)).toBe(0o700);
      for (const file of ['tether.db', 'tether.db-wal', 'tether.db-shm', 'secret.key'])
        expect([file, mode(join(home, file))]).toEqual([file, 0o600]);
    } finally {
      await store.close();
    }
  });

  it('tighten a database and key file someone loosened', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-home-'));
    await (await openStore({ home })).close();
    loadKey({ file: join(home, 'secret.key') });
    chmodSync(join(home, 'tether.db'), 0o644);
    chmodSync(join(home, 'secret.key'), 0o644);
    const store = await openStore({ home });
    loadKey({ file: join(home, 'secret.key') });
    await store.close();
    expect(mode(join(home, 'tether.db'))).toBe(0o600);
    expect(mode(join(home, 'secret.key'))).toBe(0o600);
  });
});
