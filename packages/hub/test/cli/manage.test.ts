import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeStdioServerParams, waitUntil } from '@tether/testkit';
import type { EndpointTool, EndpointView, ServerView } from '@tether/protocol';
import { jsonError, LIVING_ROOM_TOKEN, startTestHub, tether } from './harness.js';
import type { TestHub } from './harness.js';

const SECRET = 'kitchen-secret-token-9d2f71';
const ADMIN = 'admin-token-for-the-cli-5e8a';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('changing a running hub from the command line (no admin token)', () => {
  let hub: TestHub;
  const at = () => ['--url', hub.url];
  const json = async <T>(args: string[]): Promise<T> => {
    const outcome = await tether([...args, ...at(), '--json']);
    expect(outcome, outcome.stderr).toMatchObject({ code: 0 });
    return JSON.parse(outcome.stdout) as T;
  };
  const toolsOf = (endpoint: string) =>
    fetch(`${hub.url}/api/endpoints/${endpoint}/tools`).then(
      (r) => r.json() as Promise<EndpointTool[]>,
    );

  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.stop());

  it('adds an endpoint that connects, switches it off and on, retries it and removes it, never printing its token', async () => {
    const url = hub.sim.url(SECRET);
    const added = await tether([
      'endpoint',
      'add',
      'kitchen',
      url,
      '--exclude',
      'fake__echo',
      ...at(),
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^added endpoint kitchen \(ws:.*token=kitc\*\*\*\): connecting$/);
    const first = await hub.sim.waitForReady({ token: SECRET, timeoutMs: 10_000 });
    expect(first.tools.map((t) => t.name)).toContain('fake__add');
    expect(first.tools.map((t) => t.name)).not.toContain('fake__echo');

    const list = await tether(['endpoint', 'list', ...at()]);
    expect(list.stdout).toMatch(/^NAME\s+STATE\s+FROM\s+TOOLS\s+URL$/m);
    expect(list.stdout).toMatch(/^kitchen\s+ready\s+api\s+\d+\s+ws:/m);
    expect(list.stdout).toMatch(/^living-room\s+ready\s+file\s/m);
    const views = await json<EndpointView[]>(['endpoint', 'list']);
    expect(views.find((e) => e.name === 'kitchen')).toMatchObject({
      source: 'api',
      state: 'ready',
    });

    const off = await json<EndpointView>(['endpoint', 'disable', 'kitchen']);
    expect(off).toMatchObject({ name: 'kitchen', enabled: false, state: 'disabled' });
    await waitUntil(() => hub.sim.accounting(SECRET).closes >= 1, {
      timeoutMs: 5_000,
      what: 'the disabled endpoint to be closed',
    });
    const on = await tether(['endpoint', 'enable', 'kitchen', ...at()]);
    expect(on.stdout).toMatch(/^enabled endpoint kitchen: /);
    await hub.sim.waitForReady({ token: SECRET, count: 2, timeoutMs: 10_000 });

    const retry = await tether(['endpoint', 'retry', 'kitchen', ...at()]);
    expect(retry.stdout).toMatch(/^endpoint kitchen is ready: nothing to skip/);

    const removed = await tether(['endpoint', 'remove', 'kitchen', ...at()]);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed endpoint kitchen' });
    expect((await json<EndpointView[]>(['endpoint', 'list'])).map((e) => e.name)).toEqual([
      'living-room',
    ]);
    for (const outcome of [added, list, off, on, retry, removed])
      expect(JSON.stringify(outcome)).not.toContain(SECRET);
    expect(list.stdout + JSON.stringify(views)).not.toContain(LIVING_ROOM_TOKEN);
  });

  it('retries an endpoint that waits to reconnect at once, skipping its wait', async () => {
    const dead = `ws://127.0.0.1:${await closedPort()}/mcp/?token=dead-token-1234`;
    expect((await tether(['endpoint', 'add', 'dead', dead, ...at()])).code).toBe(0);
    const read = async () =>
      (await fetch(`${hub.url}/api/endpoints/dead`).then((r) => r.json())) as EndpointView;
    // Failures lengthen the wait; one with more than a second left is a wait to skip.
    await waitUntil(
      async () => {
        const e = await read();
        return e.state === 'backoff' && Date.parse(e.nextRetryAt!) - Date.now() > 1_000;
      },
      { timeoutMs: 15_000, what: 'a backoff of more than a second' },
    );
    const attempts = (await read()).attempts;
    const retry = await tether(['endpoint', 'retry', 'dead', ...at()]);
    expect(retry.stdout).toMatch(/^endpoint dead tries again now \(it was backoff\)/);
    await waitUntil(async () => (await read()).attempts > attempts, {
      timeoutMs: 900,
      what: 'an attempt before the wait was over',
    });
    await tether(['endpoint', 'remove', 'dead', ...at()]);
  });

  it('refuses to remove what the config file defines, and names the entry to unset there', async () => {
    const options = { cwd: hub.dir };
    const endpoint = await tether(['endpoint', 'remove', 'living-room', ...at()], options);
    expect(endpoint.code).toBe(1);
    expect(endpoint.stderr).toContain(
      "endpoint living-room comes from tether.config.json: remove it there, e.g. `tether config unset 'endpoints[0]'`",
    );
    expect(endpoint.stderr).toContain('`tether endpoint disable living-room`');
    const server = await tether(['server', 'remove', 'fake', ...at(), '--json'], options);
    expect(server.code).toBe(1);
    expect(server.stdout).toBe('');
    expect(jsonError(server)).toMatchObject({
      code: 'READ_ONLY',
      message: expect.stringContaining("`tether config unset 'mcpServers.fake'`"),
    });
    // Elsewhere than the file's folder, the CLI cannot name the entry, and says so.
    const elsewhere = await tether(['server', 'remove', 'fake', ...at()]);
    expect(elsewhere.stderr).toMatch(/comes from the hub's configuration file: remove it there/);
  });

  it('says when a name is unknown, and how to list the names', async () => {
    const endpoint = await tether(['endpoint', 'enable', 'nope', ...at()]);
    expect(endpoint).toMatchObject({ code: 1 });
    expect(endpoint.stderr).toMatch(
      /has no endpoint named nope; `tether endpoint list` shows the names/,
    );
    const server = await tether(['server', 'restart', 'nope', ...at(), '--json']);
    expect(jsonError(server)).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/no server named nope; `tether server list`/),
    });
    const tool = await tether(['tool', 'disable', 'fake__nope', ...at()]);
    expect(tool).toMatchObject({ code: 1 });
    expect(tool.stderr).toMatch(/no endpoint gets no tool named fake__nope; `tether tools` lists/);
    const twice = await tether(['endpoint', 'add', 'living-room', 'wss://example.test/', ...at()]);
    expect(twice.stderr).toMatch(/an endpoint named living-room exists: pick another name/);
    const bad = await tether(['endpoint', 'add', 'porch', 'https://example.test/', ...at()]);
    expect(bad.stderr).toMatch(/the hub refused the endpoint: url: must be a ws:\/\/ or wss:\/\//);
  });

  it('adds servers by command line or URL, lists them with their tools, restarts and removes them', async () => {
    const { command, args } = fakeStdioServerParams();
    const added = await tether(['server', 'add', 'more', ...at(), '--', command, ...args]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^added server more \(.+\): /);
    const other = await tether([
      'server',
      'add',
      'other',
      '--command',
      command,
      ...args.flatMap((a) => ['--arg', a]),
      '--env',
      'OTHER_API_KEY=other-secret-value',
      ...at(),
    ]);
    expect(other.code, other.stderr).toBe(0);
    await waitUntil(
      async () =>
        (await json<ServerView[]>(['server', 'list'])).filter((s) => s.state === 'ready').length ===
        3,
      { timeoutMs: 10_000, what: 'three servers ready' },
    );

    const list = await tether(['server', 'list', ...at()]);
    expect(list.stdout).toMatch(/^NAME\s+STATE\s+TYPE\s+FROM\s+TOOLS\s+RESTARTS\s+RUNS$/m);
    expect(list.stdout).toMatch(/^fake\s+ready\s+stdio\s+file\s+\d+\s+0\s/m);
    expect(list.stdout).toMatch(/^more\s+ready\s+stdio\s+api\s+\d+\s+0\s/m);
    const withTools = await tether(['server', 'list', '--tools', ...at()]);
    expect(withTools.stdout).toMatch(/^more\s+ready[^\n]*\n {4}more__add\b/m);
    const views = await json<Array<ServerView & { toolList: Array<{ name: string }> }>>([
      'server',
      'list',
      '--tools',
    ]);
    expect(views.find((s) => s.name === 'other')!.toolList.map((t) => t.name)).toContain(
      'other__add',
    );

    const before = views.find((s) => s.name === 'more')!;
    const restarted = await json<ServerView>(['server', 'restart', 'more']);
    expect(restarted).toMatchObject({ name: 'more', state: 'ready' });
    expect(Date.parse(restarted.since!)).toBeGreaterThan(Date.parse(before.since!));
    const text = await tether(['server', 'restart', 'other', ...at()]);
    expect(text.stdout).toMatch(/^restarted server other: ready, \d+ tools$/);

    for (const name of ['more', 'other'])
      expect(await tether(['server', 'remove', name, ...at()])).toMatchObject({
        code: 0,
        stdout: `removed server ${name}`,
      });
    expect((await json<ServerView[]>(['server', 'list'])).map((s) => s.name)).toEqual(['fake']);
    expect(JSON.stringify([added, other, list, withTools, views])).not.toContain(
      'other-secret-value',
    );

    // A URL is an HTTP server; its headers' values never shown.
    const web = await tether([
      'server',
      'add',
      'web',
      'http://127.0.0.1:9/mcp',
      '--header',
      'Authorization=Bearer web-secret-value-77',
      ...at(),
    ]);
    expect(web.code, web.stderr).toBe(0);
    const webList = await tether(['server', 'list', ...at()]);
    expect(webList.stdout).toMatch(/^web\s+\S+\s+http\s+api\s.*headers: Authorization/m);
    expect(webList.stdout + web.stdout).not.toContain('web-secret-value-77');
    await tether(['server', 'remove', 'web', ...at()]);

    // --url is the hub's address: never taken for the server's, where it would carry the token.
    const wrong = await tether(['server', 'add', 'w', '--url', 'https://example.test/mcp']);
    expect(wrong).toMatchObject({ code: 1 });
    expect(wrong.stderr).toMatch(/--url is the hub's address; a server's URL comes after its name/);
  });

  it("never prints a key given on a server's command line, in `server add` or `server list`", async () => {
    const key = 'sk-LIVE-123456789';
    const added = await tether([
      'server',
      'add',
      'keyed',
      '--disabled',
      ...at(),
      '--',
      'npx',
      'srv',
      '--api-key',
      key,
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe('added server keyed (npx srv --api-key sk-L***): disabled, 0 tools');
    const list = await tether(['server', 'list', ...at()]);
    expect(list.stdout).toMatch(
      /^keyed\s+disabled\s+stdio\s+api\s.*npx srv --api-key sk-L\*\*\*$/m,
    );
    const json = await tether(['server', 'list', ...at(), '--json']);
    expect(JSON.stringify([added, list, json])).not.toContain(key);
    await tether(['server', 'remove', 'keyed', ...at()]);
  });

  it('switches a tool off on every endpoint that serves it, naming them, and on again', async () => {
    await tether(['endpoint', 'add', 'porch', hub.sim.url('porch'), ...at()]);
    await hub.sim.waitForReady({ token: 'porch', timeoutMs: 10_000 });
    const off = await tether(['tool', 'disable', 'fake__add', ...at()]);
    expect(off).toMatchObject({ code: 0, stdout: 'switched fake__add off for living-room, porch' });
    for (const endpoint of ['living-room', 'porch'])
      expect((await toolsOf(endpoint)).find((t) => t.name === 'fake__add')?.enabled).toBe(false);
    // Xiaozhi reads tools at the handshake: the endpoint is reconnected without the tool.
    const again = await hub.sim.waitForReady({ token: 'porch', count: 2, timeoutMs: 10_000 });
    expect(again.tools.map((t) => t.name)).not.toContain('fake__add');

    const one = await json<{ changed: string[]; unchanged: string[] }>([
      'tool',
      'enable',
      'fake__add',
      '--endpoint',
      'porch',
    ]);
    expect(one).toMatchObject({ changed: ['porch'], unchanged: [] });
    expect((await toolsOf('living-room')).find((t) => t.name === 'fake__add')?.enabled).toBe(false);
    const rest = await tether(['tool', 'enable', 'fake__add', ...at()]);
    expect(rest.stdout).toBe('switched fake__add on for living-room\n(already on for porch)');
    const none = await tether(['tool', 'enable', 'fake__add', ...at()]);
    expect(none.stdout).toBe('fake__add was already on everywhere it is served');
    const unknown = await tether(['tool', 'disable', 'fake__nope', '--endpoint', 'porch', ...at()]);
    expect(unknown.stderr).toMatch(/endpoint porch gets no tool named fake__nope/);
    await tether(['endpoint', 'remove', 'porch', ...at()]);
  });

  it("edits the hub's own file with `tether config`, and the running hub applies it", async () => {
    const options = { cwd: hub.dir };
    const url = hub.sim.url('attic-token');
    const set = await tether(
      ['config', 'set', 'endpoints[1]', JSON.stringify({ name: 'attic', url })],
      options,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('a hub running with this file applies it by itself');
    expect(set.stdout).not.toContain('attic-token');
    await hub.sim.waitForReady({ token: 'attic-token', timeoutMs: 10_000 });
    const unset = await tether(['config', 'unset', 'endpoints[1]'], options);
    expect(unset.code, unset.stderr).toBe(0);
    await waitUntil(
      async () =>
        !(await json<EndpointView[]>(['endpoint', 'list'])).some((e) => e.name === 'attic'),
      { timeoutMs: 5_000, what: 'attic to be gone' },
    );
  });

  it('says how to start a hub or point at one when none answers, with exit code 3', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const text = await tether(['endpoint', 'list', '--url', url]);
    expect(text.code).toBe(3);
    expect(text.stderr).toMatch(
      /cannot reach the hub at http:\/\/127\.0\.0\.1:\d+\/ \(.*ECONNREFUSED.*\): start one with `tether start`, or pass --url \(or set TETHER_URL\)/,
    );
    const viaEnv = await tether(['server', 'list', '--json'], { env: { TETHER_URL: url } });
    expect(viaEnv.code).toBe(3);
    expect(jsonError(viaEnv).code).toBe('UNREACHABLE');
  });
});

describe('changing a hub that has an admin token', () => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub({ adminToken: ADMIN });
  });
  afterAll(() => hub.stop());

  /** The flags go before the operands: after `--` they would be the server's arguments. */
  const withFlags = (argv: string[], ...flags: string[]) => [
    ...argv.slice(0, 2),
    ...flags,
    ...argv.slice(2),
  ];

  /** Every command that talks to the hub, with names that exist (or are about to). */
  const commands = (fakeArgs: string[]) => [
    ['endpoint', 'add', 'kitchen', hub.sim.url(SECRET)],
    ['endpoint', 'list'],
    ['endpoint', 'disable', 'kitchen'],
    ['endpoint', 'enable', 'kitchen'],
    ['endpoint', 'retry', 'kitchen'],
    ['tool', 'disable', 'fake__echo'],
    ['tool', 'enable', 'fake__echo', '--endpoint', 'kitchen'],
    ['server', 'add', 'more', '--', ...fakeArgs],
    ['server', 'list', '--tools'],
    ['server', 'restart', 'more'],
    ['server', 'remove', 'more'],
    ['endpoint', 'remove', 'kitchen'],
  ];

  it('says to pass --token or set TETHER_ADMIN_TOKEN, for every command, and changes nothing', async () => {
    const { command, args } = fakeStdioServerParams();
    for (const argv of commands([command, ...args])) {
      const outcome = await tether(withFlags(argv, '--url', hub.url));
      expect(outcome.code, argv.join(' ')).toBe(4);
      expect(outcome.stderr).toBe(
        'tether: this hub needs its admin token: set TETHER_ADMIN_TOKEN or pass --token',
      );
      const json = await tether(withFlags(argv, '--url', hub.url, '--json'));
      expect(jsonError(json).code, argv.join(' ')).toBe('UNAUTHORIZED');
    }
    expect(hub.running.hub.endpoints().map((e) => e.name)).toEqual(['living-room']);
    const wrong = await tether(['endpoint', 'list', '--url', hub.url, '--token', 'not-it-at-all']);
    expect(wrong).toMatchObject({ code: 4 });
    expect(wrong.stderr).toMatch(/refused the admin token it was given: check TETHER_ADMIN_TOKEN/);
  });

  it('does every command with --token, and with TETHER_ADMIN_TOKEN, never printing the token', async () => {
    const { command, args } = fakeStdioServerParams();
    const outputs: string[] = [];
    for (const [i, argv] of commands([command, ...args]).entries()) {
      // Half by the flag, half by the variable.
      const outcome =
        i % 2 === 0
          ? await tether(withFlags(argv, '--url', hub.url, '--token', ADMIN))
          : await tether([...argv], { env: { TETHER_URL: hub.url, TETHER_ADMIN_TOKEN: ADMIN } });
      expect(outcome.code, `${argv.join(' ')}: ${outcome.stderr}`).toBe(0);
      outputs.push(outcome.stdout, outcome.stderr);
      if (argv[1] === 'add' && argv[0] === 'endpoint')
        await hub.sim.waitForReady({ token: SECRET, timeoutMs: 10_000 });
    }
    expect(outputs.join('\n')).not.toContain(ADMIN);
    expect(outputs.join('\n')).not.toContain(SECRET);
    expect(hub.running.hub.endpoints().map((e) => e.name)).toEqual(['living-room']);
  });
});

