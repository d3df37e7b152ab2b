import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/cli/context.js';
import { runProgram } from '../../src/cli/context.js';
import { jsonError, tether } from './harness.js';
import type { TetherOptions } from './harness.js';

const NODE = '/opt/node/bin/node';
const BIN = '/opt/tether/packages/hub/bin/tether.js';

/** A folder with a valid config (one that names a variable), a HOME, and a recording runner. */
function machine(answers: (argv: string[]) => Partial<RunResult> = () => ({})) {
  const base = mkdtempSync(join(tmpdir(), 'tether-service-'));
  const dir = join(base, 'my config');
  const home = join(base, 'home');
  mkdirSync(dir);
  mkdirSync(home);
  const config = join(dir, 'tether.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      endpoints: [{ name: 'home', url: 'wss://example.test/mcp/?token=${XZ_TOKEN}' }],
    }),
  );
  const ran: string[][] = [];
  const options: TetherOptions = {
    cwd: dir,
    home,
    uid: 501,
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      USER: 'me',
      TETHER_ADMIN_TOKEN: 'admin-secret-1',
      XZ_TOKEN: 'xz',
    },
    run: (command, args) => {
      ran.push([command, ...args]);
      return Promise.resolve({ code: 0, stdout: '', stderr: '', ...answers([command, ...args]) });
    },
  };
  return { dir, home, config, ran, options };
}

const NO_BUS = { code: 1, stderr: 'Failed to connect to bus: No medium found\n' };

