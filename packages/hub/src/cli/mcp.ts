import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { catalogFor } from '../catalog/catalog.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import { ConfigError } from '../config/errors.js';
import { servedTools } from '../endpoint/served.js';
import type { ServedTools } from '../endpoint/served.js';
import { loadConfig } from '../config/load.js';
import type { EndpointConfig, TetherConfig } from '../config/types.js';
import { createLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { maskUrl, registerSecrets } from '../log/redact.js';
import { HubRelay } from '../mcp/relay.js';
import { McpSession } from '../mcp/session.js';
import { ViewWatch } from '../mcp/tools.js';
import { UpstreamError } from '../upstream/types.js';
import { HubClient, hubTarget } from './client.js';

export type McpClientKind = 'claude' | 'vscode' | 'cursor';
export const MCP_CLIENTS: readonly McpClientKind[] = ['claude', 'vscode', 'cursor'];

export interface McpFlags {
  url?: string;
  token?: string;
  endpoint?: string;
  config?: string;
  /** `--print-config [client]`: true when no client was named (Claude's form, then). */
  printConfig?: string | boolean;
}

/** The `tether` launcher beside this build (bin/tether.js), whatever the working directory. */
const LAUNCHER = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));

/**
 * `tether mcp`: the hub's tools as a stdio MCP server, for clients that spawn their servers.
 * stdout carries JSON-RPC and nothing else; every log line goes to stderr.
 *
 *   tether mcp [--url URL] [--token T] [--endpoint NAME]   relays to a running hub's /mcp
 *   tether mcp --config FILE [--endpoint NAME]             runs FILE's servers here, no hub
 *   tether mcp --print-config [claude|vscode|cursor]       prints the client's config snippet
 */
export async function runMcp(flags: McpFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (flags.printConfig !== undefined && flags.printConfig !== false) {
    const kind = flags.printConfig === true ? 'claude' : flags.printConfig;
    if (!MCP_CLIENTS.includes(kind as McpClientKind))
      throw new Error(`--print-config takes one of ${MCP_CLIENTS.join(', ')}, not ${kind}`);
    const { snippet, notes } = mcpSnippet(kind as McpClientKind, flags, env);
    process.stdout.write(`${JSON.stringify(snippet, null, 2)}\n`);
    for (const note of notes) process.stderr.write(`// ${note}\n`);
    return;
  }
  const logger = createLogger({
    destination: process.stderr,
    pretty: Boolean(process.stderr.isTTY),
    level: env.TETHER_LOG_LEVEL ?? 'info',
  });
  const stop = flags.config
    ? await serveConfig(flags, flags.config, env, logger)
    : await relay(flags, env, logger);
  let stopping = false;
  const end = (code: number) => {
    if (stopping) return;
    stopping = true;
    // Children are reaped and the hub's session ended within the time a client waits.
    setTimeout(() => process.exit(code), 5_000).unref();
    stop.close().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => end(0));
  process.on('SIGTERM', () => end(0));
  // The client closing our stdin is the usual way a stdio server is told to go.
  void stop.done.then(() => end(0));
}

interface Running {
  /** Settles when the client has gone (stdin ended). */
  done: Promise<void>;
  close(): Promise<void>;
}

/** Relays stdio to a running hub's /mcp (mcp/relay.ts). */
async function relay(flags: McpFlags, env: NodeJS.ProcessEnv, logger: Logger): Promise<Running> {
  const target = hubTarget(flags, env);
  // The same checks as every command that talks to a hub: a usable URL, a header-safe token.
  new HubClient(target);
  const path = flags.endpoint ? `/mcp/${encodeURIComponent(flags.endpoint)}` : '/mcp';
  const url = new URL(path, target.url);
  const forget = registerSecrets([target.token]);
  const relay = new HubRelay({
    url,
    ...(target.token !== undefined && { token: target.token }),
    local: new StdioServerTransport(),
    logger,
  });
  await relay.start();
  logger.info(`tether mcp: serving ${maskUrl(url.href)} on stdio`);
  return {
    done: relay.done,
    async close() {
      await relay.close();
      forget();
    },
  };
}

/**
 * The servers of a configuration file, run here and served on stdio, for a machine with no hub
 * running. It is a Hub with no endpoints — the same supervision, catalog, names, call path and
 * reloads as `tether start` — and no store: its calls go to no call log, and it never touches
 * the state of a hub that may run beside it. `--endpoint NAME` serves what the file gives that
 * endpoint, without dialling it.
 */