describe('switching a tool on several endpoints when one of them fails', () => {
  /**
   * A stand-in for the hub's API: three endpoints that serve `calc__add`, and a PUT that fails
   * for `kitchen`. The real hub's switch rarely fails midway; this makes it fail every time.
   */
  async function flakyHub(): Promise<{ url: string; puts: string[]; close(): Promise<void> }> {
    const puts: string[] = [];
    const server = createHttpServer((request, response) => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const path = request.url ?? '';
      if (request.method === 'GET' && path === '/api/endpoints')
        return send(
          200,
          ['attic', 'kitchen', 'porch'].map((name) => ({ name })),
        );
      if (request.method === 'GET' && /^\/api\/endpoints\/\w+\/tools$/.test(path))
        return send(200, [{ name: 'calc__add', enabled: true }]);
      if (request.method === 'PUT') {
        puts.push(path);
        if (path.includes('/kitchen/'))
          return send(500, { error: { code: 'INTERNAL', message: 'the store is read-only' } });
        return send(200, { name: 'calc__add', enabled: false });
      }
      send(404, { error: { code: 'NOT_FOUND', message: 'no route' } });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      puts,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it('says which endpoints were switched and which were not, and exits 1', async () => {
    const api = await flakyHub();
    try {
      const text = await tether(['tool', 'disable', 'calc__add', '--url', api.url]);
      expect(api.puts).toHaveLength(3);
      expect(text.code).toBe(1);
      expect(text.stdout).toBe('switched calc__add off for attic, porch');
      expect(text.stderr).toBe(
        'tether: calc__add was not switched off for kitchen (the store is read-only); it is off for attic, porch',
      );

      const json = await tether(['tool', 'disable', 'calc__add', '--url', api.url, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({
        tool: 'calc__add',
        enabled: false,
        changed: ['attic', 'porch'],
        unchanged: [],
        failed: [{ endpoint: 'kitchen', code: 'INTERNAL', message: 'the store is read-only' }],
      });
      expect(jsonError(json)).toMatchObject({ code: 'NOT_ALL_SWITCHED' });
    } finally {
      await api.close();
    }
  });
});
