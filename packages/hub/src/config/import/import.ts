import { open } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, IssueList, ROOT } from '../errors.js';
import { isRecord } from '../fields.js';
import { parseJsonc } from '../jsonc.js';
import { validate } from '../resolve.js';
import { convertServers, endpointsFrom, serversByName } from './convert.js';
import type { ServerOptions, TetherConfigFile } from './convert.js';
import { shown, tetherNames, transliteratorFor } from './names.js';
import { secretNotes } from './secrets.js';
import { vscodeVariables } from './vscode.js';
import { convertXiaozhi } from './xiaozhi.js';
import type { ServedNames } from './xiaozhi.js';

/**
 * The largest file read. Real configurations are a few KiB; the file may come from anywhere,
 * so the size is checked before anything is read or parsed, as the HTTP door does
 * (docs/security.md, "The door").
 */
export const MAX_IMPORT_BYTES = 4 * 1024 * 1024;

export type ImportFormat = 'xiaozhi-client' | 'mcp_pipe' | 'claude' | 'vscode';

export interface ImportResult {
  format: ImportFormat;
  /** A `tether.config.json` document, ready for JSON.stringify. */
  config: TetherConfigFile;
  /** What the user should know: secrets in plain text, things left out, inputs to set. */
  notes: string[];
}

/** Top-level keys about MCP servers. Other keys are listed as "not carried over", except in VS Code
 * settings.json, which is mostly editor settings. */
const SERVER_KEYS = [
  '$schema',
  'mcpServers',
  'servers',
  'inputs',
  'mcp',
  'mcp.servers',
  'mcp.inputs',
];

/**
 * Read another tool's MCP configuration and produce the equivalent Tether config (`tether
 * import`). Formats: xiaozhi-client's xiaozhi.config.json, mcp_pipe's mcp_config.json (with
 * MCP_ENDPOINT from `env`), Claude Desktop's claude_desktop_config.json, and VS Code's
 * .vscode/mcp.json or settings.json. Anything else is a ConfigError. `servedNames` is the
 * catalog's naming rule (`exposedNames` of catalog/names.ts), which names the tools xiaozhi-client
 * switched off for `tools.exclude`; without it they are listed in the notes instead.
 */
export async function importConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  servedNames?: ServedNames,
): Promise<ImportResult> {
  const path = resolve(file);
  const issues = new IssueList(path);
  const text = await readBounded(path);
  const document = parseJsonc(text.replace(/^\uFEFF/, ''), issues);
  issues.throwIfAny();
  const format = detect(path, document);
  if (format === undefined || !isRecord(document)) {
    throw new ConfigError([
      {
        file: path,
        path: ROOT,
        message:
          'not a known format: expected xiaozhi-client (mcpEndpoint), mcp_pipe or Claude (mcpServers), or VS Code (servers)',
      },
    ]);
  }
  const notes: string[] = [];
  const entries = serverEntries(format, document, notes);
  const original = Object.keys(entries);
  const names = tetherNames(original, await transliteratorFor(original));
  for (const [from, to] of names) {
    if (from === to) continue;
    notes.push(
      `Server ${shown(from, true)} is named "${to}" in Tether (names are letters, digits, "_" and "-"); its tools are served as ${to}__<tool>.`,
    );
  }
  const options: ServerOptions = { names, ...folderOf(format, path) };
  let config: TetherConfigFile;
  let variables = new Map<string, string>();
  if (format === 'xiaozhi-client') {
    ({ config, variables } = convertXiaozhi(document, entries, env, notes, options, servedNames));
  } else {
    config = convert[format](document, entries, env, notes, { ...options, file: path });
    const ignored = Object.keys(document).filter((key) => !SERVER_KEYS.includes(key));
    if (ignored.length > 0 && format !== 'vscode') {
      notes.push(
        `Not carried over (no Tether equivalent): ${ignored.map((key) => shown(key)).join(', ')}.`,
      );
    }
  }
  if (Object.keys(config.mcpServers).length === 0) notes.push('No MCP servers were found.');
  notes.push(...secretNotes(config, variables), ...selfCheck(config));
  return { format, config, notes };
}

/** The file's text, refused unread when it is larger than MAX_IMPORT_BYTES. */
async function readBounded(path: string): Promise<string> {
  const refuse = (message: string): ConfigError =>
    new ConfigError([{ file: path, path: ROOT, message }]);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(code === 'ENOENT' ? 'file not found' : `cannot read the file (${code})`);
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_IMPORT_BYTES) {
      throw refuse(
        `${size} bytes is larger than any MCP configuration (at most ${MAX_IMPORT_BYTES})`,
      );
    }
    // Read at most one byte past the limit: a file that grew after stat() is still refused.
    const buffer = Buffer.alloc(Math.min(size, MAX_IMPORT_BYTES) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_IMPORT_BYTES) {
      throw refuse(`larger than any MCP configuration (at most ${MAX_IMPORT_BYTES} bytes)`);
    }
    return buffer.subarray(0, bytesRead).toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw refuse(
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  } finally {
    await handle.close();
  }
}

