import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parse } from 'jsonc-parser';
import type { EndpointTool, EndpointView, ServerView, ToolView } from '@tether/protocol';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { formatPath } from '../config/errors.js';
import { printable } from '../log/printable.js';
import { HubClient, HubClientError, hubTarget } from './client.js';
import { CliError, EXIT } from './context.js';
import type { CliContext } from './context.js';
import { renderEndpointList, renderServers } from './views.js';

/** The flags of every command that talks to a running hub. */
export interface HubFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

const id = (name: string) => encodeURIComponent(name);
const shown = (value: unknown) => printable(String(value));

/**
 * The CLI's side of the hub's management API (docs/cli.md). Each method does one command and
 * prints its outcome: what changed in words, or with --json the API's view of the thing after
 * the change. A refusal of the hub is turned into what to do about it (`explain`).
 */
export class Manage {
  private readonly hub: HubClient;

  constructor(
    private readonly ctx: CliContext,
    private readonly flags: HubFlags,
  ) {
    this.hub = new HubClient(hubTarget(flags, ctx.env));
  }

  // ── endpoints ─────────────────────────────────────────────────────────────────────────────

  async endpointAdd(
    name: string,
    url: string,
    options: { include?: string[]; exclude?: string[]; disabled?: boolean },
  ): Promise<void> {
    const body = {
      name,
      url,
      enabled: !options.disabled,
      tools: {
        include: options.include?.length ? options.include : ['*'],
        exclude: options.exclude ?? [],
      },
    };
    const view = await this.explain(
      () => this.hub.post<EndpointView>('/api/endpoints', body),
      'endpoint',
      name,
    );
    this.print(view, `added endpoint ${shown(name)} (${shown(view.url)}): ${shown(view.state)}`);
  }

  async endpointList(): Promise<void> {
    const list = await this.hub.get<EndpointView[]>('/api/endpoints');
    this.print(list, renderEndpointList(list, this.ctx.colour));
  }

  async endpointRemove(name: string): Promise<void> {
    await this.explain(() => this.hub.delete(`/api/endpoints/${id(name)}`), 'endpoint', name);
    this.print({ removed: name }, `removed endpoint ${shown(name)}`);
  }

  async endpointSwitch(name: string, enabled: boolean): Promise<void> {
    const verb = enabled ? 'enable' : 'disable';
    await this.explain(
      () => this.hub.post(`/api/endpoints/${id(name)}/${verb}`, {}),
      'endpoint',
      name,
    );
    const view = await this.hub.get<EndpointView>(`/api/endpoints/${id(name)}`);
    this.print(
      view,
      enabled
        ? `enabled endpoint ${shown(name)}: ${shown(view.state)}`
        : `disabled endpoint ${shown(name)}: its socket is closed until \`tether endpoint enable ${shown(name)}\``,
    );
  }

  async endpointRetry(name: string): Promise<void> {
    const before = await this.explain(
      () => this.hub.get<EndpointView>(`/api/endpoints/${id(name)}`),
      'endpoint',
      name,
    );
    if (!before.enabled)
      throw new CliError(
        'DISABLED',
        `endpoint ${name} is disabled; \`tether endpoint enable ${name}\` connects it`,
      );
    await this.explain(
      () => this.hub.post(`/api/endpoints/${id(name)}/retry`, {}),
      'endpoint',
      name,
    );
    const view = await this.hub.get<EndpointView>(`/api/endpoints/${id(name)}`);
    // A retry skips a wait or wakes a parked endpoint; a connected one is left as it is.
    const waiting = before.state === 'backoff' || before.state === 'parked';
    this.print(
      view,
      waiting
        ? `endpoint ${shown(name)} tries again now (it was ${shown(before.state)}); \`tether status\` follows it`
        : `endpoint ${shown(name)} is ${shown(before.state)}: nothing to skip (a retry wakes an endpoint that waits to reconnect or is parked)`,
    );
  }

  // ── servers ───────────────────────────────────────────────────────────────────────────────

  async serverAdd(name: string, body: Record<string, unknown>): Promise<void> {
    const view = await this.explain(
      () => this.hub.post<ServerView>('/api/servers', { name, ...body }),
      'server',
      name,
    );
    this.print(view, `added server ${shown(name)} (${shown(view.target)}): ${serverState(view)}`);
  }