async function serveConfig(
  flags: McpFlags,
  file: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<Running> {
  const { loaded, scopeOf } = await load(file, flags.endpoint, env);
  let scope = scopeOf(loaded);
  const { Hub } = await import('../hub.js');
  const hub = new Hub(withoutEndpoints(loaded), { logger, instance: 'tether-mcp' });
  await hub.start();
  // What is served, made once per catalog and scope, so the watch below sees "the same" as the
  // same: the whole catalog, or what the file gives the endpoint (its filters and budget).
  let memo:
    | { catalog: readonly CatalogEntry[]; scope: EndpointConfig | undefined; served: ServedTools }
    | undefined;
  const served = (): ServedTools => {
    const catalog = hub.servedTools()?.listed ?? [];
    if (memo?.catalog !== catalog || memo.scope !== scope)
      memo = {
        catalog,
        scope,
        served: scope
          ? servedTools(catalogFor(catalog, scope), scope.tools)
          : { listed: catalog, allowed: catalog },
      };
    return memo.served;
  };
  const transport = new StdioServerTransport();
  const session = new McpSession(transport, {
    version: '0.1.0',
    logger,
    served,
    call: (name, args, options, meta) =>
      scope && !served().allowed.some((e) => e.name === name)
        ? Promise.reject(new UpstreamError('UPSTREAM_UNKNOWN_TOOL', `Unknown tool: ${name}`))
        : hub.callTool(name, args, options, { meta }),
    maxCalls: () => hub.settings.limits.callsPerEndpoint,
  });
  const watch = new ViewWatch(() => served().listed);
  const onTools = () => {
    if (watch.changed()) session.toolsChanged();
  };
  hub.on('tools', onTools);
  const done = new Promise<void>((resolve) => {
    const onclose = transport.onclose;
    transport.onclose = () => {
      onclose?.call(transport);
      resolve();
    };
  });
  await session.start();
  const { watchConfig } = await import('../config/watch.js');
  const stopWatching = watchConfig(
    file,
    (next) => {
      scope = scopeOf(next) ?? scope;
      void hub
        .apply(withoutEndpoints(next))
        .then(onTools)
        .catch((error: Error) =>
          logger.error({ err: error }, 'could not apply the new configuration'),
        );
    },
    (error) => logger.error({ err: error }, `configuration not applied: ${error.message}`),
    { env, current: loaded },
  );
  logger.info(
    `tether mcp: serving the servers of ${resolve(file)}${flags.endpoint ? ` as endpoint ${flags.endpoint} sees them` : ''} on stdio`,
  );
  return {
    done,
    async close() {
      stopWatching();
      hub.off('tools', onTools);
      await session.close().catch(() => {});
      await hub.stop();
    },
  };
}

async function load(file: string, endpoint: string | undefined, env: NodeJS.ProcessEnv) {
  const { config } = await loadConfig({ file, env });
  const scopeOf = (c: TetherConfig) =>
    endpoint === undefined ? undefined : c.endpoints.find((e) => e.name === endpoint);
  if (endpoint !== undefined && !scopeOf(config))
    throw new ConfigError([
      {
        file: resolve(file),
        path: 'endpoints',
        message: `no endpoint named ${endpoint} (--endpoint serves what one of the file's endpoints sees)`,
      },
    ]);
  return { loaded: config, scopeOf };
}

/** The file's servers and settings; its endpoints are the running hub's business, not ours. */
function withoutEndpoints(config: TetherConfig): TetherConfig {
  return { ...config, endpoints: [] };
}

/**
 * The snippet that makes a client start `tether mcp` with these flags, in the client's own
 * form — what `tether import` reads back (config/import). The command is this Node and this
 * launcher by absolute path: clients start their servers with a PATH of their own (Claude
 * Desktop's is not the shell's), so a bare `tether` or `npx` may not be found. The token is
 * never printed: VS Code asks for it (an input), the others get a placeholder to fill in.
 */
export function mcpSnippet(
  kind: McpClientKind,
  flags: McpFlags,
  env: NodeJS.ProcessEnv,
): { snippet: Record<string, unknown>; notes: string[] } {
  const notes: string[] = [];
  const url = flags.url || env.TETHER_URL;
  const args = [LAUNCHER, 'mcp'];
  if (flags.config) args.push('--config', resolve(flags.config));
  else if (url) args.push('--url', url);
  if (flags.endpoint) args.push('--endpoint', flags.endpoint);
  const needsToken = !flags.config && Boolean(flags.token || env.TETHER_ADMIN_TOKEN);
  const name = flags.endpoint ? `tether-${flags.endpoint}` : 'tether';
  const server: Record<string, unknown> = { command: process.execPath, args };
  if (kind === 'vscode') {
    const entry = { type: 'stdio', ...server };
    if (!needsToken) return { snippet: { servers: { [name]: entry } }, notes: [where(kind)] };
    notes.push('VS Code asks for the admin token the first time it starts the server.');
    return {
      snippet: {
        inputs: [
          {
            type: 'promptString',
            id: 'tether-admin-token',
            description: "Tether's admin token",
            password: true,
          },
        ],
        servers: {
          [name]: { ...entry, env: { TETHER_ADMIN_TOKEN: '${input:tether-admin-token}' } },
        },
      },
      notes: [...notes, where(kind)],
    };
  }
  if (needsToken) {
    server.env = { TETHER_ADMIN_TOKEN: '<the admin token>' };
    notes.push("Replace <the admin token> with the hub's admin token (it is not printed here).");
  }
  return { snippet: { mcpServers: { [name]: server } }, notes: [...notes, where(kind)] };
}

function where(kind: McpClientKind): string {
  switch (kind) {
    case 'claude':
      return 'Merge into "mcpServers" of claude_desktop_config.json (Claude Desktop: Settings → Developer → Edit Config), then restart Claude Desktop.';
    case 'cursor':
      return 'Merge into "mcpServers" of ~/.cursor/mcp.json (or .cursor/mcp.json in a project).';
    case 'vscode':
      return 'Merge into .vscode/mcp.json (or the user configuration: "MCP: Open User Configuration").';
  }
}
