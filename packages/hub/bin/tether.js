#!/usr/bin/env node
// Runs the built CLI. A published package ships it built; in the repository `npm install`
// builds it (the root `prepare` script runs `tsc -b`). Only a missing CLI gets the hint below:
// any other failure to load (a missing dependency, say) is shown as Node reports it.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('tether: the CLI is not built yet. Run `npm run build` in the repository root.');
  process.exit(1);
}
await import(main.href);
