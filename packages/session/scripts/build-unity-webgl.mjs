#!/usr/bin/env node
// Bundles the browser SessionClient (packages/session/src/index.ts) for Unity WebGL builds:
// clients/unity/Runtime/Unity/Plugins/WebGL/tether-session.jspre, one IIFE that defines the
// global TetherSessionLib, which TetherSession.jslib drives. Unity prepends .jspre files to the
// build's JavaScript as they are, so the bundle is committed; test/unity/webgl.browser.test.ts
// fails when it no longer matches the sources. Regenerate: npm run build:unity -w @tether/session
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export const JSPRE = fileURLToPath(
  new URL(
    '../../../clients/unity/Runtime/Unity/Plugins/WebGL/tether-session.jspre',
    import.meta.url,
  ),
);

const BANNER = `// Generated from packages/session/src by packages/session/scripts/build-unity-webgl.mjs; do not edit.
// Regenerate: npm run build:unity -w @tether/session`;

/** The bundle's text, built in memory from the sources (the workspace packages' src, not dist). */
export async function bundleUnityWebGL() {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['packages/session/src/index.ts'],
    bundle: true,
    format: 'iife',
    globalName: 'TetherSessionLib',
    platform: 'browser',
    // Unity 2021.3's WebGL players run in browsers with ES2017 at least.
    target: 'es2017',
    charset: 'utf8',
    legalComments: 'none',
    banner: { js: BANNER },
    // The sibling packages' sources, as the tests use them: a stale dist must not leak in.
    alias: { '@tether/link': './packages/link/src/index.ts' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(JSPRE, await bundleUnityWebGL());
  console.log(`wrote ${JSPRE}`);
}