  async serverList(withTools: boolean): Promise<void> {
    const [servers, tools] = await Promise.all([
      this.hub.get<ServerView[]>('/api/servers'),
      withTools ? this.hub.get<ToolView[]>('/api/tools') : undefined,
    ]);
    const byServer = new Map<string, ToolView[]>();
    for (const tool of tools ?? [])
      byServer.set(tool.server, [...(byServer.get(tool.server) ?? []), tool]);
    const json = tools
      ? servers.map((s) => ({
          ...s,
          toolList: (byServer.get(s.name) ?? []).map((t) => ({
            name: t.name,
            tool: t.tool,
            description: t.description,
          })),
        }))
      : servers;
    this.print(json, renderServers(servers, this.ctx.colour, tools && byServer));
  }

  async serverRemove(name: string): Promise<void> {
    await this.explain(() => this.hub.delete(`/api/servers/${id(name)}`), 'server', name);
    this.print({ removed: name }, `removed server ${shown(name)}`);
  }

  async serverRestart(name: string): Promise<void> {
    const view = await this.explain(
      () => this.hub.post<ServerView>(`/api/servers/${id(name)}/restart`, {}),
      'server',
      name,
    );
    this.print(view, `restarted server ${shown(name)}: ${serverState(view)}`);
  }

  // ── tools ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Switches a tool on or off for one endpoint, or, without one, for every endpoint whose
   * servers and globs give it the tool (GET /api/endpoints/:id/tools), and says which. When
   * some switches fail, the others stay done: both are reported, and the exit code is 1.
   */
  async toolSwitch(tool: string, enabled: boolean, endpoint: string | undefined): Promise<number> {
    const names = endpoint
      ? [endpoint]
      : (await this.hub.get<EndpointView[]>('/api/endpoints')).map((e) => e.name);
    const lists = await eachLimited(names, 8, (name) =>
      this.explain(
        () => this.hub.get<EndpointTool[]>(`/api/endpoints/${id(name)}/tools`),
        'endpoint',
        name,
      ),
    );
    const serving = names.filter((_, i) => lists[i]!.some((t) => t.name === tool));
    if (serving.length === 0)
      throw new CliError(
        'NOT_FOUND',
        `${endpoint ? `endpoint ${endpoint} gets` : 'no endpoint gets'} no tool named ${tool}; \`tether tools\` lists the names (a server that is not ready lists none)`,
      );
    const already = serving.filter(
      (name) => lists[names.indexOf(name)]!.find((t) => t.name === tool)!.enabled === enabled,
    );
    const toSwitch = serving.filter((name) => !already.includes(name));
    // Each endpoint's switch is its own request: one that fails leaves the others switched, so
    // every outcome is collected and reported rather than the first failure alone.
    const outcomes = await eachLimited(toSwitch, 8, (name) =>
      this.hub.put(`/api/endpoints/${id(name)}/tools/${id(tool)}`, { enabled }).then(
        () => undefined,
        (error: unknown) => failure(name, error),
      ),
    );
    const changed = toSwitch.filter((_, i) => outcomes[i] === undefined);
    const failed = outcomes.filter((o) => o !== undefined);
    const state = enabled ? 'on' : 'off';
    const lines: string[] = [];
    if (changed.length > 0)
      lines.push(`switched ${shown(tool)} ${state} for ${changed.map(shown).join(', ')}`);
    else if (failed.length === 0)
      lines.push(`${shown(tool)} was already ${state} everywhere it is served`);
    if (changed.length > 0 && already.length > 0)
      lines.push(`(already ${state} for ${already.map(shown).join(', ')})`);
    const json = { tool, enabled, changed, unchanged: already, failed };
    if (failed.length === 0) {
      this.print(json, lines.join('\n'));
      return EXIT.OK;
    }
    const message = `${shown(tool)} was not switched ${state} for ${failed
      .map((f) => `${shown(f.endpoint)} (${shown(f.message)})`)
      .join(
        ', ',
      )}${changed.length > 0 ? `; it is ${state} for ${changed.map(shown).join(', ')}` : ''}`;
    // stdout still says what did change; the failure goes where errors go (docs/cli.md).
    if (this.flags.json) {
      this.ctx.out(JSON.stringify(json, null, 2));
      this.ctx.err(JSON.stringify({ error: { code: 'NOT_ALL_SWITCHED', message } }));
    } else {
      if (lines.length > 0) this.ctx.out(lines.join('\n'));
      this.ctx.err(`tether: ${message}`);
    }
    return EXIT.FAILED;
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  private print(json: unknown, text: string): void {
    this.ctx.out(this.flags.json ? JSON.stringify(json, null, 2) : text);
  }

  /** Runs one request; a refusal of the hub becomes a CliError that says what to do. */
  private async explain<T>(
    request: () => Promise<T>,
    kind: 'endpoint' | 'server',
    name: string,
  ): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof HubClientError) || error.answer === undefined) throw error;
      const { code = 'HUB_ERROR', message } = error.answer;
      const list = kind === 'endpoint' ? 'tether endpoint list' : 'tether server list';
      switch (code) {
        case 'NOT_FOUND':
          // "no server X" may name another thing than asked about (an endpoint's servers).
          throw new CliError(
            code,
            message === `no ${kind} ${name}`
              ? `the hub at ${this.hub.shownUrl} has no ${kind} named ${name}; \`${list}\` shows the names`
              : `${message}; \`${list}\` shows the names`,
          );
        case 'READ_ONLY':
          throw new CliError(code, await this.readOnly(kind, name));
        case 'CONFLICT':
          throw new CliError(
            code,
            message.includes('exists')
              ? `${message}: pick another name, or \`tether ${kind} remove ${name}\` first`
              : message.includes('disabled')
                ? `${message} (\`enabled: true\` in its definition)`
                : message,
          );
        case 'NO_STORE':
          throw new CliError(
            code,
            `${message}, so it keeps definitions only in its configuration file: add the ${kind} there (\`tether config set\`)`,
          );
        case 'BAD_REQUEST':
          throw new CliError(code, `the hub refused the ${kind}: ${message}`);
        default:
          throw new CliError(code, message);
      }
    }
  }

  /**
   * What to do about a definition the API may not change: it comes from the hub's file (or
   * MCP_ENDPOINT). When the file here is the hub's (the path `tether start` would read), the
   * message names the entry to edit with `tether config`.
   */
  private async readOnly(kind: 'endpoint' | 'server', name: string): Promise<string> {
    if (kind === 'endpoint') {
      const view = await this.hub
        .get<EndpointView>(`/api/endpoints/${id(name)}`)
        .catch(() => undefined);
      if (view?.source === 'env')
        return `endpoint ${name} comes from the hub's MCP_ENDPOINT variable: change it there and restart the hub, or \`tether endpoint disable ${name}\` to switch it off`;
    }
    const file = resolve(this.ctx.cwd, DEFAULT_CONFIG_FILE);
    const at = await entryInFile(file, kind, name);
    const off =
      kind === 'endpoint' ? `, or \`tether endpoint disable ${name}\` to switch it off` : '';
    if (at === undefined)
      return `${kind} ${name} comes from the hub's configuration file: remove it there (the hub applies the change by itself; \`tether config unset PATH --config FILE\` does it)${off}`;
    const shownFile = relative(this.ctx.cwd, file) || file;
    return `${kind} ${name} comes from ${shownFile}: remove it there, e.g. \`tether config unset '${at}'\`; the hub applies the change by itself${off}`;
  }
}

