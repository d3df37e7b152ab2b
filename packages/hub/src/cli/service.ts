import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve, win32 } from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { checkConfig, writeAtomically } from './config-file.js';
import { CliError, EXIT } from './context.js';
import type { CliContext, RunResult } from './context.js';

export interface ServiceFlags {
  config?: string;
  print?: boolean;
  name?: string;
  json?: boolean;
}

/** What `install` or `uninstall` does on this platform: a file, the commands after it, notes. */
interface Plan {
  platform: NodeJS.Platform;
  name: string;
  /** The unit or plist, and its text (absent on Windows: nothing is written there). */
  file?: string;
  content?: string;
  /** Where the service reads its secrets from; the user creates it. */
  envFile?: string;
  /** In order; a command whose failure does not matter is marked. */
  commands: Array<{ argv: string[]; mayFail?: boolean }>;
  notes: string[];
  /** What may make the service break later: printed on stderr, and in --json. */
  warnings: string[];
}

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

function nameOf(flags: ServiceFlags): string {
  const name = flags.name ?? 'tether';
  if (!NAME.test(name))
    throw new CliError(
      'BAD_NAME',
      `--name ${name}: letters, digits, _ . @ - only (it names a file)`,
    );
  return name;
}

/** Where each platform's service manager looks, and where the secrets file goes. */
function places(ctx: CliContext, name: string) {
  const configHome = ctx.env.XDG_CONFIG_HOME || join(ctx.home, '.config');
  return {
    unit: join(configHome, 'systemd', 'user', `${name}.service`),
    plist: join(ctx.home, 'Library', 'LaunchAgents', `${name}.plist`),
    log: join(ctx.home, 'Library', 'Logs', 'tether', `${name}.log`),
    envFile: join(configHome, 'tether', `${name}.env`),
  };
}

// ── the files ──────────────────────────────────────────────────────────────────────────────

