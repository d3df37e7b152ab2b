#!/usr/bin/env node
// Runs the built CLI; `npm install` builds it (the root `prepare` script runs `tsc -b`).
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('tether: the CLI is not built yet. Run `npm run build` in the repository root.');
    process.exit(1);
  }
  throw error;
});
