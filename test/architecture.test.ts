import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['protocol', 'link', 'testkit', 'hub', 'session', 'dashboard'] as const;

/**
 * Which of our packages each package may import (docs/architecture.md, "The parts": protocol ←
 * link ← hub/session; the dashboard takes only types from protocol; testkit for tests, `sim` and
 * the demo).
 */
const allowed: Record<string, string[]> = {
  protocol: [],
  link: ['protocol'],
  testkit: ['protocol'],
  hub: ['protocol', 'link', 'testkit', 'session'],
  session: ['protocol', 'link'],
  dashboard: ['protocol'],
};

/** Modules that exist only on Node: none may be reached from an entry that runs anywhere. */
const nodeOnly = (spec: string): boolean =>
  spec.startsWith('node:') ||
  builtinModules.includes(spec) ||
  [
    'ws',
    'ioredis',
    '@tether/link/node',
    '@tether/session/server',
    '@tether/session/gateway',
  ].includes(spec);

function sources(pkg: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? walk(join(dir, entry.name))
        : /\.tsx?$/.test(entry.name)
          ? [join(dir, entry.name)]
          : [],
    );
  return walk(join(root, 'packages', pkg, 'src'));
}

interface Import {
  spec: string;
  /** `import type … from` or `export type … from`: erased from the JavaScript. */
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      /(import|export)(\s+type\s)?[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm,
    ),
  ].map((m) => ({ spec: (m[3] ?? m[4] ?? m[5])!, typeOnly: m[2] !== undefined }));
}

function imports(file: string): string[] {
  return importsOf(file).map((i) => i.spec);
}

/** The source file a relative import names (`./ui.js` is `ui.ts` or `ui.tsx`). */
function resolveLocal(file: string, spec: string): string {
  const base = resolve(dirname(file), spec.replace(/\.js$/, ''));
  return [`${base}.ts`, `${base}.tsx`].find((f) => existsSync(f)) ?? `${base}.ts`;
}

/** `entry` and every file of its package it reaches through relative imports. */
function reached(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of imports(file)) if (spec.startsWith('.')) visit(resolveLocal(file, spec));
  };
  visit(entry);
  return [...seen];
}

