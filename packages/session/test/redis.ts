import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisSessionStore } from '../src/server/index.js';

/** A key prefix no other test (or run) uses. */
export function freshPrefix(): string {
  return `test:session:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under a prefix. */
export async function forget(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** Closes a store and deletes every key under its prefix. */
export async function closeAndForget(store: RedisSessionStore, url: string): Promise<void> {
  await store.close();
  await forget(url, store.prefix);
}
