import { randomBytes } from 'node:crypto';
import { open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { applyEdits, findNodeAtLocation, modify, parseTree } from 'jsonc-parser';
import type { Edit, FormattingOptions } from 'jsonc-parser';
import { ConfigError, formatPath, IssueList } from '../config/errors.js';
import type { PathSegment } from '../config/errors.js';
import { parseJsonc } from '../config/jsonc.js';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { parseConfig } from '../config/resolve.js';
import { maskedAt } from '../log/mask.js';
import { CliError, EXIT } from './context.js';
import type { CliContext } from './context.js';

export interface ConfigFlags {
  config?: string;
  json?: boolean;
  showSecrets?: boolean;
}

/**
 * `endpoints[0].url`, `mcpServers.calc.args[1]`, `mcpServers["my server"].command` → segments.
 * A bare segment is anything but `.`, `[` and `]`; numbers in brackets index arrays.
 */
export function parsePath(text: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const token = /\.?([^.[\]"']+)|\[(\d+)\]|\[(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\]/y;
  let at = 0;
  while (at < text.length) {
    token.lastIndex = at;
    const match = token.exec(text);
    // A leading dot, or a dot after nothing, is a typo, not an empty key.
    if (!match || (match[0].startsWith('.') && at === 0))
      throw new CliError(
        'BAD_PATH',
        `cannot read the path ${JSON.stringify(text)} at character ${at + 1}: write it as hub.port, endpoints[0].url or mcpServers["my server"].command`,
      );
    const [, bare, index, doubleQuoted, singleQuoted] = match;
    if (bare !== undefined) segments.push(bare);
    else if (index !== undefined) segments.push(Number(index));
    else if (doubleQuoted !== undefined) segments.push(JSON.parse(`"${doubleQuoted}"`) as string);
    else segments.push(singleQuoted!);
    at = token.lastIndex;
  }
  if (segments.length === 0) throw new CliError('BAD_PATH', 'the path is empty');
  return segments;
}

/** A command-line value: JSON when it parses as JSON (`9000`, `true`, `["*"]`), else the text. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The file the commands edit: --config, else ./tether.config.json, as `tether start` reads. */
function fileOf(ctx: CliContext, flags: ConfigFlags): { file: string; shown: string } {
  const file = resolve(ctx.cwd, flags.config ?? DEFAULT_CONFIG_FILE);
  return { file, shown: relative(ctx.cwd, file).startsWith('..') ? file : relative(ctx.cwd, file) };
}

async function readText(file: string, shownFile: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError('CANNOT_READ', `cannot read ${shownFile}: ${(error as Error).message}`);
  }
}

/** The document as written (no `${VAR}` expanded, no defaults), or why it cannot be read. */
function parseDocument(text: string, file: string): unknown {
  const issues = new IssueList(file);
  const document = parseJsonc(text.replace(/^\uFEFF/, ''), issues);
  if (!issues.empty) throw invalid(new ConfigError(issues.items), 'the file does not parse');
  return document;
}

function invalid(error: ConfigError, what: string): CliError {
  return new CliError(
    'CONFIG_INVALID',
    `${what}:\n${error.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    EXIT.INVALID_CONFIG,
  );
}

/** The node at `path`, or where the walk stopped and why. */
function lookup(
  document: unknown,
  path: readonly PathSegment[],
): { found: true; value: unknown } | { found: false; at: number; why: string } {
  let node = document;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (Array.isArray(node)) {
      if (typeof segment !== 'number')
        return {
          found: false,
          at: i,
          why: `${formatPath(path.slice(0, i))} is a list: index it with [N]`,
        };
      if (segment >= node.length) return { found: false, at: i, why: 'not set' };
      node = node[segment];
    } else if (node !== null && typeof node === 'object') {
      if (typeof segment === 'number')
        return {
          found: false,
          at: i,
          why: `${formatPath(path.slice(0, i))} is an object: name a key (.key or ["key"])`,
        };
      if (!Object.hasOwn(node, segment)) return { found: false, at: i, why: 'not set' };
      node = (node as Record<string, unknown>)[segment];
    } else {
      return {
        found: false,
        at: i,
        why: `${formatPath(path.slice(0, i))} is ${node === null ? 'null' : `a ${typeof node}`}, which has no ${formatPath([segment])}`,
      };
    }
  }
  return { found: true, value: node };
}

/** `tether config get [PATH]`: the file's value at PATH (the whole file without one). */
export async function configGet(
  ctx: CliContext,
  pathText: string | undefined,
  flags: ConfigFlags,
): Promise<void> {
  const { file, shown } = fileOf(ctx, flags);
  const text = await readText(file, shown);
  if (text === undefined)
    throw new CliError(
      'NO_CONFIG_FILE',
      `there is no ${shown}: \`tether config set PATH VALUE\` creates it, or pass --config FILE`,
    );
  const document = parseDocument(text, file);
  const path = pathText === undefined ? [] : parsePath(pathText);
  const found = lookup(document, path);
  if (!found.found)
    throw new CliError(
      'NOT_SET',
      found.why === 'not set'
        ? `${formatPath(path)} is not set in ${shown} (the default applies, if it has one)`
        : found.why,
    );
  // Masked in its container: an item of `args` is a secret when the one before it is `--api-key`.
  const value = flags.showSecrets ? found.value : maskedAt(document, path);
  ctx.out(typeof value === 'string' && !flags.json ? value : JSON.stringify(value, null, 2));
}

/**
 * How the file indents and ends its lines, so an edit looks like the rest of it; undefined for
 * an edit inside a container written on one line, which stays on one line (formatting would
 * spread the whole line out).
 */
function formattingOf(text: string, path: readonly PathSegment[]): FormattingOptions | undefined {
  const root = parseTree(text);
  for (let depth = path.length - 1; root && depth >= 0; depth--) {
    const node = findNodeAtLocation(root, path.slice(0, depth) as PathSegment[]);
    if (node === undefined) continue;
    if (!/[\r\n]/.test(text.slice(node.offset, node.offset + node.length))) return undefined;
    break;
  }
  const indent = /^([ \t]+)\S/m.exec(text)?.[1];
  return {
    insertSpaces: !indent?.startsWith('\t'),
    tabSize: indent && !indent.startsWith('\t') ? indent.length : 2,
    eol: text.includes('\r\n') ? '\r\n' : '\n',
  };
}

/**
 * The edit that removes the last item of a list (not its only one), or undefined for any other
 * change. jsonc-parser 3.3 removes one character too few there when the list has no space after
 * its commas (`["a","b"]` becomes `["a""]`), so that case is cut here: from the end of the item
 * before it to the end of this one, the comma with it.
 */
function removeLastItem(text: string, path: readonly PathSegment[]): Edit[] | undefined {
  const root = parseTree(text);
  const node = root && findNodeAtLocation(root, path as PathSegment[]);
  const siblings = node?.parent?.type === 'array' ? (node.parent.children ?? []) : [];
  const at = node ? siblings.indexOf(node) : -1;
  if (!node || at < 1 || at !== siblings.length - 1) return undefined;
  const previous = siblings[at - 1]!;
  const from = previous.offset + previous.length;
  return [{ offset: from, length: node.offset + node.length - from, content: '' }];
}

/**
 * The checks `tether start` makes (config/resolve.ts), on the text about to be written. A
 * `${VAR}` this shell does not have is a warning, not a refusal: the hub may well have it
 * (the service's environment file). MCP_ENDPOINT belongs to the hub's process, not the file.
 */
export function checkConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
): Array<{ path: string; message: string }> {
  const { MCP_ENDPOINT: _ignored, ...fileEnv } = env;
  try {
    parseConfig(text, { file, env: fileEnv });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const unset = (message: string) => /^environment variable \S+ is not set$/.test(message);
    const real = error.issues.filter((i) => !unset(i.message));
    if (real.length > 0)
      throw invalid(new ConfigError(real), `not written: ${basename(file)} would be invalid`);
    return error.issues.map((i) => ({
      path: i.path,
      message: `${i.path}: ${i.message} here; the hub needs it in its environment`,
    }));
  }
}

/** `tether config set PATH VALUE` and `tether config unset PATH`. */
export async function configChange(
  ctx: CliContext,
  pathText: string,
  value: unknown,
  flags: ConfigFlags,
): Promise<void> {
  const unset = value === undefined;
  const { file, shown } = fileOf(ctx, flags);
  const path = parsePath(pathText);
  const before = await readText(file, shown);
  if (before === undefined && unset)
    throw new CliError(
      'NO_CONFIG_FILE',
      `there is no ${shown}: nothing to unset (pass --config FILE?)`,
    );
  const text = before ?? '{}\n';
  const document = parseDocument(text, file);
  const found = lookup(document, path);
  // The walk must reach the parent: a new key may be created, not a key under a number.
  if (!found.found && found.why !== 'not set') throw new CliError('BAD_PATH', found.why);
  if (!found.found && unset)
    throw new CliError('NOT_SET', `${formatPath(path)} is not set in ${shown}; nothing changed`);
  if (!found.found && typeof path[found.at] === 'number') {
    // An index one past the end adds an item; further would leave a hole JSON cannot hold.
    const list = lookup(document, path.slice(0, found.at));
    const length = list.found && Array.isArray(list.value) ? list.value.length : 0;
    if ((path[found.at] as number) > length)
      throw new CliError(
        'BAD_PATH',
        `${formatPath(path.slice(0, found.at))} has ${length} items: [${length}] adds one`,
      );
  }
  const formattingOptions = formattingOf(text, path);
  const edits =
    (unset && removeLastItem(text, path)) ||
    modify(text, path, value, formattingOptions ? { formattingOptions } : {});
  const next = applyEdits(text, edits);
  // Only what this change brought: the file's other ${VAR}s were there before it.
  const changed = formatPath(path);
  const warnings = checkConfig(next, file, ctx.env)
    .filter(
      (w) =>
        w.path === changed || w.path.startsWith(`${changed}.`) || w.path.startsWith(`${changed}[`),
    )
    .map((w) => w.message);
  await writeAtomically(file, next);
  // Each value masked in the document it sits in (see configGet): the new one in the new text.
  const previous = found.found
    ? flags.showSecrets
      ? found.value
      : maskedAt(document, path)
    : undefined;
  const shownNew = unset || flags.showSecrets ? value : maskedAt(parseDocument(next, file), path);
  if (flags.json) {
    ctx.out(
      JSON.stringify(
        {
          file,
          path: formatPath(path),
          ...(unset ? { removed: true } : { value: shownNew }),
          ...(found.found && { previous }),
          warnings,
        },
        null,
        2,
      ),
    );
  } else {
    const what = unset
      ? `removed ${formatPath(path)} (was ${JSON.stringify(previous)})`
      : `${formatPath(path)} = ${JSON.stringify(shownNew)}${found.found ? ` (was ${JSON.stringify(previous)})` : ''}`;
    ctx.out(`${what} in ${shown}; a hub running with this file applies it by itself`);
    for (const warning of warnings) ctx.err(`warning: ${warning}`);
  }
}

/**
 * Replaces the file in one step: a hub watching it (config/watch.ts) or a crash midway never
 * sees half a file. The temp file sits beside the target (a rename never crosses file systems)
 * with its mode; a symlinked config stays a symlink, its target replaced. The text is flushed to
 * disk before the rename, so a crash just after it leaves the new file, not an empty one; a write
 * that fails (a full disk) removes the temp file again.
 */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const target = await realpath(file).catch(() => file);
  // A new file may hold endpoint tokens: readable by its owner only.
  const mode = ((await stat(target).catch(() => undefined))?.mode ?? 0o600) & 0o777;
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(text);
      // The umask may have narrowed the mode at creation.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