describe('architecture', () => {
  it.each(packages)('%s imports only the packages below it', (pkg) => {
    const offending = sources(pkg).flatMap((file) =>
      imports(file)
        .filter((spec) => spec.startsWith('@tether/'))
        .map((spec) => spec.split('/')[1]!)
        .filter((dep) => !allowed[pkg]!.includes(dep))
        .map((dep) => `${relative(root, file)} → @tether/${dep}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps the hub importing the testkit only for `tether sim` and the demo', () => {
    const users = sources('hub').filter((file) =>
      imports(file).some((spec) => spec.startsWith('@tether/testkit')),
    );
    expect(users.map((file) => relative(root, file))).toEqual([
      'packages/hub/src/cli/sim.ts',
      'packages/hub/src/demo/demo.ts',
    ]);
  });

  it.each(['protocol', 'link'])(
    'keeps the root entry of %s runtime-neutral (no node: or ws outside node.ts)',
    (pkg) => {
      const offending = sources(pkg)
        .filter((file) => !file.endsWith('/node.ts'))
        .flatMap((file) =>
          imports(file)
            .filter(nodeOnly)
            .map((spec) => `${relative(root, file)} → ${spec}`),
        );
      expect(offending).toEqual([]);
    },
  );

  it('keeps the root entry of session runtime-neutral (Node code only under server/)', () => {
    const entry = join(root, 'packages/session/src/index.ts');
    const files = reached(entry);
    expect(files.filter((file) => file.includes('/src/server/'))).toEqual([]);
    const offending = files.flatMap((file) =>
      imports(file)
        .filter(nodeOnly)
        .map((spec) => `${relative(root, file)} → ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps the dashboard taking only types from @tether/protocol (no zod in the page)', () => {
    const offending = sources('dashboard').flatMap((file) =>
      importsOf(file)
        .filter(({ spec, typeOnly }) => spec.startsWith('@tether/') && !typeOnly)
        .map(({ spec }) => `${relative(root, file)} → ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps the dashboard free of Node-only modules (it runs in the browser)', () => {
    const offending = sources('dashboard').flatMap((file) =>
      imports(file)
        .filter(nodeOnly)
        .map((spec) => `${relative(root, file)} → ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it.each(packages)('has no import cycles inside %s', (pkg) => {
    const files = sources(pkg);
    const graph = new Map(
      files.map((file) => [
        file,
        imports(file)
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => resolveLocal(file, spec)),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push(
          [...path.slice(path.indexOf(file)), file].map((f) => relative(root, f)).join(' → '),
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

/**
 * The layers inside the hub, lowest first (docs/architecture.md, "Module map"): a module
 * imports only from its own layer's folder or from layers below, so the parts compose upward
 * into hub.ts and nothing below knows the composition.
 */
const hubLayers: string[][] = [
  // repair/ is pure (no I/O, no imports outside itself), so it sits at the bottom: the store
  // names its ArgumentRepair type, and the call path above uses it.
  ['log', 'repair'],
  ['store', 'config'],
  ['upstream', 'coord'],
  // finder/ (the router's search) knows only tool-shaped values: beside the catalog, below the
  // endpoint that serves it.
  ['catalog', 'notify', 'finder'],
  ['calls', 'monitor'],
  ['endpoint'],
  ['hub'],
  ['hub.ts'],
  ['mcp'],
  ['http'],
  ['demo'],
  ['cli'],
  ['index.ts'],
];

/** The layer a file of packages/hub/src belongs to: its folder, or its own name at the top. */
function hubPart(file: string): string {
  return relative(join(root, 'packages/hub/src'), file).split('/')[0]!;
}

function hubRank(part: string): number {
  const rank = hubLayers.findIndex((layer) => layer.includes(part));
  if (rank < 0) throw new Error(`packages/hub/src/${part} is in no layer of hubLayers`);
  return rank;
}

describe('layers inside the hub', () => {
  it('has every folder of packages/hub/src in a layer', () => {
    const parts = new Set(sources('hub').map(hubPart));
    expect([...parts].filter((p) => !hubLayers.flat().includes(p))).toEqual([]);
  });

  it('points every import inside the hub down, never up or sideways', () => {
    const offending = sources('hub').flatMap((file) => {
      const from = hubPart(file);
      return imports(file)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => hubPart(resolveLocal(file, spec)))
        .filter((to) => to !== from && hubRank(to) >= hubRank(from))
        .map((to) => `${relative(root, file)} → ${to}`);
    });
    expect(offending).toEqual([]);
  });

  it('keeps repair/ pure: it imports nothing but its own files (no I/O, no packages)', () => {
    const offending = sources('hub')
      .filter((file) => hubPart(file) === 'repair')
      .flatMap((file) =>
        imports(file)
          .filter((spec) => !spec.startsWith('./'))
          .map((spec) => `${relative(root, file)} → ${spec}`),
      );
    expect(offending).toEqual([]);
  });

  it.each([
    ['config', 'notify'],
    ['monitor', 'endpoint'],
    ['catalog', 'store'],
    ['http', 'hub.ts'],
    ['mcp', 'hub.ts'],
  ])('keeps %s from importing %s', (from, to) => {
    const offending = sources('hub')
      .filter((file) => hubPart(file) === from)
      .filter((file) =>
        imports(file).some(
          (spec) => spec.startsWith('.') && hubPart(resolveLocal(file, spec)) === to,
        ),
      );
    expect(offending.map((f) => relative(root, f))).toEqual([]);
  });
});

describe('public surface', () => {
  it('pins the exports of @tether/link', async () => {
    const link = await import('../packages/link/src/index.js');
    expect(Object.keys(link).sort()).toEqual([
      'ConnectBudget',
      'Emitter',
      'Link',
      'LinkError',
      'attachPageLifecycle',
      'browserSocketFactory',
      'defaultUnwelcome',
      'equalJitter',
      'exponentialCeiling',
      'fullJitter',
      'fullJitterBackoff',
      'isLinkError',
      'outageCeiling',
      'systemClock',
    ]);
    const node = await import('../packages/link/src/node.js');
    expect(Object.keys(node)).toEqual(['wsSocketFactory']);
  });

  it('pins the exports of @tether/protocol', async () => {
    const protocol = await import('../packages/protocol/src/index.js');
    expect(Object.keys(protocol).sort()).toMatchInlineSnapshot(`
      [
        "ApiErrorSchema",
        "CallItemSchema",
        "CloseCode",
        "EndpointInputSchema",
        "EndpointToolSchema",
        "EndpointViewSchema",
        "ErrorCode",
        "HealthSchema",
        "HubEventSchema",
        "JsonRpcErrorObjectSchema",
        "JsonRpcFailureSchema",
        "JsonRpcIdSchema",
        "JsonRpcNotificationSchema",
        "JsonRpcRequestSchema",
        "JsonRpcSuccessSchema",
        "LinkStateSchema",
        "MCP_PROTOCOL_VERSION",
        "McpSessionItemSchema",
        "Method",
        "PageSchema",
        "ServerInputSchema",
        "ServerViewSchema",
        "SessionInfoSchema",
        "TimelineItemSchema",
        "ToolCallResultSchema",
        "ToolFilterSchema",
        "ToolStatsItemSchema",
        "ToolStatsSchema",
        "ToolViewSchema",
        "UptimeBucketSchema",
        "UptimeCauseSchema",
        "UptimeLevelSchema",
        "UptimeSchema",
        "XIAOZHI_CLIENT_INFO",
        "classifyFrame",
        "classifyMessage",
        "idKey",
        "isFailure",
        "isJsonRpcId",
      ]
    `);
  });
});