/** The server entries of the file, by their name there, before any conversion. */
function serverEntries(
  format: ImportFormat,
  doc: Record<string, unknown>,
  notes: string[],
): Record<string, unknown> {
  if (format !== 'vscode') return serversByName(doc['mcpServers'], notes, 'mcpServers');
  const nested = isRecord(doc['mcp']) ? doc['mcp'] : {};
  const servers = doc['servers'] ?? nested['servers'] ?? doc['mcp.servers'];
  return isRecord(servers) ? servers : {};
}

/**
 * Where the source starts its stdio servers: xiaozhi-client resolves relative paths against its
 * config folder and mcp_pipe runs from the folder holding mcp_config.json; VS Code starts a
 * workspace's servers in the workspace folder (the parent of .vscode). Claude Desktop and VS
 * Code's user settings have no such folder.
 */
function folderOf(format: ImportFormat, path: string): { folder?: string } {
  if (format === 'xiaozhi-client' || format === 'mcp_pipe') return { folder: dirname(path) };
  if (format === 'vscode' && basename(dirname(path)) === '.vscode') {
    return { folder: dirname(dirname(path)) };
  }
  return {};
}

function detect(path: string, doc: unknown): ImportFormat | undefined {
  if (!isRecord(doc)) return undefined;
  const name = basename(path).toLowerCase();
  if ('mcpEndpoint' in doc || 'mcpServerConfig' in doc || name.startsWith('xiaozhi.config')) {
    return 'xiaozhi-client';
  }
  if (isRecord(doc['servers']) && !('mcpServers' in doc)) return 'vscode';
  if ((isRecord(doc['mcp']) && isRecord(doc['mcp']['servers'])) || isRecord(doc['mcp.servers']))
    return 'vscode';
  if (!isRecord(doc['mcpServers']) && !Array.isArray(doc['mcpServers'])) return undefined;
  if (name === 'mcp_config.json') return 'mcp_pipe';
  if (name === 'claude_desktop_config.json') return 'claude';
  // mcp_pipe alone reads `transportType`; otherwise the plain Claude form is the common ground.
  const entries = Object.values(isRecord(doc['mcpServers']) ? doc['mcpServers'] : {});
  return entries.some((entry) => isRecord(entry) && 'transportType' in entry)
    ? 'mcp_pipe'
    : 'claude';
}

type Converter = (
  doc: Record<string, unknown>,
  entries: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  notes: string[],
  options: ServerOptions & { file?: string },
) => TetherConfigFile;

const convert: Record<Exclude<ImportFormat, 'xiaozhi-client'>, Converter> = {
  mcp_pipe: (_doc, entries, env, notes, options) => {
    const endpoints = endpointsFrom((env['MCP_ENDPOINT'] ?? '').split(';'), 'MCP_ENDPOINT', notes);
    if (endpoints.length === 0) {
      notes.push(
        'MCP_ENDPOINT is not set: add an endpoint to "endpoints", or keep setting MCP_ENDPOINT for Tether.',
      );
    }
    const mcpServers = convertServers(entries, 'mcpServers', notes, options);
    return withEndpoints(endpoints, mcpServers);
  },
  claude: (_doc, entries, _env, notes, options) => ({
    mcpServers: convertServers(entries, 'mcpServers', notes, options),
  }),
  vscode: (doc, entries, _env, notes, options) => {
    const nested = isRecord(doc['mcp']) ? doc['mcp'] : {};
    const inputs = doc['inputs'] ?? nested['inputs'] ?? doc['mcp.inputs'];
    const resolveVariables = vscodeVariables(options.file ?? '', inputs, notes);
    const block = isRecord(doc['servers']) ? 'servers' : 'mcp.servers';
    const resolved = resolveVariables(entries);
    return {
      mcpServers: convertServers(isRecord(resolved) ? resolved : {}, block, notes, options),
    };
  },
};

function withEndpoints(
  endpoints: NonNullable<TetherConfigFile['endpoints']>,
  mcpServers: TetherConfigFile['mcpServers'],
): TetherConfigFile {
  return endpoints.length > 0 ? { endpoints, mcpServers } : { mcpServers };
}

/** Validate the result as the hub would, so problems show up now rather than at start-up. */
function selfCheck(config: TetherConfigFile): string[] {
  const issues = new IssueList();
  validate(config, undefined, issues);
  return issues.items.map((issue) => `Fix before starting: ${issue.path}: ${issue.message}`);
}
