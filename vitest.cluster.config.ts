import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The cluster end-to-end test alone (`npm test` runs it after the rest): three or four hub
 * processes, PostgreSQL, Redis and 300 endpoints, with bounds on how long each step may take.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/hub/test/cluster/*.e2e.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
