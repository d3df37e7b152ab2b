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

  it('keeps the root entry runtime-neutral: node:, ws and ioredis only under src/server', () => {
    const offending = sources()
      .filter((file) => !relative(src, file).startsWith('server'))
      .flatMap((file) =>
        imports(file)
          .filter((spec) => spec.startsWith('node:') || spec === 'ws' || spec === 'ioredis')
          .map((spec) => `${relative(src, file)} → ${spec}`),
      );
    expect(offending).toEqual([]);
  });

  it('imports only protocol and link of our packages, and the root never imports the server', () => {
    const offending = sources().flatMap((file) =>
      imports(file)
        .filter(
          (spec) =>
            (spec.startsWith('@tether/') && !/^@tether\/(protocol|link)$/.test(spec)) ||
            (!relative(src, file).startsWith('server') && spec.includes('server/')),
        )
        .map((spec) => `${relative(src, file)} → ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('has no import cycles', () => {
    const files = sources();
    const graph = new Map(
      files.map((file) => [
        file,
        imports(file)
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts'))),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push(
          [...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' → '),
        );
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
