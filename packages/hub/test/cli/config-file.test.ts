import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePath } from '../../src/cli/config-file.js';
import { maskSecrets } from '../../src/log/mask.js';
import { jsonError, tether } from './harness.js';

const FILE = `{
  // The living room's speaker.
  "endpoints": [
    { "name": "living-room", "url": "wss://api.xiaozhi.me/mcp/?token=\${XIAOZHI_TOKEN}" },
    { "name": "kitchen", "url": "wss://api.xiaozhi.me/mcp/?token=eyJhbGciOiJFUzI1NiJ9.kitchen-secret" }
  ],
  "mcpServers": {
    /* a calculator */
    "calc": {
      "command": "node",
      "args": ["calc.js"],
      "env": { "CALC_API_KEY": "sk-calc-secret-123", "MODE": "fast" }
    },
    "weather": {
      "type": "http",
      "url": "https://example.test/mcp",
      "headers": { "Authorization": "Bearer \${WEATHER_TOKEN}", "X-Api-Key": "weather-secret-456" }
    }
  },
}
`;

function folder(text = FILE): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-config-cli-'));
  const file = join(dir, 'tether.config.json');
  writeFileSync(file, text, { mode: 0o640 });
  return { dir, file };
}

/** The variables the file refers to, as the hub would have them. */
const env = { XIAOZHI_TOKEN: 'x', WEATHER_TOKEN: 'w' };

