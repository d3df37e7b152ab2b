import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

const imports = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)].map(
    (m) => m[1]!,
  );

// Runtime neutrality and import cycles are checked for every package in test/architecture.test.ts.
describe('@tether/session public surface', () => {
  it('pins the exports of the root entry and of ./server', async () => {
    const root = await import('../src/index.js');
    expect(Object.keys(root).sort()).toEqual([
      'CloseCode',
      'PROTOCOL_VERSION',
      'SessionClient',
      'SessionError',
      'isSessionError',
      'parseClientFrame',
      'parseServerFrame',
    ]);
    const server = await import('../src/server/index.js');
    expect(Object.keys(server).sort()).toEqual([
      'MemorySessionStore',
      'RedisSessionStore',
      'SessionServer',
    ]);
  });

  it('imports only protocol and link of our packages, and the root never imports the server', () => {
    const offending = sources().flatMap((file) =>
      imports(file)
        .filter(
          (spec) =>
            (spec.startsWith('@tether/') && !/^@tether\/(protocol|link)$/.test(spec)) ||
            // The Node-only entries (./server, ./gateway) may; the root may not.
            (!/^(server|gateway)\//.test(relative(src, file)) && spec.includes('server/')),
        )
        .map((spec) => `${relative(src, file)} → ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});