/** Why one endpoint's switch failed: the hub's answer when it gave one, else what went wrong. */
function failure(
  endpoint: string,
  error: unknown,
): { endpoint: string; code: string; message: string } {
  if (error instanceof HubClientError)
    return {
      endpoint,
      code: error.answer?.code ?? error.code,
      message: error.answer?.message ?? error.message,
    };
  return { endpoint, code: 'FAILED', message: String((error as Error)?.message ?? error) };
}

function serverState(view: ServerView): string {
  const parts = [shown(view.state), `${shown(view.tools)} tools`];
  if (view.lastError && view.state !== 'ready') parts.push(shown(view.lastError));
  return parts.join(', ');
}

/** The JSON path of an endpoint or a server in a config file, if the file defines it. */
async function entryInFile(
  file: string,
  kind: 'endpoint' | 'server',
  name: string,
): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const document = parse(text, [], { allowTrailingComma: true }) as Record<string, unknown> | null;
  if (!document || typeof document !== 'object') return undefined;
  if (kind === 'endpoint') {
    const endpoints = document.endpoints;
    if (!Array.isArray(endpoints)) return undefined;
    const at = endpoints.findIndex((e) => (e as { name?: unknown } | null)?.name === name);
    return at === -1 ? undefined : formatPath(['endpoints', at]);
  }
  for (const block of ['mcpServers', 'servers']) {
    const servers = document[block];
    if (servers && typeof servers === 'object' && Object.hasOwn(servers, name))
      return formatPath([block, name]);
  }
  return undefined;
}

/** `work` for each item, at most `limit` at once; results in the items' order. */
async function eachLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
