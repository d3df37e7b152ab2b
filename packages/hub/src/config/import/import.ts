import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ConfigError, IssueList, ROOT } from '../errors.js';
import { isRecord } from '../fields.js';
import { parseJsonc } from '../jsonc.js';
import { validate } from '../resolve.js';
import { convertServers, endpointsFrom, serversByName } from './convert.js';
import type { TetherConfigFile } from './convert.js';
import { secretNotes } from './secrets.js';
import { vscodeVariables } from './vscode.js';

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
 * .vscode/mcp.json or settings.json. Anything else is a ConfigError.
 */
export async function importConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ImportResult> {
  const path = resolve(file);
  const issues = new IssueList(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        file: path,
        path: ROOT,
        message: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code})`,
      },
    ]);
  }
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
  const config = convert[format](document, path, env, notes);
  const ignored = Object.keys(document).filter(
    (key) =>
      !SERVER_KEYS.includes(key) && !(format === 'xiaozhi-client' && XIAOZHI_USED.includes(key)),
  );
  if (ignored.length > 0 && format !== 'vscode') {
    notes.push(`Not carried over (no Tether equivalent): ${ignored.join(', ')}.`);
  }
  if (Object.keys(config.mcpServers).length === 0) notes.push('No MCP servers were found.');
  notes.push(...secretNotes(config), ...selfCheck(config));
  return { format, config, notes };
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
  path: string,
  env: NodeJS.ProcessEnv,
  notes: string[],
) => TetherConfigFile;

const XIAOZHI_USED = ['mcpEndpoint', 'mcpServerConfig'];

const convert: Record<ImportFormat, Converter> = {
  'xiaozhi-client': (doc, _path, _env, notes) => {
    const raw = doc['mcpEndpoint'];
    const endpoints = endpointsFrom(Array.isArray(raw) ? raw : [raw], 'mcpEndpoint', notes);
    const mcpServers = convertServers(
      serversByName(doc['mcpServers'], notes, 'mcpServers'),
      'mcpServers',
      notes,
    );
    const exclude = disabledTools(doc['mcpServerConfig']);
    if (exclude.length > 0 && endpoints.length > 0) {
      for (const endpoint of endpoints) endpoint.tools = { exclude: [...exclude] };
      notes.push(
        `${exclude.length} tool(s) disabled in mcpServerConfig became "tools.exclude" on each endpoint.`,
      );
    } else if (exclude.length > 0) {
      notes.push(
        `No endpoint to carry the ${exclude.length} disabled tool(s) to; add "tools": { "exclude": ${JSON.stringify(exclude)} } to your endpoints.`,
      );
    }
    return withEndpoints(endpoints, mcpServers);
  },
  mcp_pipe: (doc, _path, env, notes) => {
    const endpoints = endpointsFrom((env['MCP_ENDPOINT'] ?? '').split(';'), 'MCP_ENDPOINT', notes);
    if (endpoints.length === 0) {
      notes.push(
        'MCP_ENDPOINT is not set: add an endpoint to "endpoints", or keep setting MCP_ENDPOINT for Tether.',
      );
    }
    const mcpServers = convertServers(
      serversByName(doc['mcpServers'], notes, 'mcpServers'),
      'mcpServers',
      notes,
    );
    return withEndpoints(endpoints, mcpServers);
  },
  claude: (doc, _path, _env, notes) => ({
    mcpServers: convertServers(
      serversByName(doc['mcpServers'], notes, 'mcpServers'),
      'mcpServers',
      notes,
    ),
  }),
  vscode: (doc, path, _env, notes) => {
    const nested = isRecord(doc['mcp']) ? doc['mcp'] : {};
    const servers = doc['servers'] ?? nested['servers'] ?? doc['mcp.servers'];
    const inputs = doc['inputs'] ?? nested['inputs'] ?? doc['mcp.inputs'];
    const resolveVariables = vscodeVariables(path, inputs, notes);
    const block = isRecord(doc['servers']) ? 'servers' : 'mcp.servers';
    const entries = resolveVariables(isRecord(servers) ? servers : {});
    return { mcpServers: convertServers(isRecord(entries) ? entries : {}, block, notes) };
  },
};

function withEndpoints(
  endpoints: NonNullable<TetherConfigFile['endpoints']>,
  mcpServers: TetherConfigFile['mcpServers'],
): TetherConfigFile {
  return endpoints.length > 0 ? { endpoints, mcpServers } : { mcpServers };
}

/** xiaozhi-client keeps `mcpServerConfig.<server>.tools.<tool>.enable`; false → `server__tool`. */
function disabledTools(value: unknown): string[] {
  const out: string[] = [];
  if (!isRecord(value)) return out;
  for (const [server, entry] of Object.entries(value)) {
    const tools = isRecord(entry) ? entry['tools'] : undefined;
    if (!isRecord(tools)) continue;
    for (const [tool, settings] of Object.entries(tools)) {
      if (isRecord(settings) && settings['enable'] === false) out.push(`${server}__${tool}`);
    }
  }
  return out;
}

/** Validate the result as the hub would, so problems show up now rather than at start-up. */
function selfCheck(config: TetherConfigFile): string[] {
  const issues = new IssueList();
  validate(config, undefined, issues);
  return issues.items.map((issue) => `Fix before starting: ${issue.path}: ${issue.message}`);
}
