// Builds the dashboard into dist/: app.js (minified, with a source map), app.css, index.html.
// The hub serves whatever is in dist/ at `/`. `node build.mjs --watch` rebuilds on change.
import { build, context } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const dist = here('./dist/');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  entryPoints: [
    { in: here('./src/main.tsx'), out: 'app' },
    { in: here('./src/app.css'), out: 'app' },
  ],
  outdir: dist,
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['es2022', 'chrome105', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  // Build against the protocol's sources, as the tests do, so a stale dist never hides a change.
  alias: { '@tether/protocol': here('../protocol/src/index.ts') },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
};

const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>Tether</title>
    <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%2316a34a'/%3E%3C/svg%3E" />
    <link rel="stylesheet" href="/app.css" />
    <script type="module" src="/app.js"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>Tether's dashboard needs JavaScript.</noscript>
  </body>
</html>
`;

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await writeFile(`${dist}index.html`, html);

if (watch) {
  const ctx = await context({ ...options, minify: false });
  await ctx.watch();
  console.log('dashboard: watching src/ for changes');
} else {
  const result = await build(options);
  // The page imports only types from @tether/protocol: zod (which does not tree-shake) would
  // triple its size. Fail loudly if a value import slips in.
  const heavy = Object.keys(result.metafile.inputs).filter((file) =>
    /node_modules\/zod\//.test(file),
  );
  if (heavy.length > 0) {
    console.error(`dashboard: zod got into the bundle (${heavy[0]}); import types only`);
    process.exit(1);
  }
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([file]) => !file.endsWith('.map'))
    .map(([file, out]) => `${file.split('/').pop()} ${(out.bytes / 1024).toFixed(1)} KB`);
  console.log(`dashboard: ${sizes.join(', ')}`);
}
