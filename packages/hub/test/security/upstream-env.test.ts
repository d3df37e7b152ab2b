import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { parseConfig } from '../../src/config/index.js';
import type { ServerConfig } from '../../src/config/types.js';
import { redact } from '../../src/log/redact.js';
import { childEnvironment } from '../../src/upstream/index.js';
import { Fleet, httpConfig, rejection, stdioConfig } from '../upstream/helpers.js';

const fleet = new Fleet();
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  await fleet.stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Sets variables in the hub's (this process's) environment until the test ends. */
function hubEnv(values: Record<string, string>): void {
  const before = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  cleanups.push(() => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const HUB_SECRETS = {
  TETHER_ADMIN_TOKEN: 'admin-token-of-the-hub',
  TETHER_SECRET: 'at-rest-key-of-the-hub',
  DATABASE_URL: 'postgres://hub:dbpass-of-the-hub@db.internal/tether',
  REDIS_URL: 'redis://:redispass-of-the-hub@redis.internal:6379',
};

/**
 * A stdio upstream whose process first writes its whole environment, as JSON, to a file (not to
 * stderr, which the hub redacts), then becomes the fake MCP server with that same environment.
 */
async function childEnvOf(own: Record<string, string> = {}): Promise<Record<string, string>> {
  const { config, dump } = envDumper();
  await fleet.started(stdioConfig({ ...config, env: own }));
  return JSON.parse(readFileSync(dump, 'utf8')) as Record<string, string>;
}

/** The command and args of that environment-dumping server, and the file it writes. */
function envDumper(): { config: { command: string; args: string[] }; dump: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-env-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dump = join(dir, 'env.json');
  const { command, args } = fakeStdioServerParams();
  const write = `require('node:fs').writeFileSync(process.argv[1], JSON.stringify(process.env))`;
  const script =
    'node=$1; code=$2; file=$3; shift 3; "$node" -e "$code" "$file" && exec "$node" "$@"';
  return {
    config: { command: 'sh', args: ['-c', script, 'sh', command, write, dump, ...args] },
    dump,
  };
}

/**
 * The environment the dumper gets when it is the server `dumper` of a configuration file whose
 * other entries are `document` (expanded against the hub's environment, as `tether start` does).
 */
async function childEnvInConfig(
  document: Record<string, unknown>,
  dumper: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  const { config, dump } = envDumper();
  const servers = (document.mcpServers ?? {}) as Record<string, unknown>;
  const text = JSON.stringify({
    ...document,
    mcpServers: { ...servers, dumper: { ...config, ...dumper } },
  });
  const parsed = parseConfig(text, { env: process.env });
  const server = parsed.servers.find((s): s is ServerConfig => s.name === 'dumper');
  if (server === undefined) throw new Error('the dumper is not in the parsed config');
  await fleet.started(server);
  return JSON.parse(readFileSync(dump, 'utf8')) as Record<string, string>;
}

describe("a stdio server's environment", () => {
  it("lacks the hub's admin token, at-rest key, database and Redis URLs, but keeps PATH", async () => {
    hubEnv({ ...HUB_SECRETS, TETHER_LOG_LEVEL: 'warn', HUB_TEST_ORDINARY: 'ordinary' });
    const env = await childEnvOf();
    for (const name of Object.keys(HUB_SECRETS)) expect(env).not.toHaveProperty(name);
    expect(Object.keys(env).filter((name) => /^tether_/i.test(name))).toEqual([]);
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.HUB_TEST_ORDINARY).toBe('ordinary');
  });

  it('has one of those variables when the server config names it, with the configured value', async () => {
    hubEnv(HUB_SECRETS);
    const env = await childEnvOf({
      DATABASE_URL: 'postgres://its-own-database/app',
      TETHER_SECRET: 'its-own-setting',
    });
    expect(env.DATABASE_URL).toBe('postgres://its-own-database/app');
    expect(env.TETHER_SECRET).toBe('its-own-setting');
    expect(env).not.toHaveProperty('TETHER_ADMIN_TOKEN');
    expect(env).not.toHaveProperty('REDIS_URL');
    expect(env.PATH).toBe(process.env.PATH);
  });

  it("lacks the Xiaozhi endpoint URL (MCP_ENDPOINT) and PostgreSQL's PG* connection settings", async () => {
    const pg = {
      PGPASSWORD: 'pg-password-of-the-hub',
      PGHOST: 'db.internal',
      PGUSER: 'tether',
      PGDATABASE: 'tether',
      PGPASSFILE: '/home/hub/.pgpass',
      PGSERVICE: 'tether-prod',
    };
    hubEnv({ MCP_ENDPOINT: 'wss://api.xiaozhi.me/mcp/?token=xz-token-of-the-hub', ...pg });
    const env = await childEnvOf();
    expect(env).not.toHaveProperty('MCP_ENDPOINT');
    for (const name of Object.keys(pg)) expect(env).not.toHaveProperty(name);
    expect(JSON.stringify(env)).not.toContain('xz-token-of-the-hub');
    expect(env.PATH).toBe(process.env.PATH);
  });

  it('lacks a token the configuration gives another server or an endpoint, but keeps what its own entry uses', async () => {
    hubEnv({
      GITHUB_TOKEN: 'ghp_token-for-the-github-server',
      XZ_TOKEN: 'xz-token-for-the-endpoint',
      HOOK_SECRET: 'secret-for-the-webhook',
      DUMPER_KEY: 'key-the-dumper-itself-is-given',
      HUB_TEST_ORDINARY: 'ordinary',
    });
    const env = await childEnvInConfig(
      {
        mcpServers: {
          github: {
            command: 'github-mcp',
            env: { GITHUB_PERSONAL_ACCESS_TOKEN: '${GITHUB_TOKEN}' },
          },
        },
        endpoints: [{ name: 'xz', url: 'wss://api.xiaozhi.me/mcp/?token=${XZ_TOKEN}' }],
        notifications: [
          {
            name: 'hook',
            kind: 'dingtalk',
            url: 'https://oapi.dingtalk.com/x',
            secret: '${HOOK_SECRET}',
          },
        ],
      },
      { env: { API_KEY: '${DUMPER_KEY}' } },
    );
    expect(env).not.toHaveProperty('GITHUB_TOKEN');
    expect(env).not.toHaveProperty('XZ_TOKEN');
    expect(env).not.toHaveProperty('HOOK_SECRET');
    // Its own entry names DUMPER_KEY, so that one it keeps, as well as the value it was given.
    expect(env.API_KEY).toBe('key-the-dumper-itself-is-given');
    expect(env.DUMPER_KEY).toBe('key-the-dumper-itself-is-given');
    expect(env.HUB_TEST_ORDINARY).toBe('ordinary');
    // A server the file does not hold (one added through the API) has none of them.
    const added = await childEnvOf();
    for (const name of ['GITHUB_TOKEN', 'XZ_TOKEN', 'HOOK_SECRET', 'DUMPER_KEY'])
      expect(added).not.toHaveProperty(name);
    expect(added.HUB_TEST_ORDINARY).toBe('ordinary');
  });

  it("keeps PATH and HOME even when another server's settings use them", async () => {
    const env = await childEnvInConfig({
      mcpServers: {
        other: { command: 'other-mcp', cwd: '${HOME}', env: { PATH: '/opt/other/bin:${PATH}' } },
      },
    });
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.HOME).toBe(process.env.HOME);
  });

  it('is filtered by one rule: what the configuration expanded elsewhere is out too, the own env on top', () => {
    const parent = {
      PATH: '/usr/bin',
      HOME: '/home/hub',
      MCP_ENDPOINT: 'wss://x/?token=t',
      PGPASSWORD: 'p',
      pghost: 'h',
      GITHUB_TOKEN: 'g',
      Other_Key: 'o',
      LANG: 'C.UTF-8',
      KEPT: 'k',
    };
    const withheld = ['GITHUB_TOKEN', 'OTHER_KEY', 'PATH', 'LANG'];
    expect(childEnvironment(parent, { PGUSER: 'own' }, withheld)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/hub',
      LANG: 'C.UTF-8',
      KEPT: 'k',
      PGUSER: 'own',
    });
  });

  it('is filtered by one rule: hub secrets out whatever their case, the own env on top', () => {
    const parent = {
      PATH: '/usr/bin',
      HOME: '/home/hub',
      TETHER_ADMIN_TOKEN: 'a',
      tether_secret: 'b',
      Database_Url: 'c',
      REDIS_URL: 'd',
      REDIS_HOST: 'kept: not a credential of the hub',
      UNSET: undefined,
    };
    expect(childEnvironment(parent, { REDIS_URL: 'own', HOME: '/srv' })).toEqual({
      PATH: '/usr/bin',
      HOME: '/srv',
      REDIS_HOST: 'kept: not a credential of the hub',
      REDIS_URL: 'own',
    });
  });

  it('values the server is configured with are masked in what it prints on stderr', async () => {
    const { command, args } = fakeStdioServerParams();
    const upstream = await fleet.started(
      stdioConfig({
        command: 'sh',
        args: ['-c', 'echo "starting with key $API_KEY" >&2; exec "$0" "$@"', command, ...args],
        env: { API_KEY: 'sk-configured-123456' },
      }),
    );
    await waitUntil(() => upstream.status.stderrTail.length > 0, { what: 'the stderr line' });
    expect(upstream.status.stderrTail[0]).toBe('starting with key ***');
  });
});

