import { readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, startFakeHttpServer, waitUntil } from '@tether/testkit';
import { exposedNames } from '../../src/catalog/names.js';
import { importConfig, loadConfig } from '../../src/config/index.js';
import type { TetherConfigFile } from '../../src/config/index.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';
import { put, tempDir } from './helpers.js';

/**
 * Each peer's real-world config, imported and then run: a hub started on the printed config,
 * from a folder that is not the source's, against a simulated endpoint, must send the endpoint
 * exactly the tools the source would have served — every tool of every server it runs, minus
 * the ones it switched off.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/import/', import.meta.url));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  hub: Hub;
  /** Tool names the endpoint was sent at its last handshake (Tether's own left out). */
  served(): Promise<string[]>;
}

/**
 * Write the imported config into a fresh folder, point its endpoints at a simulator, load it as
 * `tether start` would and run it until every server is ready.
 */
async function run(
  imported: TetherConfigFile,
  env: NodeJS.ProcessEnv,
  change: (doc: TetherConfigFile) => void = () => {},
): Promise<Running> {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const doc = structuredClone(imported);
  doc.endpoints = (doc.endpoints ?? [{ name: 'endpoint-1', url: '' }]).map((e) => ({
    ...e,
    url: sim.url(),
  }));
  change(doc);
  const dir = await tempDir();
  await put(dir, 'tether.config.json', JSON.stringify(doc, null, 2));
  const { config } = await loadConfig({ cwd: dir, env });
  const hub = new Hub(
    { ...config, hub: { ...config.hub, port: 0, earlyReplyMs: 0, toolChangeDebounceMs: 50 } },
    { logger: silentLogger() },
  );
  cleanups.push(() => hub.stop());
  await hub.start();
  const running = config.servers.filter((s) => s.enabled).length;
  await waitUntil(() => hub.servers().filter((s) => s.state === 'ready').length === running, {
    timeoutMs: 15_000,
    what: `${running} server(s) ready`,
  });
  const served = async () =>
    (await sim.waitForReady({ timeoutMs: 10_000 })).tools
      .map((t) => t.name)
      .filter((name) => !name.startsWith('tether__'))
      .sort();
  return { hub, served };
}

/** The endpoint's tools once they settle on `expected` (a change of set is a reconnect). */
async function settled(running: Running, expected: string[]): Promise<string[]> {
  let last: string[] = [];
  await waitUntil(
    async () => {
      last = await running.served();
      return JSON.stringify(last) === JSON.stringify([...expected].sort());
    },
    { timeoutMs: 10_000, what: 'the endpoint to be sent the expected tools' },
  ).catch(() => {});
  return last;
}

/** A front door that answers 401 unless the request carries `Bearer <key>`, as ModelScope does. */
async function modelScopeGate(target: string, key: string) {
  const to = new URL(target);
  const refused: string[] = [];
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${key}`) {
      refused.push(req.url ?? '');
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const forward = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`, refused };
}

