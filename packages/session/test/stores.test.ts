import { requireService } from '@tether/testkit';
import { MemorySessionStore, RedisSessionStore } from '../src/server/index.js';
import { closeAndForget, freshPrefix } from './redis.js';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => {
  const store = new MemorySessionStore();
  return { store, cleanup: () => store.close() };
});

storeContract('redis', async () => {
  const url = await requireService('redis');
  if (!url) return undefined;
  const store = await RedisSessionStore.connect({ redis: url, prefix: freshPrefix() });
  return { store, cleanup: () => closeAndForget(store, url) };
});