describe('tether config set and unset', () => {
  it('changes one value and keeps the comments and the rest of the layout', async () => {
    const { dir, file } = folder();
    const set = await tether(['config', 'set', 'hub.port', '9000'], { cwd: dir, env });
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toBe(
      'hub.port = 9000 in tether.config.json; a hub running with this file applies it by itself',
    );
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("// The living room's speaker.");
    expect(text).toContain('/* a calculator */');
    expect(text).toMatch(/"hub": \{\s*"port": 9000\s*\}/);
    // Everything before the new key is as it was, byte for byte.
    expect(text.startsWith(FILE.slice(0, FILE.indexOf('    "weather"')))).toBe(true);

    // A value is JSON when it parses as JSON, text when it does not; "…" keeps digits text.
    await tether(['config', 'set', 'mcpServers.calc.command', 'deno'], { cwd: dir, env });
    await tether(['config', 'set', 'mcpServers.calc.args[1]', '"42"'], { cwd: dir, env });
    await tether(['config', 'set', 'endpoints[0].enabled', 'false'], { cwd: dir, env });
    const got = await tether(['config', 'get', 'mcpServers.calc', '--json', '--show-secrets'], {
      cwd: dir,
    });
    expect(JSON.parse(got.stdout)).toEqual({
      command: 'deno',
      args: ['calc.js', '42'],
      env: { CALC_API_KEY: 'sk-calc-secret-123', MODE: 'fast' },
    });
    expect((await tether(['config', 'get', 'endpoints[0].enabled'], { cwd: dir })).stdout).toBe(
      'false',
    );
    // The line of an untouched entry stays exactly as written.
    expect(readFileSync(file, 'utf8')).toContain(
      '{ "name": "kitchen", "url": "wss://api.xiaozhi.me/mcp/?token=eyJhbGciOiJFUzI1NiJ9.kitchen-secret" }',
    );

    const unset = await tether(['config', 'unset', 'mcpServers.weather'], { cwd: dir, env });
    expect(unset.code, unset.stderr).toBe(0);
    expect(unset.stdout).toMatch(
      /^removed mcpServers\.weather \(was \{.*\}\) in tether\.config\.json/,
    );
    expect(unset.stdout).not.toContain('weather-secret-456');
    await tether(['config', 'unset', 'endpoints[1]'], { cwd: dir, env });
    const after = readFileSync(file, 'utf8');
    expect(after).not.toContain('weather');
    expect(after).not.toContain('kitchen');
    expect(after).toContain('/* a calculator */');
  });

  it('refuses a change that `tether start` would refuse, and leaves the file as it was', async () => {
    const { dir, file } = folder();
    const bad = await tether(['config', 'set', 'endpoints[0].url', 'http://example.test/'], {
      cwd: dir,
      env,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'tether: not written: tether.config.json would be invalid:\n  endpoints[0].url: must start with ws:// or wss:// (found http://)',
    );
    const json = await tether(['config', 'set', 'hub.port', '"eighty"', '--json'], {
      cwd: dir,
      env,
    });
    expect(json.code).toBe(2);
    expect(jsonError(json)).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('hub.port'),
    });
    expect(readFileSync(file, 'utf8')).toBe(FILE);
    expect(readdirSync(dir)).toEqual(['tether.config.json']);
  });

  it('writes a ${VAR} this shell does not have, with a warning that the hub needs it', async () => {
    const { dir, file } = folder();
    const set = await tether(['config', 'set', 'mcpServers.calc.env.CALC_TOKEN', '${CALC_TOKEN}'], {
      cwd: dir,
      env,
    });
    expect(set.code).toBe(0);
    expect(set.stderr).toBe(
      'warning: mcpServers.calc.env.CALC_TOKEN: environment variable CALC_TOKEN is not set here; the hub needs it in its environment',
    );
    expect(readFileSync(file, 'utf8')).toContain('"CALC_TOKEN": "${CALC_TOKEN}"');
  });

  it('creates the file when there is none, readable by its owner only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-config-new-'));
    const set = await tether(
      ['config', 'set', 'endpoints[0]', '{"name":"home","url":"wss://example.test/mcp"}'],
      { cwd: dir },
    );
    expect(set.code, set.stderr).toBe(0);
    const file = join(dir, 'tether.config.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      endpoints: [{ name: 'home', url: 'wss://example.test/mcp' }],
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const far = await tether(['config', 'set', 'endpoints[5].url', 'wss://x.test/'], { cwd: dir });
    expect(far).toMatchObject({ code: 1 });
    expect(far.stderr).toBe('tether: endpoints has 1 items: [1] adds one');
  });

  it('replaces the file in one step: its mode kept, a symlink kept a symlink, no temp file left', async () => {
    const { dir, file } = folder();
    const link = join(dir, 'linked');
    mkdirSync(link);
    symlinkSync(file, join(link, 'tether.config.json'));
    const set = await tether(['config', 'set', 'hub.port', '9001'], { cwd: link, env });
    expect(set.code, set.stderr).toBe(0);
    expect(lstatSync(join(link, 'tether.config.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('"port": 9001');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual(['linked', 'tether.config.json']);
  });

  it('removes the last item of a list written without spaces, leaving a file that still parses', async () => {
    const { dir, file } = folder(
      '{"mcpServers":{"x":{"command":"node","args":["a.js","--verbose"]}}}\n',
    );
    const unset = await tether(['config', 'unset', 'mcpServers.x.args[1]'], { cwd: dir });
    expect(unset, unset.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(file, 'utf8')).toBe(
      '{"mcpServers":{"x":{"command":"node","args":["a.js"]}}}\n',
    );
  });

  it('takes --config for another file', async () => {
    const { file } = folder();
    const set = await tether(['config', 'set', 'hub.host', '0.0.0.0', '--config', file], { env });
    expect(set.stdout).toMatch(/^hub\.host = "0\.0\.0\.0" in \S*tether\.config\.json;/);
    expect((await tether(['config', 'get', 'hub.host', '--config', file])).stdout).toBe('0.0.0.0');
  });
});

describe('tether config get', () => {
  it('masks tokens, keys and credential headers unless --show-secrets, and shows ${VAR}s as written', async () => {
    const { dir } = folder();
    const all = await tether(['config', 'get'], { cwd: dir });
    expect(all.code).toBe(0);
    const shown = JSON.parse(all.stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({
      endpoints: [
        { url: 'wss://api.xiaozhi.me/mcp/?token=${XIAOZHI_TOKEN}' },
        { url: expect.stringMatching(/token=\*\*\*|token=eyJh\*\*\*/) },
      ],
      mcpServers: {
        calc: { env: { CALC_API_KEY: 'sk-c***', MODE: 'fast' } },
        weather: { headers: { Authorization: 'Bearer ${WEATHER_TOKEN}', 'X-Api-Key': 'weat***' } },
      },
    });
    for (const secret of ['kitchen-secret', 'sk-calc-secret-123', 'weather-secret-456'])
      expect(all.stdout).not.toContain(secret);
    const revealed = await tether(
      ['config', 'get', 'mcpServers.calc.env.CALC_API_KEY', '--show-secrets'],
      { cwd: dir },
    );
    expect(revealed.stdout).toBe('sk-calc-secret-123');
    expect(
      (await tether(['config', 'get', 'endpoints[1].url'], { cwd: dir })).stdout,
    ).not.toContain('kitchen-secret');
  });

  it('keeps a secret masked when it is reached by index: `args[2]` after `--api-key` is masked as in `args`', async () => {
    const { dir } = folder(
      JSON.stringify({
        mcpServers: {
          x: {
            command: 'npx',
            args: ['srv', '--api-key', 'sk-LIVE-123456789', '--token=tok-LIVE-987654321'],
            env: { API_KEY: ['key-LIVE-111111111'] },
          },
        },
      }),
    );
    const list = await tether(['config', 'get', 'mcpServers.x.args'], { cwd: dir });
    expect(JSON.parse(list.stdout)).toEqual(['srv', '--api-key', 'sk-L***', '--token=tok-***']);
    const item = await tether(['config', 'get', 'mcpServers.x.args[2]'], { cwd: dir });
    expect(item).toMatchObject({ code: 0, stdout: 'sk-L***' });
    const glued = await tether(['config', 'get', 'mcpServers.x.args[3]', '--json'], { cwd: dir });
    expect(JSON.parse(glued.stdout)).toBe('--token=tok-***');
    // Deeper: an item of a list under a credential name.
    const deep = await tether(['config', 'get', 'mcpServers.x.env.API_KEY[0]'], { cwd: dir });
    expect(deep.stdout).toBe('key-***');
    const revealed = await tether(['config', 'get', 'mcpServers.x.args[2]', '--show-secrets'], {
      cwd: dir,
    });
    expect(revealed.stdout).toBe('sk-LIVE-123456789');
    for (const outcome of [list, item, glued, deep]) expect(outcome.stdout).not.toMatch(/LIVE-\d/);
  });

  it('does not echo the old or the new secret when `config set` replaces an argument after `--api-key`', async () => {
    const { dir, file } = folder(
      JSON.stringify({
        mcpServers: { x: { command: 'npx', args: ['srv', '--api-key', 'sk-LIVE-123456789'] } },
      }),
    );
    const set = await tether(['config', 'set', 'mcpServers.x.args[2]', 'sk-NEW-555555555'], {
      cwd: dir,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      'mcpServers.x.args[2] = "sk-N***" (was "sk-L***") in tether.config.json; a hub running with this file applies it by itself',
    );
    const json = await tether(
      ['config', 'set', 'mcpServers.x.args[2]', 'sk-THIRD-77777777', '--json'],
      { cwd: dir },
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ value: 'sk-T***', previous: 'sk-N***' });
    const unset = await tether(['config', 'unset', 'mcpServers.x.args[2]'], { cwd: dir });
    expect(unset.stderr).toBe('');
    expect(unset.stdout).toMatch(/^removed mcpServers\.x\.args\[2\] \(was "sk-T\*\*\*"\)/);
    expect(JSON.stringify([set, json, unset])).not.toMatch(/(LIVE|NEW|THIRD)-\d/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      mcpServers: { x: { command: 'npx', args: ['srv', '--api-key'] } },
    });
  });

  it('says what is missing: a key, the file, a path it cannot read', async () => {
    const { dir } = folder();
    const key = await tether(['config', 'get', 'hub.port'], { cwd: dir });
    expect(key).toMatchObject({ code: 1 });
    expect(key.stderr).toBe(
      'tether: hub.port is not set in tether.config.json (the default applies, if it has one)',
    );
    const none = await tether(['config', 'get', '--json'], { cwd: join(dir, 'nowhere') });
    expect(jsonError(none)).toMatchObject({
      code: 'NO_CONFIG_FILE',
      message: expect.stringContaining('`tether config set PATH VALUE` creates it'),
    });
    const odd = await tether(['config', 'get', 'endpoints.name'], { cwd: dir });
    expect(odd.stderr).toBe('tether: endpoints is a list: index it with [N]');
    const typo = await tether(['config', 'get', 'hub..port'], { cwd: dir });
    expect(typo.stderr).toMatch(/cannot read the path "hub\.\.port" at character 4/);
    const broken = folder('{ "endpoints": [ }');
    const syntax = await tether(['config', 'get'], { cwd: broken.dir });
    expect(syntax).toMatchObject({ code: 2 });
    expect(syntax.stderr).toMatch(/the file does not parse:\n {2}1:\d+: syntax error/);
  });
});

describe('config paths and masking', () => {
  it('reads dotted keys, indexes and quoted keys', () => {
    expect(parsePath('hub.port')).toEqual(['hub', 'port']);
    expect(parsePath('endpoints[0].url')).toEqual(['endpoints', 0, 'url']);
    expect(parsePath('mcpServers["my server"].args[2]')).toEqual([
      'mcpServers',
      'my server',
      'args',
      2,
    ]);
    expect(parsePath("mcpServers['a.b'].command")).toEqual(['mcpServers', 'a.b', 'command']);
    expect(parsePath('mcpServers.home-assistant.env')).toEqual([
      'mcpServers',
      'home-assistant',
      'env',
    ]);
    expect(() => parsePath('.hub')).toThrow(/cannot read the path/);
  });

  it('masks a literal credential but not a reference to one', () => {
    expect(maskSecrets('Bearer abcdefgh12345', 'Authorization')).toBe('Bearer ***');
    expect(maskSecrets('Bearer ${TOKEN}', 'Authorization')).toBe('Bearer ${TOKEN}');
    expect(maskSecrets('${GITHUB_TOKEN}', 'GITHUB_TOKEN')).toBe('${GITHUB_TOKEN}');
    expect(maskSecrets('ghp_0123456789', 'GITHUB_TOKEN')).toBe('ghp_***');
    expect(maskSecrets(['--api-key=abcdef123456', '--token', 'abcdef123456', 'plain'])).toEqual([
      '--api-key=abcd***',
      '--token',
      'abcd***',
      'plain',
    ]);
    expect(maskSecrets('fast', 'MODE')).toBe('fast');
  });
});