describe('an imported config, started, serves what the source served', () => {
  it('xiaozhi-client: ModelScope key, relative paths, a Chinese server name and disabled tools', async () => {
    const file = join(FIXTURES, 'xiaozhi', 'xiaozhi.config.json');
    const source = JSON.parse(await readFile(file, 'utf8'));
    const key: string = source.modelscope.apiKey;
    const { config, notes } = await importConfig(file, {}, exposedNames);

    // What the printed config says, before anything runs.
    const amap = config.mcpServers['gaode_ditu']!;
    expect(amap['headers']).toEqual({ Authorization: `Bearer ${key}` });
    expect(config.mcpServers['calculator']).toMatchObject({
      args: ['./mcp-servers/calculator.js'],
      cwd: join(FIXTURES, 'xiaozhi'),
    });
    expect(config.endpoints?.[0]?.tools?.exclude).toEqual([
      'calculator__clear_memory',
      'datetime__format_datetime',
      'gaode_ditu__echo',
      'gaode_ditu__crash',
      'gaode_ditu__hang',
    ]);

    // The "ModelScope" server: the fake behind a door that wants the key.
    const fake = await startFakeHttpServer({ transport: 'sse' });
    cleanups.push(() => fake.close());
    const gate = await modelScopeGate(fake.url, key);
    expect(process.cwd()).not.toBe(join(FIXTURES, 'xiaozhi'));
    const running = await run(config, {}, (doc) => {
      doc.mcpServers['gaode_ditu']!['url'] = gate.url;
    });

    // What xiaozhi-client serves: every tool of its servers but those with enable: false.
    const off = new Set(
      Object.entries(source.mcpServerConfig as Record<string, { tools: object }>).flatMap(
        ([server, { tools }]) =>
          Object.entries(tools)
            .filter(([, t]) => t.enable === false)
            .map(([tool]) => `${server}/${tool}`),
      ),
    );
    const tetherName: Record<string, string> = { '高德 地图': 'gaode_ditu' };
    const sourceName = (server: string) =>
      Object.keys(tetherName).find((k) => tetherName[k] === server) ?? server;
    const catalog = running.hub.tools();
    expect(new Set(catalog.map((t) => t.server))).toEqual(
      new Set(['calculator', 'datetime', 'gaode_ditu']),
    );
    const expected = catalog
      .filter((t) => !off.has(`${sourceName(t.server)}/${t.tool}`))
      .map((t) => t.name);

    const served = await settled(running, expected);
    expect(served).toEqual([...expected].sort());
    expect(served).toEqual(
      expect.arrayContaining([
        'calculator__calculator',
        'datetime__add_time',
        'datetime__get_current_date',
        'datetime__get_current_time',
        'gaode_ditu__add',
      ]),
    );
    for (const gone of ['gaode_ditu__echo', '_______echo', 'calculator__clear_memory'])
      expect(served).not.toContain(gone);
    // The key reached the server on every request, so nothing was refused.
    expect(gate.refused).toEqual([]);
    // No note repeats a secret of the file.
    const secrets = [
      key,
      new URL(source.mcpEndpoint[0]).searchParams.get('token')!,
      source.platforms.coze.token,
      source.webUI.auth.admin.password,
      source.webUI.auth.jwtSecret,
      source.tts.accessToken,
    ];
    for (const secret of secrets) expect(notes.join('\n')).not.toContain(secret);
  });

  it('xiaozhi-client: without the ModelScope key the server is refused, as it was before', async () => {
    const file = join(FIXTURES, 'xiaozhi', 'xiaozhi.config.json');
    const key: string = JSON.parse(await readFile(file, 'utf8')).modelscope.apiKey;
    const { config } = await importConfig(file, {}, exposedNames);
    const fake = await startFakeHttpServer({ transport: 'sse' });
    cleanups.push(() => fake.close());
    const gate = await modelScopeGate(fake.url, key);
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const doc = structuredClone(config);
    doc.endpoints = doc.endpoints!.map((e) => ({ ...e, url: sim.url() }));
    doc.mcpServers = {
      gaode_ditu: { ...doc.mcpServers['gaode_ditu'], url: gate.url, headers: {} },
    };
    const dir = await tempDir();
    await put(dir, 'tether.config.json', JSON.stringify(doc));
    const { config: loaded } = await loadConfig({ cwd: dir, env: {} });
    const hub = new Hub({ ...loaded, hub: { ...loaded.hub, port: 0 } }, { logger: silentLogger() });
    cleanups.push(() => hub.stop());
    await hub.start();
    await waitUntil(() => gate.refused.length > 0, { timeoutMs: 10_000, what: 'a refusal' });
    expect(hub.servers()[0]?.state).not.toBe('ready');
  });

  it('mcp_pipe: servers started from the folder of mcp_config.json; disabled ones stay off', async () => {
    const file = join(FIXTURES, 'mcp_pipe', 'mcp_config.json');
    const { config } = await importConfig(file, {
      MCP_ENDPOINT: 'wss://api.xiaozhi.me/mcp/?token=abc',
    });
    expect(config.mcpServers['local-stdio-calculator']).toMatchObject({
      args: ['calculator.js'],
      cwd: join(FIXTURES, 'mcp_pipe'),
    });
    const running = await run(config, {});
    const served = await settled(running, [
      'local-stdio-calculator__calculator',
      'local-stdio-notes__add_note',
      'local-stdio-notes__delete_note',
      'local-stdio-notes__list_notes',
    ]);
    expect(served).toEqual([
      'local-stdio-calculator__calculator',
      'local-stdio-notes__add_note',
      'local-stdio-notes__delete_note',
      'local-stdio-notes__list_notes',
    ]);
  });

  it('Claude Desktop: absolute paths and env carried as they are', async () => {
    // Claude Desktop wants absolute paths; its documentation writes them as /ABSOLUTE/PATH/TO.
    const text = (
      await readFile(join(FIXTURES, 'claude', 'claude_desktop_config.json'), 'utf8')
    ).replaceAll('/ABSOLUTE/PATH/TO/', FIXTURES);
    const dir = await tempDir();
    const file = await put(dir, 'claude_desktop_config.json', text);
    const { config } = await importConfig(file, {});
    expect(config.mcpServers['weather']?.['cwd']).toBeUndefined();
    const running = await run(config, {});
    const expected = [
      'notes__add_note',
      'notes__list_notes',
      'weather__get_alerts',
      'weather__get_forecast',
    ];
    expect(await settled(running, expected)).toEqual(expected);
  });

  it('VS Code: inputs read from the environment, servers started in the workspace folder', async () => {
    const file = join(FIXTURES, 'vscode', '.vscode', 'mcp.json');
    const { config } = await importConfig(file, {});
    expect(config.mcpServers['weather']?.['env']).toEqual({ WEATHER_API_KEY: '${WEATHER_KEY}' });
    expect(config.mcpServers['notes']?.['cwd']).toBe(join(FIXTURES, 'vscode'));
    // The weather server exits without WEATHER_API_KEY: ready means the input got through.
    const running = await run(config, { WEATHER_KEY: 'wk_test' });
    const expected = [
      'notes__add_note',
      'notes__list_notes',
      'weather__get_alerts',
      'weather__get_forecast',
    ];
    expect(await settled(running, expected)).toEqual(expected);
  });
});
