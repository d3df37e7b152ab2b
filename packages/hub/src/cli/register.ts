import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { CliError, action, processContext } from './context.js';
import type { CliContext } from './context.js';
import type { HubFlags } from './manage.js';
import type { ServiceFlags } from './service.js';
import { clientOptions, collect } from './options.js';

// The commands that change things (docs/cli.md): endpoints, servers and tools through a running
// hub's API, the config file, and the service. Each loads its module when it runs, as main.ts
// does, so `tether --help` stays small.
const manage = async (ctx: CliContext, flags: HubFlags) =>
  new (await import('./manage.js')).Manage(ctx, flags);

/** `K=V` options (--env, --header) as a record; the first `=` splits. */
function pairs(option: string, items: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new CliError('BAD_USAGE', `${option} ${item}: write it as KEY=VALUE`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

interface ServerAddFlags extends HubFlags {
  command?: string;
  arg?: string[];
  env?: string[];
  cwd?: string;
  type?: 'http' | 'sse';
  header?: string[];
  disabled?: boolean;
}

/**
 * The body of POST /api/servers from `server add`'s words and flags: a URL alone is an HTTP (or
 * SSE) server, other words are a command line (after `--` when it has options of its own).
 */
function serverBody(
  ctx: CliContext,
  words: string[],
  flags: ServerAddFlags,
): Record<string, unknown> {
  const remote = words.length === 1 && /^https?:\/\//i.test(words[0]!);
  if (!remote && words.length > 0 && flags.command)
    throw new CliError('BAD_USAGE', 'give the command once: with --command or after --, not both');
  if (words.length === 0 && !flags.command)
    throw new CliError(
      'BAD_USAGE',
      flags.url
        ? // --url is the hub's address: taken for the server's, it would carry the admin token there.
          "--url is the hub's address; a server's URL comes after its name: `tether server add NAME https://…/mcp`"
        : 'say what the server is: `tether server add NAME -- COMMAND ARGS…` or `tether server add NAME https://…/mcp`',
    );
  const enabled = !flags.disabled;
  if (remote) {
    if (flags.arg?.length || flags.env?.length || flags.cwd)
      throw new CliError('BAD_USAGE', '--arg, --env and --cwd are for a command, not a URL');
    return {
      type: flags.type ?? 'http',
      url: words[0],
      headers: pairs('--header', flags.header),
      enabled,
    };
  }
  if (flags.header?.length || flags.type)
    throw new CliError('BAD_USAGE', '--header and --type are for a URL, not a command');
  const [command, ...args] = flags.command ? [flags.command, ...(flags.arg ?? [])] : words;
  return {
    type: 'stdio',
    command,
    args: flags.command ? args : [...args, ...(flags.arg ?? [])],
    env: pairs('--env', flags.env),
    // The hub runs the command, maybe from another folder: a relative --cwd means this shell's.
    ...(flags.cwd && { cwd: resolve(ctx.cwd, flags.cwd) }),
    enabled,
  };
}

export function registerChangeCommands(
  program: Command,
  context: () => CliContext = processContext,
): void {
  const act = <A extends unknown[]>(
    work: (ctx: CliContext, ...args: A) => Promise<number | void>,
  ) => action(work, context);

  // ── endpoint ───────────────────────────────────────────────────────────────────────────────
  const endpoint = program
    .command('endpoint')
    .description('add, list, remove, switch and retry endpoints of a running hub');
  clientOptions(
    endpoint
      .command('add')
      .description('add an endpoint; the hub keeps it in its store and connects it')
      .argument('<name>', 'a name of your choice: letters, digits, _ . -')
      .argument('<url>', 'the MCP endpoint, wss://api.xiaozhi.me/mcp/?token=…'),
  )
    .option('--include <glob>', 'serve only tools matching (repeatable; default *)', collect, [])
    .option('--exclude <glob>', 'never serve tools matching (repeatable)', collect, [])
    .option('--disabled', 'add it switched off')
    .action(
      act(
        async (
          ctx,
          name: string,
          url: string,
          flags: HubFlags & { include: string[]; exclude: string[]; disabled?: boolean },
        ) => (await manage(ctx, flags)).endpointAdd(name, url, flags),
      ),
    );
  clientOptions(
    endpoint.command('list').description('every endpoint: state, source, tools, URL (masked)'),
  ).action(act(async (ctx, flags: HubFlags) => (await manage(ctx, flags)).endpointList()));
  clientOptions(
    endpoint
      .command('remove')
      .description('remove an endpoint added through the API or the CLI')
      .argument('<name>'),
  ).action(
    act(async (ctx, name: string, flags: HubFlags) =>
      (await manage(ctx, flags)).endpointRemove(name),
    ),
  );
  for (const [verb, on] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    clientOptions(
      endpoint
        .command(verb)
        .description(
          on
            ? 'switch an endpoint on: it connects'
            : 'switch an endpoint off: its socket is closed',
        )
        .argument('<name>'),
    ).action(
      act(async (ctx, name: string, flags: HubFlags) =>
        (await manage(ctx, flags)).endpointSwitch(name, on),
      ),
    );
  clientOptions(
    endpoint
      .command('retry')
      .description('reconnect an endpoint now (a parked one too)')
      .argument('<name>'),
  ).action(
    act(async (ctx, name: string, flags: HubFlags) =>
      (await manage(ctx, flags)).endpointRetry(name),
    ),
  );

  // ── server ─────────────────────────────────────────────────────────────────────────────────
  const server = program
    .command('server')
    .description('add, list, remove and restart MCP servers of a running hub');
  clientOptions(
    server
      .command('add')
      .description('add an MCP server: a command (stdio) or a URL (Streamable HTTP or SSE)')
      .argument('<name>', 'letters, digits, _ -; it begins the names of its tools (name__tool)')
      .argument(
        '[command-or-url...]',
        'COMMAND ARGS… (after -- when they have options) or https://…',
      ),
  )
    .option('--command <cmd>', 'the command, when not given after --')
    .option('--arg <arg>', "an argument of --command's (repeatable)", collect, [])
    .option(
      '--env <KEY=VALUE>',
      "a variable of the command's environment (repeatable)",
      collect,
      [],
    )
    .option('--cwd <dir>', 'the folder it runs in (relative: to this one)')
    .addOption(
      new Option('--type <type>', 'for a URL: Streamable HTTP or SSE').choices(['http', 'sse']),
    )
    .option('--header <KEY=VALUE>', 'for a URL: a request header (repeatable)', collect, [])
    .option('--disabled', 'add it switched off')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  tether server add calc -- node /home/me/calc.js\n' +
        '  tether server add files -- npx -y @modelcontextprotocol/server-filesystem /home/me/notes\n' +
        '  tether server add weather https://example.test/mcp --header "Authorization=Bearer $WEATHER_TOKEN"',
    )
    .action(
      act(async (ctx, name: string, words: string[], flags: ServerAddFlags) =>
        (await manage(ctx, flags)).serverAdd(name, serverBody(ctx, words, flags)),
      ),
    );
  clientOptions(
    server.command('list').description('every server: state, tools, restarts, what it runs'),
  )
    .option('--tools', "each server's tools too")
    .action(
      act(async (ctx, flags: HubFlags & { tools?: boolean }) =>
        (await manage(ctx, flags)).serverList(Boolean(flags.tools)),
      ),
    );
  clientOptions(
    server
      .command('remove')
      .description('remove a server added through the API or the CLI')
      .argument('<name>'),
  ).action(
    act(async (ctx, name: string, flags: HubFlags) =>
      (await manage(ctx, flags)).serverRemove(name),
    ),
  );
  clientOptions(
    server
      .command('restart')
      .description('restart a server and wait for its tools')
      .argument('<name>'),
  ).action(
    act(async (ctx, name: string, flags: HubFlags) =>
      (await manage(ctx, flags)).serverRestart(name),
    ),
  );

  // ── tool ───────────────────────────────────────────────────────────────────────────────────
  const tool = program
    .command('tool')
    .description('switch a tool on or off for endpoints of a running hub');
  for (const [verb, on] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    clientOptions(
      tool
        .command(verb)
        .description(
          `switch a tool ${on ? 'on' : 'off'}: on one endpoint, or every endpoint that serves it`,
        )
        .argument('<tool>', 'exposed tool name, e.g. calc__add'),
    )
      .option('--endpoint <name>', 'only on this endpoint')
      .action(
        act(async (ctx, name: string, flags: HubFlags & { endpoint?: string }) =>
          (await manage(ctx, flags)).toolSwitch(name, on, flags.endpoint),
        ),
      );

  // ── config ─────────────────────────────────────────────────────────────────────────────────
  const configFlags = (command: Command) =>
    command
      .option(
        '--config <file>',
        'the file (default: ./tether.config.json, as `tether start` reads)',
      )
      .option('--json', 'machine-readable output (errors too, as JSON on stderr)');
  const config = program
    .command('config')
    .description(
      'read and edit the config file, comments and layout kept; a running hub reloads it',
    );
  configFlags(
    config
      .command('get')
      .description('print a value of the file (all of it without PATH), secrets masked')
      .argument('[path]', 'e.g. hub.port, endpoints[0].url, mcpServers.calc.command'),
  )
    .option('--show-secrets', 'print tokens, passwords and credential headers as written')
    .action(
      act(
        async (
          ctx,
          path: string | undefined,
          flags: { config?: string; json?: boolean; showSecrets?: boolean },
        ) => (await import('./config-file.js')).configGet(ctx, path, flags),
      ),
    );
  configFlags(
    config
      .command('set')
      .description('set a value; refused (nothing written) when the file would not be valid')
      .argument('<path>', 'e.g. hub.port, endpoints[1], mcpServers.calc.args[0]')
      .argument('<value>', 'JSON when it parses as JSON (9000, true, ["*"], {…}), else text'),
  )
    .option('--show-secrets', 'print the value as written, not masked')
    .action(
      act(
        async (
          ctx,
          path: string,
          value: string,
          flags: { config?: string; json?: boolean; showSecrets?: boolean },
        ) => {
          const file = await import('./config-file.js');
          return file.configChange(ctx, path, file.parseValue(value), flags);
        },
      ),
    );
  configFlags(
    config
      .command('unset')
      .description('remove a key or a list item')
      .argument('<path>', 'e.g. endpoints[1], mcpServers.calc'),
  ).action(
    act(async (ctx, path: string, flags: { config?: string; json?: boolean }) =>
      (await import('./config-file.js')).configChange(ctx, path, undefined, flags),
    ),
  );

  // ── service ────────────────────────────────────────────────────────────────────────────────
  const service = program
    .command('service')
    .description(
      'run `tether start` as a service of your user: systemd (Linux), launchd (macOS), Windows steps',
    );
  const serviceFlags = (command: Command) =>
    command
      .option('--name <name>', 'the unit, plist label or task name', 'tether')
      .option('--json', 'machine-readable output (errors too, as JSON on stderr)');
  serviceFlags(service.command('install').description('write the service file and start it'))
    .option(
      '--config <file>',
      'the config it runs (default: ./tether.config.json), by absolute path',
    )
    .option('--print', 'print the file and the commands; write and run nothing')
    .action(
      act(async (ctx, flags: ServiceFlags) =>
        (await import('./service.js')).serviceInstall(ctx, flags),
      ),
    );
  serviceFlags(service.command('uninstall').description('stop the service and remove its file'))
    .option('--print', 'print what would be done; do nothing')
    .action(
      act(async (ctx, flags: ServiceFlags) =>
        (await import('./service.js')).serviceUninstall(ctx, flags),
      ),
    );
  serviceFlags(
    service
      .command('status')
      .description('whether the service is installed and running (exit 0 when it runs)'),
  ).action(
    act(async (ctx, flags: ServiceFlags) =>
      (await import('./service.js')).serviceStatus(ctx, flags),
    ),
  );
}
