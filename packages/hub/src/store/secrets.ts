import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ownerOnlyDir } from './files.js';
import type { EndpointRow, ServerRow, Store } from './types.js';

const PREFIX = 'enc:v1:';

/**
 * The key for secrets at rest: from TETHER_SECRET (any string, hashed to 32 bytes), or a random
 * key kept in a file only its owner can read (mode 0600), created on first use.
 */
export function loadKey(options: { secret?: string; file: string }): Buffer {
  if (options.secret) return createHash('sha256').update(options.secret).digest();
  if (existsSync(options.file)) {
    // A key file someone loosened (or a copy restored with a default mode) is tightened again.
    if ((statSync(options.file).mode & 0o077) !== 0) chmodSync(options.file, 0o600);
    const key = Buffer.from(readFileSync(options.file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${options.file} does not hold a 32-byte key`);
    return key;
  }
  ownerOnlyDir(dirname(options.file));
  const key = randomBytes(32);
  writeFileSync(options.file, key.toString('base64'), { mode: 0o600 });
  chmodSync(options.file, 0o600);
  return key;
}

/** AES-256-GCM: `enc:v1:<iv>.<tag>.<ciphertext>` (base64url). Authenticated: tampering fails. */
export function seal(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${PREFIX}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${data.toString('base64url')}`;
}

/** Opens a sealed value; a value written before encryption was on passes through. */
export function open(key: Buffer, value: string): string {
  if (!value.startsWith(PREFIX)) return value;
  const [iv, tag, data] = value.slice(PREFIX.length).split('.');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
  return Buffer.concat([
    decipher.update(Buffer.from(data!, 'base64url')),
    decipher.final(),
  ]).toString('utf8');
}

/**
 * A store whose secrets are encrypted before they reach the database: endpoint URLs (they carry
 * tokens), server configurations (env, headers, URLs), webhook URLs. Everything else is
 * passed through unchanged.
 */
export function withEncryptedSecrets(store: Store, key: Buffer): Store {
  const sealEndpoint = <T extends Pick<EndpointRow, 'url'>>(row: T): T => ({
    ...row,
    url: seal(key, row.url),
  });
  const openEndpoint = <T extends Pick<EndpointRow, 'url'>>(row: T): T => ({
    ...row,
    url: open(key, row.url),
  });
  const sealServer = <T extends Pick<ServerRow, 'config'>>(row: T): T => ({
    ...row,
    config: { sealed: seal(key, JSON.stringify(row.config)) },
  });
  const openServer = <T extends Pick<ServerRow, 'config'>>(row: T): T => {
    const sealed = (row.config as { sealed?: unknown }).sealed;
    return typeof sealed === 'string'
      ? { ...row, config: JSON.parse(open(key, sealed)) as Record<string, unknown> }
      : row;
  };
  return {
    ...store,
    kind: store.kind,
    migrate: () => store.migrate(),
    close: () => store.close(),
    endpoints: {
      list: async () => (await store.endpoints.list()).map(openEndpoint),
      get: async (id) => {
        const row = await store.endpoints.get(id);
        return row && openEndpoint(row);
      },
      put: async (row) => openEndpoint(await store.endpoints.put(sealEndpoint(row))),
      remove: (id) => store.endpoints.remove(id),
      provision: (rows) => store.endpoints.provision(rows.map(sealEndpoint)),
    },
    servers: {
      list: async () => (await store.servers.list()).map(openServer),
      get: async (id) => {
        const row = await store.servers.get(id);
        return row && openServer(row);
      },
      put: async (row) => openServer(await store.servers.put(sealServer(row))),
      remove: (id) => store.servers.remove(id),
      provision: (rows) => store.servers.provision(rows.map(sealServer)),
    },
    channels: {
      list: async () => (await store.channels.list()).map((c) => ({ ...c, url: open(key, c.url) })),
      put: async (row) => {
        const stored = await store.channels.put({ ...row, url: seal(key, row.url) });
        return { ...stored, url: open(key, stored.url) };
      },
      remove: (id) => store.channels.remove(id),
    },
  };
}
