import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  files?: string[];
  bin?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** One entry of `npm pack --json`. */
export interface Packed {
  name: string;
  version: string;
  filename: string;
  files: Array<{ path: string }>;
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.name === 'node_modules'
      ? []
      : entry.isDirectory()
        ? walk(join(dir, entry.name))
        : [join(dir, entry.name)],
  );
}

/** The files npm adds to every tarball whatever `files` says. */
const ALWAYS = /^(package\.json|README(\.md)?|LICEN[CS]E(\.md)?)$/i;
const TEST_FILE = /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]sx?$|\.tsbuildinfo$/;

/** What is wrong with a tarball's listing: files outside `files`, tests, build state. */
export function tarballProblems(packed: Packed, manifest: Manifest): string[] {
  const roots = manifest.files ?? [];
  return packed.files.flatMap(({ path }) => {
    if (TEST_FILE.test(path)) return [`${packed.name}: ships a test or build file, ${path}`];
    if (ALWAYS.test(path) || roots.some((root) => path.startsWith(`${root}/`))) return [];
    return [`${packed.name}: ships ${path}, outside its files list`];
  });
}

/**
 * What keeps an installed package from being published and used as it is: marked private, no
 * engines or license, an export without types or pointing at a missing file, a missing bin.
 */
export function manifestProblems(dir: string): string[] {
  const manifest = readManifest(dir);
  const problems: string[] = [];
  const say = (what: string) => problems.push(`${manifest.name}: ${what}`);
  if (manifest.private) say('is private (npm publish refuses it)');
  if (!manifest.engines?.node) say('names no engines.node');
  if (!manifest.license) say('names no license');
  if (!manifest.files?.length) say('has no files list (everything in its folder would ship)');
  for (const [path, target] of Object.entries(manifest.exports ?? {})) {
    const targets = typeof target === 'string' ? { default: target } : target;
    if (targets.default?.endsWith('.js') && !targets.types)
      say(`export ${path} has no types condition`);
    for (const file of Object.values(targets))
      if (!existsSync(join(dir, file))) say(`export ${path} names ${file}, which is not there`);
  }
  for (const [name, file] of Object.entries(manifest.bin ?? {}))
    if (!existsSync(join(dir, file))) say(`bin ${name} names ${file}, which is not there`);
  return problems;
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), else undefined. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return undefined;
  if (builtinModules.includes(spec.split('/')[0]!)) return undefined;
  return spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
}

// Loaded by name through createRequire, which import scanning does not see (pino-pretty,
// kysely, the dashboard's folder).
const REQUIRED = /createRequire\(import\.meta\.url\)(?:\.resolve)?\(\s*['"]([^'"]+)['"]/g;

/**
 * Every bare import in the package's JavaScript whose package it does not declare: such an
 * import works in the workspace only because npm hoists the workspace's dependencies, and
 * fails once installed (how `tether` died on zod before it was declared).
 */
export function undeclaredImports(dir: string): string[] {
  const manifest = readManifest(dir);
  const declared = new Set([
    manifest.name,
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  return walk(dir)
    .filter((file) => /\.[cm]?js$/.test(file))
    .flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const specs = [
        ...ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName),
        ...[...text.matchAll(REQUIRED)].map((m) => m[1]!),
      ];
      return specs
        .map(packageOf)
        .filter((name): name is string => name !== undefined && !declared.has(name))
        .map((name) => `${manifest.name}: ${relative(dir, file)} imports ${name}, not declared`);
    });
}

/**
 * Source maps that name sources the package does not ship (and does not embed): the reason
 * the TypeScript packages ship src/ beside dist/.
 */
export function brokenSourceMaps(dir: string): string[] {
  const name = readManifest(dir).name;
  return walk(dir)
    .filter((file) => file.endsWith('.map'))
    .flatMap((file) => {
      const map = JSON.parse(readFileSync(file, 'utf8')) as {
        sourceRoot?: string;
        sources: string[];
        sourcesContent?: unknown[];
      };
      if (map.sourcesContent?.length === map.sources.length) return [];
      return map.sources
        .map((source) => join(dirname(file), map.sourceRoot ?? '', source))
        .filter((source) => !existsSync(source))
        .map((source) => `${name}: ${relative(dir, file)} names ${relative(dir, source)}`);
    });
}
