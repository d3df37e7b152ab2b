import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['protocol', 'link', 'testkit', 'hub', 'session'] as const;

/** Which of our packages each package may import (STYLE.md: protocol ← link ← hub; testkit for tests and `sim`). */
const allowed: Record<string, string[]> = {
  protocol: [],
  link: ['protocol'],
  testkit: ['protocol'],
  hub: ['protocol', 'link', 'testkit'],
  session: ['protocol', 'link'],
};

function sources(pkg: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? walk(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [join(dir, entry.name)]
          : [],
    );
  return walk(join(root, 'packages', pkg, 'src'));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      /(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => m[1] ?? m[2]!);
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
            .filter((spec) => spec.startsWith('node:') || spec === 'ws' || spec === 'ioredis')
            .map((spec) => `${relative(root, file)} → ${spec}`),
        );
      expect(offending).toEqual([]);
    },
  );

  it.each(packages)('has no import cycles inside %s', (pkg) => {
    const files = sources(pkg);
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
      'fullJitterBackoff',
      'isLinkError',
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
        "HubEventSchema",
        "JsonRpcErrorObjectSchema",
        "JsonRpcFailureSchema",
        "JsonRpcIdSchema",
        "JsonRpcNotificationSchema",
        "JsonRpcRequestSchema",
        "JsonRpcSuccessSchema",
        "LinkStateSchema",
        "MCP_PROTOCOL_VERSION",
        "Method",
        "PageSchema",
        "ServerInputSchema",
        "ServerViewSchema",
        "SessionInfoSchema",
        "TimelineItemSchema",
        "ToolFilterSchema",
        "ToolViewSchema",
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
