import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, so a stale dist never hides a change.
    alias: [{ find: /^@tether\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` }],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The cluster end-to-end test (several hubs, timing bounds) and the 10,000-endpoint tests
    // need the whole machine: they run on their own after the rest (vitest.cluster.config.ts).
    exclude: [
      '**/node_modules/**',
      '**/dist/**',
      'packages/hub/test/cluster/*.e2e.test.ts',
      'packages/hub/test/scale/*.test.ts',
      'packages/dashboard/test/scale.browser.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real sockets on loopback: a 2-core CI box is happier with bounded parallelism.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
