import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ClientFlags } from './commands.js';
import { action } from './context.js';
import { printable } from '../log/printable.js';
import { clientOptions, collect } from './options.js';
import { registerChangeCommands } from './register.js';

// Each command loads only what it needs: `tether start` never loads the simulator, and the
// client commands never load the hub, so every process stays as small as it can be.
const commands = () => import('./commands.js');

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
}

/** Keeps the process up until SIGINT/SIGTERM, then runs `stop` once. */
function untilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** This package's version: its package.json sits two folders up from dist/cli/ and src/cli/. */
const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command()
  .name('tether')
  .description('Keeps MCP tools attached to the AI endpoints that use them.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\n`status`, `tools`, `call`, `mcp`, `endpoint`, `server` and `tool` talk to a running hub: --url or\n' +
      'TETHER_URL says where, and --token or TETHER_ADMIN_TOKEN logs in to a hub that has an admin\n' +
      'token. `config` edits the config file; `service` runs `tether start` as a service. docs/cli.md\n' +
      'has every command, its flags and its exit codes.',
  );

program
  .command('start')
  .description('run the hub in the foreground (a demo when unconfigured)')
  .option('--config <file>', 'configuration file (default: ./tether.config.json)')
  .option('--demo', 'run the demo: a simulated endpoint and a sample tool server')
  .option('--host <host>', 'address for the API (default from the config, 127.0.0.1)')
  .option('--port <n>', 'port for the API (default from the config, 8765)', integer)
  .action(async (options: { config?: string; demo?: boolean; host?: string; port?: number }) => {
    await (await import('./start.js')).runStart(options);
  });

/** A client command: its errors printed (as JSON with --json) and its exit code (docs/cli.md). */
const client = <A extends unknown[]>(work: (...args: A) => Promise<void>) =>
  action((_ctx, ...args: A) => work(...args));

clientOptions(
  program.command('status').description('endpoint states of a running hub (live on a terminal)'),
)
  .option('--once', 'print once and exit')
  .action(client(async (options: ClientFlags) => (await commands()).status(options)));

clientOptions(
  program.command('tools').description('tools a running hub serves, and which endpoints see them'),
).action(client(async (options: ClientFlags) => (await commands()).tools(options)));

clientOptions(
  program
    .command('call')
    .description('call a tool through a running hub')
    .argument('<tool>', 'exposed tool name, e.g. calc__add'),
)
  .option('--args <json>', 'arguments as a JSON object')
  .action(
    client(async (tool: string, options: ClientFlags & { args?: string }) =>
      (await commands()).call(tool, options),
    ),
  );

program
  .command('mcp')
  .description(
    "the hub's tools as a stdio MCP server, for clients that start their servers (Claude Desktop, VS Code, Cursor)",
  )
  .option('--url <url>', 'the hub (default: $TETHER_URL, else http://127.0.0.1:8765)')
  .option('--token <token>', "the hub's admin token (default: $TETHER_ADMIN_TOKEN)")
  .option('--endpoint <name>', "serve what this endpoint sees (the hub's /mcp/<name>)")
  .option('--config <file>', "run this file's servers here, with no hub")
  .option(
    '--print-config [client]',
    'print the snippet for claude (default), vscode or cursor, and exit',
  )
  .addHelpText(
    'after',
    '\nstdout carries MCP (JSON-RPC) only; logs go to stderr. `tether import` reads the printed\n' +
      'snippet back.',
  )
  .action(
    async (options: {
      url?: string;
      token?: string;
      endpoint?: string;
      config?: string;
      printConfig?: string | boolean;
    }) => (await import('./mcp.js')).runMcp(options),
  );

registerChangeCommands(program);

program
  .command('doctor')
  .description('diagnose one endpoint: DNS, TCP, TLS, upgrade, handshake timings and what it sent')
  .argument('<url>', 'endpoint URL, e.g. wss://api.xiaozhi.me/mcp/?token=…')
  .option('--json', 'machine-readable output')
  .option('--timeout <ms>', 'how long each step may take', integer, 10_000)
  .action(async (url: string, options: { json?: boolean; timeout: number }) => {
    const { diagnose, renderReport } = await import('./doctor.js');
    const report = await diagnose(url, { timeoutMs: options.timeout });
    console.log(
      options.json
        ? JSON.stringify(report, null, 2)
        : renderReport(report, Boolean(process.stdout.isTTY)),
    );
    if (!report.ok) process.exitCode = 1;
  });

program
  .command('import')
  .description(
    'print the Tether config equivalent to an xiaozhi-client, mcp_pipe, Claude or VS Code config',
  )
  .argument(
    '<file>',
    'xiaozhi.config.json, mcp_config.json, claude_desktop_config.json, .vscode/mcp.json…',
  )
  .action(async (file: string) => {
    // The catalog's naming rule is handed in: config sits below catalog in the hub's layers.
    const [{ importConfig }, { exposedNames }] = await Promise.all([
      import('../config/index.js'),
      import('../catalog/names.js'),
    ]);
    const { format, config, notes } = await importConfig(file, process.env, exposedNames);
    console.log(JSON.stringify(config, null, 2));
    console.error(`\n// read as ${format}${notes.length ? `\n// ${notes.join('\n// ')}` : ''}`);
  });

program
  .command('sim')
  .description('run the Xiaozhi endpoint simulator')
  .option('--port <n>', 'port to listen on (0 picks a free one)', integer, 8004)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .addOption(
    new Option('--mode <mode>', 'which endpoint to play')
      .choices(['official', 'relay'])
      .default('official'),
  )
  .option('--token <token>', 'accepted token (repeatable; default: any)', collect, [] as string[])
  .option('--ping-interval <ms>', 'send JSON-RPC pings at this interval', integer)
  .option('--frames', 'print every frame', false)
  .action(async (options) => {
    const { runSim } = await import('./sim.js');
    const sim = await runSim(options);
    untilSignal(() => sim.close());
  });

program
  .command('session-gateway')
  .description('resumable sessions in front of an unchanged WebSocket server')
  .requiredOption(
    '--upstream <url>',
    'the existing server, ws:// or wss:// (its path and query first)',
  )
  .option('--listen <host:port>', 'where clients dial (any path)', '127.0.0.1:8766')
  .option(
    '--forward-headers <list>',
    'request headers carried upstream, comma-separated ("" for none; default authorization,cookie,x-forwarded-for,x-forwarded-proto)',
  )
  .option('--max-sessions <n>', 'sessions at once (default 10000)', integer)
  .option('--max-frame <bytes>', 'largest frame, either side (default 1048576)', integer)
  .option('--connect-timeout <ms>', 'the upstream must accept within this (default 5000)', integer)
  .option(
    '--resume-window <ms>',
    'how long a session waits for its client (default 120000)',
    integer,
  )
  .option('--heartbeat <ms>', "the clients' app heartbeat (default 5000)", integer)
  .option('--ping-interval <ms>', 'ping frames to clients (default 5000)', integer)
  .option(
    '--upstream-ping-interval <ms>',
    'ping frames to the upstream; 0: none (default 15000)',
    integer,
  )
  .option('--replay-messages <n>', 'replay buffer per session, messages (default 1000)', integer)
  .option('--replay-bytes <bytes>', 'replay buffer per session, bytes (default 1048576)', integer)
  .action(async (options) => {
    const { runSessionGateway } = await import('./gateway.js');
    const gateway = await runSessionGateway(options);
    untilSignal(() => gateway.close());
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Messages may quote what a hub or an endpoint said: escaped before they reach the terminal.
  console.error(`tether: ${printable(String((error as Error).message))}`);
  process.exit(1);
}