describe('tether service on Linux (systemd, user unit)', () => {
  it('writes a unit that runs this node and tether with the config by absolute path, then enables and starts it', async () => {
    const m = machine();
    const outcome = await tether(['service', 'install'], m.options);
    expect(outcome.code, outcome.stderr).toBe(0);
    const unitFile = join(m.home, '.config', 'systemd', 'user', 'tether.service');
    const unit = readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`ExecStart=${NODE} ${BIN} start --config "${m.config}"`);
    expect(unit).toContain(`WorkingDirectory=${m.dir}`);
    expect(unit).toContain(`EnvironmentFile=-${join(m.home, '.config', 'tether', 'tether.env')}`);
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('KillMode=mixed');
    expect(unit).toContain('WantedBy=default.target');
    expect(unit).toContain('Environment="PATH=/usr/local/bin:/usr/bin:/bin"');
    // The shell's secrets stay out of the unit; the environment file is the place for them.
    expect(unit).not.toContain('admin-secret-1');
    expect(m.ran).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', 'tether.service'],
      ['systemctl', '--user', 'restart', 'tether.service'],
    ]);
    expect(outcome.stdout).toContain(`wrote ${unitFile}`);
    expect(outcome.stdout).toContain('go in ' + join(m.home, '.config', 'tether', 'tether.env'));
    expect(outcome.stdout).toContain('loginctl enable-linger me');
    expect(outcome.stdout).toContain('journalctl --user -u tether -f');
  });

  it('with --print writes nothing and runs nothing, and shows the unit and the commands', async () => {
    const m = machine();
    const outcome = await tether(['service', 'install', '--print', '--name', 'hub-b'], m.options);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(readdirSync(m.home)).toEqual([]);
    expect(m.ran).toEqual([]);
    expect(outcome.stdout).toContain(
      `# ${join(m.home, '.config', 'systemd', 'user', 'hub-b.service')}`,
    );
    expect(outcome.stdout).toContain('ExecStart=');
    expect(outcome.stdout).toContain('systemctl --user enable hub-b.service');
    const json = await tether(['service', 'install', '--print', '--json'], m.options);
    expect(JSON.parse(json.stdout)).toMatchObject({
      platform: 'linux',
      name: 'tether',
      content: expect.stringContaining('[Service]'),
      written: false,
      ran: [],
    });
  });

  it('escapes what systemd would read as specifiers or variables', async () => {
    const m = machine();
    const odd = join(m.dir, '100% $HOME.json');
    writeFileSync(odd, '{}');
    const outcome = await tether(['service', 'install', '--print', '--config', odd], m.options);
    expect(outcome.stdout).toContain(`--config "${m.dir}/100%% $$HOME.json"`);
    // The description names the config too: a `%` there would be read as a specifier.
    expect(outcome.stdout).toContain(
      `Description=Tether hub (start --config ${m.dir}/100%% $HOME.json)`,
    );
  });

  it('does not restart a hub whose config is invalid (exit 2) over and over', async () => {
    const m = machine();
    const outcome = await tether(['service', 'install', '--print'], m.options);
    expect(outcome.stdout).toMatch(/^Restart=on-failure\nRestartPreventExitStatus=2$/m);
  });

  it('warns that a tether run through npx makes a service that breaks when the npx cache is cleared', async () => {
    const m = machine();
    const bin = '/home/me/.npm/_npx/6c1f0a2b/node_modules/@tether/hub/bin/tether.js';
    const outcome = await tether(['service', 'install'], { ...m.options, bin });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stderr).toBe(
      `warning: tether runs from npx's cache (${bin}): the service would stop starting once npm clears that cache; install tether globally first (npm install -g, see the README), then run \`tether service install\` again from that install`,
    );
    const json = await tether(['service', 'install', '--print', '--json'], { ...m.options, bin });
    expect(JSON.parse(json.stdout)).toMatchObject({
      warnings: [expect.stringContaining("tether runs from npx's cache")],
    });
    const usual = await tether(['service', 'install', '--print', '--json'], m.options);
    expect(usual.stderr).toBe('');
    expect(JSON.parse(usual.stdout)).toMatchObject({ warnings: [] });
  });

  it('says clearly when the user systemd is not there, and status says it cannot ask', async () => {
    const m = machine(() => NO_BUS);
    const install = await tether(['service', 'install'], m.options);
    expect(install.code).toBe(1);
    expect(install.stderr).toMatch(
      /wrote .*tether\.service, but systemctl --user is not available here \(Failed to connect to bus: No medium found\): a user systemd runs in a login session/,
    );
    const status = await tether(['service', 'status'], m.options);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(
      /^service tether: installed \(.*tether\.service\)\n {2}systemctl --user is not available \(Failed to connect to bus: No medium found\): whether it runs cannot be asked here$/,
    );
    const missing = machine(() => ({ code: null, failed: 'ENOENT' }));
    const none = await tether(['service', 'status', '--json'], missing.options);
    expect(JSON.parse(none.stdout)).toMatchObject({
      installed: false,
      running: false,
      manager: { available: false, detail: expect.stringContaining('systemctl is not installed') },
    });
  });

  it('status reads what systemd says; exit 0 only while it runs', async () => {
    const m = machine((argv) =>
      argv.includes('show')
        ? {
            stdout:
              'LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=4242\n',
          }
        : {},
    );
    await tether(['service', 'install'], m.options);
    const status = await tether(['service', 'status'], m.options);
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toMatch(/systemd: active \(running\), enabled, pid 4242$/);
    const stopped = machine((argv) =>
      argv.includes('show')
        ? {
            stdout:
              'LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\nMainPID=0\n',
          }
        : {},
    );
    expect((await tether(['service', 'status'], stopped.options)).code).toBe(1);
  });

  it('uninstall stops it, removes the unit and tells systemd; a second uninstall says nothing is installed', async () => {
    const m = machine();
    await tether(['service', 'install'], m.options);
    m.ran.length = 0;
    const outcome = await tether(['service', 'uninstall'], m.options);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(m.ran).toEqual([
      ['systemctl', '--user', 'disable', '--now', 'tether.service'],
      ['systemctl', '--user', 'daemon-reload'],
    ]);
    expect(existsSync(join(m.home, '.config', 'systemd', 'user', 'tether.service'))).toBe(false);
    const again = await tether(['service', 'uninstall', '--json'], m.options);
    expect(again.code).toBe(1);
    expect(jsonError(again)).toMatchObject({ code: 'NOT_INSTALLED' });
  });

  it('refuses a config that is missing (the hub would run its demo) or invalid', async () => {
    const m = machine();
    const missing = await tether(['service', 'install', '--config', 'nope.json'], m.options);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /there is no .*nope\.json: the service runs `tether start --config/,
    );
    writeFileSync(m.config, '{ "hub": { "port": "high" } }');
    const invalid = await tether(['service', 'install'], m.options);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/hub\.port/);
    expect(m.ran).toEqual([]);
  });

  it('the real runner on this machine: status answers either way, and exits 1 for a service that is not installed', async () => {
    const m = machine();
    const outcome = await tether(['service', 'status', '--name', 'tether-test-not-installed'], {
      ...m.options,
      run: runProgram,
    });
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(/not installed/);
    expect(outcome.stdout).toMatch(/systemd|systemctl/);
  });
});

describe('tether service on macOS (launchd, user agent)', () => {
  it('writes a plist that runs the hub at log-in, restarts it when it fails, and loads it', async () => {
    const m = machine((argv) =>
      argv[1] === 'bootout' ? { code: 113, stderr: 'Boot-out failed: 3: No such process' } : {},
    );
    const outcome = await tether(['service', 'install'], { ...m.options, platform: 'darwin' });
    expect(outcome.code, outcome.stderr).toBe(0);
    const plistFile = join(m.home, 'Library', 'LaunchAgents', 'tether.plist');
    const plist = readFileSync(plistFile, 'utf8');
    const envFile = join(m.home, '.config', 'tether', 'tether.env');
    const args = [...plist.matchAll(/<string>([^<]*)<\/string>/g)].map((x) => x[1]);
    expect(args).toEqual(
      expect.arrayContaining(['/bin/sh', '-c', envFile, NODE, BIN, 'start', '--config', m.config]),
    );
    expect(plist).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
    expect(plist).toMatch(
      /<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/,
    );
    expect(plist).toContain(
      `<key>StandardOutPath</key>\n  <string>${join(m.home, 'Library', 'Logs', 'tether', 'tether.log')}</string>`,
    );
    expect(plist).not.toContain('admin-secret-1');
    expect(existsSync(join(m.home, 'Library', 'Logs', 'tether'))).toBe(true);
    expect(m.ran).toEqual([
      ['launchctl', 'bootout', 'gui/501/tether'],
      ['launchctl', 'enable', 'gui/501/tether'],
      ['launchctl', 'bootstrap', 'gui/501', plistFile],
    ]);
  });

  it("the plist's shell reads the secrets file when there is one and then runs the hub's command line as given", async () => {
    const m = machine();
    const outcome = await tether(['service', 'install', '--print', '--json'], {
      ...m.options,
      platform: 'darwin',
    });
    const plist = (JSON.parse(outcome.stdout) as { content: string }).content;
    const script = /<string>-c<\/string>\s*<string>([^<]*)<\/string>/.exec(plist)![1]!;
    const envFile = join(m.dir, 'secrets.env');
    const run = (file: string) =>
      promisify(execFile)(
        '/bin/sh',
        ['-c', script, file, '/bin/sh', '-c', 'echo "[$XZ_TOKEN] $0"', 'arg with spaces'],
        {
          timeout: 5_000,
          env: { PATH: '/usr/bin:/bin' },
        },
      );
    writeFileSync(envFile, 'XZ_TOKEN=from-the-file\n');
    expect((await run(envFile)).stdout).toBe('[from-the-file] arg with spaces\n');
    expect((await run(join(m.dir, 'absent.env'))).stdout).toBe('[] arg with spaces\n');
  });

  it('status reads launchctl print', async () => {
    const m = machine(() => ({ stdout: 'gui/501/tether = {\n\tstate = running\n\tpid = 777\n}' }));
    const status = await tether(['service', 'status'], { ...m.options, platform: 'darwin' });
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toMatch(/launchd: running, pid 777/);
    expect(m.ran).toEqual([['launchctl', 'print', 'gui/501/tether']]);
  });
});

describe('tether service on Windows', () => {
  it('prints the Task Scheduler and NSSM steps with --print, and installs nothing without it', async () => {
    const m = machine();
    const options = {
      ...m.options,
      platform: 'win32' as const,
      env: { ...m.options.env, LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' },
    };
    const printed = await tether(['service', 'install', '--print'], options);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(
      'schtasks /Create /TN tether /SC ONLOGON /RL LIMITED /F /TR "\\"C:\\Users\\me\\AppData\\Local\\tether\\tether.cmd\\""',
    );
    expect(printed.stdout).toContain(`${NODE} ${BIN} start --config "${m.config}"`);
    expect(printed.stdout).toContain(
      `nssm install tether ${NODE} ${BIN} start --config "${m.config}"`,
    );
    expect(printed.stdout).toContain('nssm start tether');
    const plain = await tether(['service', 'install'], options);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe('tether: nothing was installed: follow one of the ways above');
    expect(readdirSync(m.home)).toEqual([]);
    expect(m.ran).toEqual([]);
  });
});
