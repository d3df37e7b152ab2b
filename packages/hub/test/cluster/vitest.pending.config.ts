/**
 * Runs the cluster end-to-end test while it is still pending (named *.e2e.pending.ts so that
 * `npm test` does not pick it up): npx vitest run -c packages/hub/test/cluster/vitest.pending.config.ts
 * Same resolution and pool as the root config; only the file selection differs.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../../../vitest.config.js';

export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('../../../../', import.meta.url)),
  test: { ...base.test, include: ['packages/hub/test/cluster/*.e2e.pending.ts'] },
});