describe('secrets in upstream errors', () => {
  /** A port nothing listens on: bound, then closed again. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  /** Every log line the upstream writes, at every level. */
  function capturedLogs(): { logger: pino.Logger; text: () => string } {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    return { logger, text: () => lines.join('') };
  }

  it('an HTTP upstream with user:password in its URL never shows the password', async () => {
    const port = await closedPort();
    const logs = capturedLogs();
    const upstream = fleet.make(httpConfig(`http://user:secretpw@127.0.0.1:${port}/mcp`, 'http'), {
      logger: logs.logger,
    });
    await upstream.start();
    const { status } = upstream;
    expect(status.state).toBe('restarting');
    expect(status.lastError).toBeTruthy();
    expect(JSON.stringify(status)).not.toContain('secretpw');
    const error = await rejection(upstream.callTool('echo', { text: 'x' }, { timeoutMs: 1000 }));
    // Its message quotes the last error (which quoted the URL): still masked.
    expect(error.code).toBe('UPSTREAM_RESTARTING');
    expect(error.message).toContain('Last error:');
    expect(error.message).not.toContain('secretpw');
    expect(logs.text()).not.toContain('secretpw');
  });

  it('an HTTP upstream with user:password in its URL reaches its server with Basic auth', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const upstream = fleet.make(
      httpConfig(`http://al%40ice:s3cret%2Fpw@127.0.0.1:${port}/mcp`, 'http'),
    );
    await upstream.start();
    expect(seen[0]).toBe(`Basic ${Buffer.from('al@ice:s3cret/pw').toString('base64')}`);
    expect(JSON.stringify(upstream.status)).not.toContain('s3cret');
  });

  it('an HTTP upstream whose URL credentials are not valid percent-encoding still starts, and hides them', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const logs = capturedLogs();
    const upstream = fleet.make(
      httpConfig(`http://us%er:pa%ss-w0rd@127.0.0.1:${port}/mcp`, 'http'),
      {
        logger: logs.logger,
      },
    );
    await upstream.start();
    // Taken as written, since they do not decode.
    expect(seen[0]).toBe(`Basic ${Buffer.from('us%er:pa%ss-w0rd').toString('base64')}`);
    expect(upstream.status.lastError).toMatch(/POSTing to endpoint/);
    expect(JSON.stringify(upstream.status)).not.toContain('pa%ss-w0rd');
    expect(logs.text()).not.toContain('pa%ss-w0rd');
  });

  it('a server that quotes our token back in its error page does not get it into the status', async () => {
    const token = 'tok-quoted-back-987654';
    const server = createServer((req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`rejected credentials: ${req.headers.authorization ?? ''}; raw ${token}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const logs = capturedLogs();
    const upstream = fleet.make(
      httpConfig(`http://127.0.0.1:${port}/mcp`, 'http', { Authorization: `Token ${token}` }),
      { logger: logs.logger },
    );
    await upstream.start();
    expect(upstream.status.lastError).toMatch(/rejected credentials/);
    expect(JSON.stringify(upstream.status)).not.toContain(token);
    expect(logs.text()).not.toContain(token);
    // Registered only while the upstream lives.
    expect(redact(`x ${token} y`)).toBe('x *** y');
    await upstream.stop();
    expect(redact(`x ${token} y`)).toBe(`x ${token} y`);
  });
});
