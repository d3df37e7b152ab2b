import { readFileSync } from 'node:fs';
import { buildCatalog } from '../../src/catalog/catalog.js';
import type { CatalogEntry, ServerTools } from '../../src/catalog/catalog.js';

/** The router's measuring set (fixtures/router-set.json), shared with bench/router.ts. */
export interface RouterSet {
  servers: ServerTools[];
  queries: Array<{ query: string; lang: 'en' | 'zh'; expected: string }>;
}

export const ROUTER_SET_FILE = new URL('./fixtures/router-set.json', import.meta.url);

export function routerSet(): RouterSet {
  return JSON.parse(readFileSync(ROUTER_SET_FILE, 'utf8')) as RouterSet;
}

/** The 200 tools as the hub's catalog names them (`server__tool`, sorted). */
export function routerCatalog(set = routerSet()): CatalogEntry[] {
  return buildCatalog(set.servers);
}