/** One ExecStart argument: quoted when it must be; `%` and `$` are systemd's, doubled. */
function systemdArg(arg: string): string {
  const quoted = /^[A-Za-z0-9_@+=:,./-]+$/.test(arg)
    ? arg
    : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return quoted.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

const specifiers = (text: string) => text.replace(/%/g, '%%');

export function systemdUnit(o: {
  argv: string[];
  workingDirectory: string;
  envFile: string;
  path: string | undefined;
}): string {
  const lines = [
    '# Written by `tether service install` (docs/cli.md). No secrets here: the admin token and',
    `# the endpoints' tokens go in ${o.envFile} (KEY=value lines, chmod 600).`,
    '[Unit]',
    // The config's path is in it, and systemd reads `%` there as a specifier too.
    `Description=${specifiers(`Tether hub (${o.argv.slice(2).join(' ')})`)}`,
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${specifiers(o.workingDirectory)}`,
    `ExecStart=${o.argv.map(systemdArg).join(' ')}`,
    // "-": a missing file is not an error; the hub runs without secrets then.
    `EnvironmentFile=-${specifiers(o.envFile)}`,
  ];
  // The PATH of the shell that installed it, so servers started by name (npx, uvx) are found:
  // a user manager's own PATH is short.
  if (o.path)
    lines.push(
      `Environment="PATH=${specifiers(o.path.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`,
    );
  lines.push(
    'Restart=on-failure',
    // Exit 2 is an invalid config (cli/context.ts EXIT): starting again cannot fix it.
    'RestartPreventExitStatus=2',
    'RestartSec=2',
    // SIGTERM to the hub alone: it closes its sockets and stops its servers itself, within 5 s.
    'KillMode=mixed',
    'TimeoutStopSec=15',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  );
  return lines.join('\n');
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * launchd has no environment file: the program is `sh`, which reads the secrets file when there
 * is one and then becomes the hub. The paths are arguments of the script ($0, $@), never
 * pasted into it, so no quoting can break.
 */
export function launchdPlist(o: {
  label: string;
  argv: string[];
  workingDirectory: string;
  envFile: string;
  log: string;
  path: string | undefined;
}): string {
  const script = 'if [ -r "$0" ]; then set -a; . "$0"; set +a; fi; exec "$@"';
  const program = ['/bin/sh', '-c', script, o.envFile, ...o.argv];
  const strings = (items: string[]) => items.map((s) => `    <string>${xml(s)}</string>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `tether service install` (docs/cli.md). No secrets here: they go in',
    `     ${xml(o.envFile)} (KEY=value lines, chmod 600). -->`,
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${xml(o.label)}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...strings(program),
    '  </array>',
    '  <key>WorkingDirectory</key>',
    `  <string>${xml(o.workingDirectory)}</string>`,
    ...(o.path
      ? [
          '  <key>EnvironmentVariables</key>',
          '  <dict>',
          '    <key>PATH</key>',
          `    <string>${xml(o.path)}</string>`,
          '  </dict>',
        ]
      : []),
    '  <key>RunAtLoad</key>',
    '  <true/>',
    // Restarted when it fails, left alone when it exits cleanly (a person stopped it). launchd
    // has no way to spare one exit code: an invalid config (exit 2) is retried too, at most
    // every 10 s (launchd's ThrottleInterval); docs/cli.md says to read the log then.
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ExitTimeOut</key>',
    '  <integer>15</integer>',
    '  <key>StandardOutPath</key>',
    `  <string>${xml(o.log)}</string>`,
    '  <key>StandardErrorPath</key>',
    `  <string>${xml(o.log)}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** A command line as a POSIX shell reads it, for showing. */
function shellLine(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** A command line as Windows' cmd reads it, for showing. */
function cmdLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./\\-]+$/.test(a) ? a : `"${a}"`)).join(' ');
}

// ── install ────────────────────────────────────────────────────────────────────────────────

/**
 * Why a launcher inside npx's cache (`~/.npm/_npx/<hash>/…`, what `npx tether` runs) makes a
 * poor service: npm clears or replaces that folder as it likes, and the service then points at
 * nothing. Undefined for any other path.
 */
function npxCache(bin: string): string | undefined {
  if (!/[\\/]_npx[\\/]/.test(bin)) return undefined;
  return `tether runs from npx's cache (${bin}): the service would stop starting once npm clears that cache; install tether globally first (npm install -g, see the README), then run \`tether service install\` again from that install`;
}

/** The config the service runs: it must exist (else the hub would run its demo) and be valid. */
async function serviceConfig(
  ctx: CliContext,
  flags: ServiceFlags,
): Promise<{ file: string; warnings: string[] }> {
  const file = resolve(ctx.cwd, flags.config ?? DEFAULT_CONFIG_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) {
    const why = `there is no ${file}: the service runs \`tether start --config ${file}\`, which needs it (without it the hub would run its demo); create it (\`tether config set\`, \`tether import\`) or pass --config FILE`;
    if (flags.print) return { file, warnings: [why] };
    throw new CliError('NO_CONFIG_FILE', why);
  }
  return { file, warnings: checkConfig(text, file, ctx.env).map((w) => w.message) };
}

function installPlan(ctx: CliContext, name: string, config: string): Plan {
  const at = places(ctx, name);
  const argv = [ctx.node, ctx.bin, 'start', '--config', config];
  const workingDirectory = dirname(config);
  const secrets = (envFile: string) =>
    `secrets (TETHER_ADMIN_TOKEN, the \${VAR}s of your config) go in ${envFile}, one KEY=value a line, chmod 600; never in the service's own file`;
  switch (ctx.platform) {
    case 'linux':
      return {
        platform: 'linux',
        name,
        file: at.unit,
        content: systemdUnit({ argv, workingDirectory, envFile: at.envFile, path: ctx.env.PATH }),
        envFile: at.envFile,
        commands: [
          { argv: ['systemctl', '--user', 'daemon-reload'] },
          { argv: ['systemctl', '--user', 'enable', `${name}.service`] },
          // restart, not start: a second install applies the new unit to a running hub.
          { argv: ['systemctl', '--user', 'restart', `${name}.service`] },
        ],
        notes: [
          secrets(at.envFile),
          `logs: journalctl --user -u ${name} -f`,
          `it starts when you log in; to start it at boot without a login: loginctl enable-linger ${ctx.env.USER ?? '$USER'}`,
        ],
        warnings: [],
      };
    case 'darwin': {
      const domain = `gui/${ctx.uid ?? '$(id -u)'}`;
      return {
        platform: 'darwin',
        name,
        file: at.plist,
        content: launchdPlist({
          label: name,
          argv,
          workingDirectory,
          envFile: at.envFile,
          log: at.log,
          path: ctx.env.PATH,
        }),
        envFile: at.envFile,
        commands: [
          // Not loaded yet is fine: the first install has nothing to unload.
          { argv: ['launchctl', 'bootout', `${domain}/${name}`], mayFail: true },
          { argv: ['launchctl', 'enable', `${domain}/${name}`] },
          { argv: ['launchctl', 'bootstrap', domain, at.plist] },
        ],
        notes: [secrets(at.envFile), `logs: ${at.log}`, 'it starts when you log in'],
        warnings: [],
      };
    }
    case 'win32':
      return {
        platform: 'win32',
        name,
        commands: [],
        notes: windowsSteps(ctx, name, argv, workingDirectory),
        warnings: [],
      };
    default:
      throw new CliError(
        'UNSUPPORTED',
        `tether service knows systemd (Linux), launchd (macOS) and Windows, not ${ctx.platform}: run \`${shellLine(argv)}\` under your own service manager`,
      );
  }
}

/** Windows: nothing is installed for the user; these are the steps, by Task Scheduler or NSSM. */
function windowsSteps(
  ctx: CliContext,
  name: string,
  argv: string[],
  workingDirectory: string,
): string[] {
  const local = ctx.env.LOCALAPPDATA || win32.join(ctx.home, 'AppData', 'Local');
  const wrapper = win32.join(local, 'tether', `${name}.cmd`);
  const log = win32.join(local, 'tether', `${name}.log`);
  return [
    'Tether does not install itself as a Windows service; either of these runs it for you.',
    '',
    `Task Scheduler (at log-on, as you, no administrator needed). Save this as ${wrapper}:`,
    '  @echo off',
    `  cd /d "${workingDirectory}"`,
    `  ${cmdLine(argv)} >> "${log}" 2>&1`,
    'then:',
    `  schtasks /Create /TN ${name} /SC ONLOGON /RL LIMITED /F /TR "\\"${wrapper}\\""`,
    `  schtasks /Run /TN ${name}`,
    '  secrets: setx TETHER_ADMIN_TOKEN "…" (and your config\'s ${VAR}s): the task sees them from the next log-on',
    `  remove: schtasks /End /TN ${name} & schtasks /Delete /TN ${name} /F`,
    '',
    'NSSM (a real service, from an administrator prompt):',
    `  nssm install ${name} ${cmdLine(argv)}`,
    `  nssm set ${name} AppDirectory "${workingDirectory}"`,
    `  nssm set ${name} AppStdout "${log}"`,
    `  nssm set ${name} AppStderr "${log}"`,
    `  nssm set ${name} AppEnvironmentExtra TETHER_ADMIN_TOKEN=…`,
    `  nssm start ${name}`,
    `  it runs as LocalSystem, whose home is not yours: set TETHER_HOME with AppEnvironmentExtra, or run it as you (nssm set ${name} ObjectName .\\YOU PASSWORD)`,
    `  remove: nssm stop ${name} & nssm remove ${name} confirm`,
  ];
}

/** Why the service manager cannot be asked, or undefined when it answered. */
function unavailable(result: RunResult, program: string): string | undefined {
  if (result.failed)
    return result.failed === 'ENOENT'
      ? `${program} is not installed`
      : `${program}: ${result.failed}`;
  const said = `${result.stderr}\n${result.stdout}`;
  if (
    /Failed to connect to bus|System has not been booted with systemd|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR/i.test(
      said,
    )
  )
    return said.trim().split('\n')[0]!;
  return undefined;
}

function printPlan(
  ctx: CliContext,
  plan: Plan,
  flags: ServiceFlags,
  done: { written: boolean; ran: string[] },
): void {
  if (flags.json) {
    ctx.out(
      JSON.stringify(
        {
          platform: plan.platform,
          name: plan.name,
          ...(plan.file && { file: plan.file, content: plan.content }),
          ...(plan.envFile && { envFile: plan.envFile }),
          commands: plan.commands.map((c) => shellLine(c.argv)),
          notes: plan.notes,
          warnings: plan.warnings,
          ...done,
        },
        null,
        2,
      ),
    );
    return;
  }
  for (const warning of plan.warnings) ctx.err(`warning: ${warning}`);
  const lines: string[] = [];
  if (plan.file && plan.content !== undefined) {
    if (flags.print) lines.push(`# ${plan.file}`, plan.content.trimEnd(), '');
    else lines.push(`wrote ${plan.file}`);
  }
  if (flags.print) {
    if (plan.commands.length)
      lines.push('# then:', ...plan.commands.map((c) => shellLine(c.argv)), '');
  } else lines.push(...done.ran.map((r) => `ran ${r}`));
  lines.push(...plan.notes.map((n) => (plan.platform === 'win32' ? n : `note: ${n}`)));
  ctx.out(lines.join('\n'));
}

/** Runs the plan's commands in order; a manager that cannot be reached stops it with a clear error. */
async function runCommands(
  ctx: CliContext,
  plan: Plan,
  ran: string[],
  what: string,
): Promise<void> {
  for (const command of plan.commands) {
    const [program, ...args] = command.argv as [string, ...string[]];
    const result = await ctx.run(program, args);
    const missing = unavailable(result, program);
    if (missing)
      throw new CliError(
        'NO_SERVICE_MANAGER',
        `${what}, but ${shellLine(command.argv.slice(0, 2))} is not available here (${missing}): ${
          plan.platform === 'linux'
            ? 'a user systemd runs in a login session (not in most containers); run `tether start` yourself, or log in on a machine with systemd'
            : 'run `tether start` yourself'
        }`,
      );
    ran.push(shellLine(command.argv));
    if (result.code !== 0 && !command.mayFail)
      throw new CliError(
        'SERVICE_FAILED',
        `${what}, but \`${shellLine(command.argv)}\` failed (exit ${String(result.code)}): ${(result.stderr || result.stdout).trim()}`,
      );
  }
}

export async function serviceInstall(ctx: CliContext, flags: ServiceFlags): Promise<number> {
  const name = nameOf(flags);
  const { file: config, warnings } = await serviceConfig(ctx, flags);
  const plan = installPlan(ctx, name, config);
  plan.notes.push(...warnings.map((w) => `config: ${w}`));
  const npx = npxCache(ctx.bin);
  if (npx) plan.warnings.push(npx);
  const done = { written: false, ran: [] as string[] };
  if (flags.print || plan.platform === 'win32') {
    printPlan(ctx, plan, flags, done);
    if (plan.platform === 'win32' && !flags.print) {
      ctx.err('tether: nothing was installed: follow one of the ways above');
      return EXIT.FAILED;
    }
    return EXIT.OK;
  }
  await mkdir(dirname(plan.file!), { recursive: true });
  if (plan.platform === 'darwin') await mkdir(dirname(places(ctx, name).log), { recursive: true });
  await writeAtomically(plan.file!, plan.content!);
  done.written = true;
  await runCommands(ctx, plan, done.ran, `wrote ${plan.file}`);
  printPlan(ctx, plan, flags, done);
  return EXIT.OK;
}

// ── uninstall ──────────────────────────────────────────────────────────────────────────────

export async function serviceUninstall(ctx: CliContext, flags: ServiceFlags): Promise<number> {
  const name = nameOf(flags);
  const at = places(ctx, name);
  let plan: Plan;
  if (ctx.platform === 'linux')
    plan = {
      platform: 'linux',
      name,
      file: at.unit,
      commands: [
        { argv: ['systemctl', '--user', 'disable', '--now', `${name}.service`], mayFail: true },
        { argv: ['systemctl', '--user', 'daemon-reload'], mayFail: true },
      ],
      notes: [`${at.envFile} is left as it is (it holds your secrets; remove it yourself)`],
      warnings: [],
    };
  else if (ctx.platform === 'darwin')
    plan = {
      platform: 'darwin',
      name,
      file: at.plist,
      commands: [
        { argv: ['launchctl', 'bootout', `gui/${ctx.uid ?? '$(id -u)'}/${name}`], mayFail: true },
      ],
      notes: [`${at.envFile} and ${at.log} are left as they are`],
      warnings: [],
    };
  else if (ctx.platform === 'win32')
    plan = {
      platform: 'win32',
      name,
      commands: [],
      notes: [
        `Task Scheduler: schtasks /End /TN ${name} & schtasks /Delete /TN ${name} /F`,
        `NSSM (administrator prompt): nssm stop ${name} & nssm remove ${name} confirm`,
      ],
      warnings: [],
    };
  else throw new CliError('UNSUPPORTED', `tether service does not know ${ctx.platform}`);
  const done = { written: false, ran: [] as string[], removed: false };
  if (flags.print || plan.platform === 'win32') {
    if (!flags.json && plan.file) plan.notes.unshift(`would remove ${plan.file}`);
    printPlan(ctx, { ...plan, content: undefined }, { ...flags, print: true }, done);
    return plan.platform === 'win32' && !flags.print ? EXIT.FAILED : EXIT.OK;
  }
  if (!existsSync(plan.file!))
    throw new CliError(
      'NOT_INSTALLED',
      `no service named ${name} is installed here (${plan.file} does not exist)`,
    );
  // Stopped first, then its file removed, then the manager told; a manager that is not there
  // cannot be running it, so the file still goes.
  const stop = plan.commands.slice(0, 1);
  const after = plan.commands.slice(1);
  const warnings: string[] = [];
  for (const [i, group] of [stop, after].entries()) {
    if (i === 1) {
      await rm(plan.file!, { force: true });
      done.removed = true;
    }
    for (const command of group) {
      const [program, ...args] = command.argv as [string, ...string[]];
      const result = await ctx.run(program, args);
      const missing = unavailable(result, program);
      if (missing) {
        warnings.push(`${shellLine(command.argv)}: not available here (${missing})`);
        continue;
      }
      done.ran.push(shellLine(command.argv));
    }
  }
  if (flags.json)
    ctx.out(
      JSON.stringify(
        { platform: plan.platform, name, file: plan.file, ...done, warnings, notes: plan.notes },
        null,
        2,
      ),
    );
  else
    ctx.out(
      [
        ...done.ran.map((r) => `ran ${r}`),
        `removed ${plan.file}`,
        ...warnings.map((w) => `warning: ${w}`),
        ...plan.notes.map((n) => `note: ${n}`),
      ].join('\n'),
    );
  return EXIT.OK;
}

// ── status ─────────────────────────────────────────────────────────────────────────────────

interface ServiceStatus {
  platform: NodeJS.Platform;
  name: string;
  file?: string;
  installed: boolean;
  /** Whether the service manager could be asked, and what it said. */
  manager: { available: boolean; detail: string };
  running: boolean;
  pid?: number;
}

/** Exit code 0 when the service runs, 1 when it does not or cannot be told (docs/cli.md). */
export async function serviceStatus(ctx: CliContext, flags: ServiceFlags): Promise<number> {
  const name = nameOf(flags);
  const at = places(ctx, name);
  const status = await statusOf(ctx, name, at);
  if (flags.json) ctx.out(JSON.stringify(status, null, 2));
  else {
    const lines = [
      status.file
        ? `service ${name}: ${status.installed ? `installed (${status.file})` : `not installed (no ${status.file})`}`
        : `service ${name}:`,
    ];
    lines.push(
      status.manager.available
        ? `  ${status.manager.detail}${status.pid ? `, pid ${status.pid}` : ''}`
        : `  ${status.manager.detail}: whether it runs cannot be asked here`,
    );
    if (!status.installed && status.file) lines.push('  `tether service install` installs it');
    ctx.out(lines.join('\n'));
  }
  return status.running ? EXIT.OK : EXIT.FAILED;
}

async function statusOf(
  ctx: CliContext,
  name: string,
  at: ReturnType<typeof places>,
): Promise<ServiceStatus> {
  if (ctx.platform === 'linux') {
    const base = { platform: ctx.platform, name, file: at.unit, installed: existsSync(at.unit) };
    const result = await ctx.run('systemctl', [
      '--user',
      'show',
      `${name}.service`,
      '--property=LoadState,ActiveState,SubState,UnitFileState,MainPID',
    ]);
    const missing = unavailable(result, 'systemctl');
    if (missing || result.code !== 0)
      return {
        ...base,
        manager: {
          available: false,
          detail: `systemctl --user is not available (${missing ?? result.stderr.trim()})`,
        },
        running: false,
      };
    const props = Object.fromEntries(
      result.stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
    );
    const pid = Number(props.MainPID);
    return {
      ...base,
      manager: {
        available: true,
        detail:
          props.LoadState === 'not-found'
            ? 'systemd does not know it'
            : `systemd: ${props.ActiveState ?? '?'} (${props.SubState ?? '?'}), ${props.UnitFileState || 'not enabled'}`,
      },
      running: props.ActiveState === 'active',
      ...(pid > 0 && { pid }),
    };
  }
  if (ctx.platform === 'darwin') {
    const base = { platform: ctx.platform, name, file: at.plist, installed: existsSync(at.plist) };
    const result = await ctx.run('launchctl', ['print', `gui/${ctx.uid ?? 0}/${name}`]);
    const missing = unavailable(result, 'launchctl');
    if (missing) return { ...base, manager: { available: false, detail: missing }, running: false };
    if (result.code !== 0)
      return {
        ...base,
        manager: { available: true, detail: 'launchd has not loaded it' },
        running: false,
      };
    const state = /^\s*state = (\S+)/m.exec(result.stdout)?.[1] ?? 'unknown';
    const pid = Number(/^\s*pid = (\d+)/m.exec(result.stdout)?.[1]);
    return {
      ...base,
      manager: { available: true, detail: `launchd: ${state}` },
      running: state === 'running',
      ...(pid > 0 && { pid }),
    };
  }
  if (ctx.platform === 'win32') {
    const task = await ctx.run('schtasks', ['/Query', '/TN', name, '/FO', 'LIST']);
    if (!task.failed && task.code === 0) {
      const state = /^Status:\s*(.+)$/m.exec(task.stdout)?.[1]?.trim() ?? 'unknown';
      return {
        platform: ctx.platform,
        name,
        installed: true,
        manager: { available: true, detail: `scheduled task: ${state}` },
        running: state === 'Running',
      };
    }
    const service = await ctx.run('sc', ['query', name]);
    if (!service.failed && service.code === 0) {
      const state = /STATE\s*:\s*\d+\s+(\S+)/.exec(service.stdout)?.[1] ?? 'unknown';
      return {
        platform: ctx.platform,
        name,
        installed: true,
        manager: { available: true, detail: `service: ${state}` },
        running: state === 'RUNNING',
      };
    }
    return {
      platform: ctx.platform,
      name,
      installed: false,
      manager: { available: true, detail: 'neither a scheduled task nor a service has this name' },
      running: false,
    };
  }
  return {
    platform: ctx.platform,
    name,
    installed: false,
    manager: { available: false, detail: `tether service does not know ${ctx.platform}` },
    running: false,
  };
}
