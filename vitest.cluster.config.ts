import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests that need the whole machine, alone (`npm test` runs them after the rest): the
 * cluster end-to-end test (three or four hub processes, PostgreSQL, Redis and 300 endpoints,
 * with bounds on how long each step may take), one instance with 10,000 endpoints, and the
 * dashboard with 10,000 endpoints under a flood of events (responsiveness bounds).
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'packages/hub/test/cluster/*.e2e.test.ts',
      'packages/hub/test/scale/*.test.ts',
      'packages/dashboard/test/scale.browser.test.ts',
    ],
    // One file at a time: each of them needs the whole machine.
    fileParallelism: false,
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
