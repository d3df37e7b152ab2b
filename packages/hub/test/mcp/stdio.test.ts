import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { CONTENT_RESULTS, contentStdioServerParams, waitUntil } from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importConfig } from '../../src/config/index.js';
import { TOKEN, allPages, asSent, startHub, within } from './harness.js';
import type { TestHub } from './harness.js';

/** `tether mcp …` as a client spawns it: the built CLI, the launcher users run. */
const LAUNCHER = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));

/** The environment without Tether's own variables, so a test says what the child gets. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('TETHER_')) env[key] = value;
  return { ...env, ...extra };
}

interface Spawned {
  client: Client;
  stderr: () => string;
  close(): Promise<void>;
}

/** The official SDK client, starting `tether mcp ARGS` over stdio. */
async function spawnMcp(args: string[], env: Record<string, string> = {}): Promise<Spawned> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [LAUNCHER, 'mcp', ...args],
    env: cleanEnv(env),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'stdio-test-client', version: '2.0.0' });
  await client.connect(transport, { timeout: 15_000 });
  return { client, stderr: () => stderr, close: () => client.close() };
}

let t: TestHub;
let dir: string;
/** A configuration with the same servers as the test hub, and an endpoint never dialled. */
let file: string;

beforeAll(async () => {
  t = await startHub();
  dir = mkdtempSync(join(tmpdir(), 'tether-mcp-'));
  const content = contentStdioServerParams();
  file = join(dir, 'tether.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      endpoints: [
        { name: 'kitchen', url: 'wss://never.invalid/mcp/?token=unused', servers: ['content'] },
      ],
      mcpServers: {
        fake: { type: 'http', url: t.fake.url },
        content: { command: content.command, args: content.args },
      },
      hub: { callTimeoutMs: 10_000 },
    }),
  );
});

afterAll(async () => {
  await t?.stop();
});

/**
 * What a client notices of `tether mcp`, whichever way it runs: in front of a hub, or with the
 * servers of a file. `start` spawns it; `catalog` is what it should list.
 */
function behavesAsAnMcpServer(start: () => Promise<Spawned>, expectedTools: () => number) {
  let s: Spawned;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers initialize and ping, as Tether', async () => {
    expect(s.client.getServerVersion()).toMatchObject({ name: 'tether' });
    expect(s.client.getServerCapabilities()).toMatchObject({ tools: { listChanged: true } });
    await expect(s.client.ping()).resolves.toEqual({});
  });

  it('lists every tool in pages of 100', async () => {
    const pages = await allPages(s.client);
    expect(pages.map((p) => p.tools.length)).toEqual([100, expectedTools() - 100]);
  });

  it.each(Object.keys(CONTENT_RESULTS))(
    "passes the %s tool's result through untouched",
    async (kind) => {
      const result = await s.client.request(
        { method: 'tools/call', params: { name: `content__${kind}`, arguments: {} } },
        asSent,
      );
      expect(result).toEqual(CONTENT_RESULTS[kind]);
    },
  );

  it("passes a slow tool's progress through as it works", async () => {
    const progress: number[] = [];
    const result = await s.client.callTool(
      { name: 'fake__slow', arguments: { ms: 300, text: 'ok' } },
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect(result).toEqual({ content: [{ type: 'text', text: 'ok' }] });
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });

  it('passes a cancellation through to the upstream', async () => {
    const started = t.fake.calls.get('slow') ?? 0;
    const cancelled = t.fake.cancelled.get('slow') ?? 0;
    const controller = new AbortController();
    const call = s.client.callTool(
      { name: 'fake__slow', arguments: { ms: 30_000 } },
      { signal: controller.signal },
    );
    await waitUntil(() => (t.fake.calls.get('slow') ?? 0) > started, {
      what: 'the call to reach the upstream',
      timeoutMs: 10_000,
    });
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow();
    await waitUntil(() => (t.fake.cancelled.get('slow') ?? 0) > cancelled, {
      what: 'the upstream to see notifications/cancelled',
      timeoutMs: 10_000,
    });
  });

  it('announces a tool the upstream added (list_changed), then lists it', async () => {
    const announced = new Promise<void>((resolve) =>
      s.client.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
    );
    t.fake.changeTools({ add: ['late'] });
    try {
      await within(announced, 10_000, 'notifications/tools/list_changed');
      const names = (await allPages(s.client)).flatMap((p) => p.tools.map((tool) => tool.name));
      expect(names).toContain('fake__late');
    } finally {
      t.fake.changeTools({ remove: ['late'] });
    }
    await waitUntil(
      async () =>
        !(await allPages(s.client)).some((p) => p.tools.some((tool) => tool.name === 'fake__late')),
      { what: 'fake__late to go again', timeoutMs: 10_000 },
    );
  });
}

describe('tether mcp, in front of a running hub', () => {
  behavesAsAnMcpServer(
    () => spawnMcp(['--url', t.url]),
    () => t.hub.servedTools()!.listed.length,
  );

  it('with --endpoint, serves only what that endpoint sees', async () => {
    const s = await spawnMcp(['--endpoint', 'kitchen'], { TETHER_URL: t.url });
    try {
      const names = (await allPages(s.client)).flatMap((p) => p.tools.map((tool) => tool.name));
      expect(names).toEqual(t.hub.servedTools('kitchen')!.listed.map((e) => e.name));
      await expect(
        s.client.callTool({ name: 'fake__echo', arguments: { text: 'x' } }),
      ).rejects.toMatchObject({
        code: -32602,
      });
    } finally {
      await s.close();
    }
  });

  it('sends the admin token a hub requires, and says plainly when it has none', async () => {
    const guarded = await t.serve({ token: TOKEN });
    const withToken = await spawnMcp(['--url', guarded.url], { TETHER_ADMIN_TOKEN: TOKEN });
    await expect(withToken.client.ping()).resolves.toEqual({});
    await withToken.close();
    const bare = spawnMcp(['--url', guarded.url]);
    await expect(bare).rejects.toThrow(/admin token/);
  });

  it('ends its hub session when the client closes it', async () => {
    const before = t.mcp.size;
    const s = await spawnMcp(['--url', t.url]);
    expect(t.mcp.size).toBe(before + 1);
    await s.close();
    await waitUntil(() => t.mcp.size === before, { what: 'the session to be deleted' });
  });

  it('opens a new session when the hub forgot its own (a restart), and tells the client the tools may have changed', async () => {
    const fresh = await t.serve();
    const s = await spawnMcp(['--url', fresh.url]);
    try {
      const announced = new Promise<void>((resolve) =>
        s.client.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
      );
      // What a restarted hub looks like from outside: every session id is unknown.
      await fresh.mcp.close();
      expect(await s.client.callTool({ name: 'fake__add', arguments: { a: 1, b: 2 } })).toEqual({
        content: [{ type: 'text', text: '3' }],
      });
      await within(announced, 10_000, 'list_changed after the new session');
    } finally {
      await s.close();
    }
  });
});

describe('tether mcp --config FILE, with no hub', () => {
  behavesAsAnMcpServer(
    () => spawnMcp(['--config', file]),
    () => t.hub.servedTools()!.listed.length,
  );

  it('with --endpoint, serves what the file gives that endpoint, without dialling it', async () => {
    const s = await spawnMcp(['--config', file, '--endpoint', 'kitchen']);
    try {
      const names = (await allPages(s.client)).flatMap((p) => p.tools.map((tool) => tool.name));
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((name) => name.startsWith('content__'))).toBe(true);
      await expect(
        s.client.callTool({ name: 'fake__echo', arguments: { text: 'x' } }),
      ).rejects.toMatchObject({
        code: -32602,
      });
      expect(s.stderr()).not.toContain('never.invalid');
    } finally {
      await s.close();
    }
  });
});

describe('tether mcp on stdout', () => {
  it.each([
    ['in front of a hub', () => ['--url', t.url]],
    ['with --config', () => ['--config', file]],
  ])('writes nothing but JSON-RPC to stdout, %s; its logs go to stderr', async (_, args) => {
    const child = spawn(process.execPath, [LAUNCHER, 'mcp', ...args()], {
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const line = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
    line({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'by-hand', version: '0' },
      },
    });
    await waitUntil(() => stdout.includes('"id":1'), {
      what: 'the initialize answer',
      timeoutMs: 15_000,
    });
    line({ jsonrpc: '2.0', method: 'notifications/initialized' });
    line({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'fake__add', arguments: { a: 1, b: 1 } },
    });
    await waitUntil(() => stdout.includes('"id":2'), { what: 'the call answer' });
    child.stdin.end();
    expect(await within(exited, 10_000, 'tether mcp to exit when stdin ends')).toBe(0);
    const lines = stdout.split('\n').filter((l) => l !== '');
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ jsonrpc: '2.0' });
    expect(lines.map((l) => (JSON.parse(l) as { id?: number }).id).filter(Boolean)).toEqual([1, 2]);
    expect(stderr).toContain('on stdio');
  });
});

describe('tether mcp --print-config', () => {
  const print = async (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [LAUNCHER, 'mcp', '--print-config', ...args], {
      env: cleanEnv(env),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await within(
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      10_000,
      'tether mcp --print-config',
    );
    expect(code).toBe(0);
    return { snippet: JSON.parse(stdout) as Record<string, unknown>, stderr };
  };

  it.each([
    ['claude', 'claude_desktop_config.json'],
    ['cursor', 'mcp.json'],
    ['vscode', join('.vscode', 'mcp.json')],
  ])('prints a %s snippet that tether import reads back as the same server', async (kind, name) => {
    const { snippet } = await print([kind, '--url', t.url, '--endpoint', 'kitchen']);
    const path = join(dir, kind, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify(snippet));
    const imported = await importConfig(path, {});
    const entry = (kind === 'vscode' ? snippet.servers : snippet.mcpServers) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(entry)).toEqual(['tether-kitchen']);
    // VS Code starts a server in the workspace folder, and the import says so as its cwd.
    expect(imported.config.mcpServers['tether-kitchen']).toEqual({
      ...entry['tether-kitchen'],
      ...(kind === 'vscode' ? { cwd: join(dir, kind) } : {}),
    });
    expect(entry['tether-kitchen']).toMatchObject({
      command: process.execPath,
      args: [LAUNCHER, 'mcp', '--url', t.url, '--endpoint', 'kitchen'],
    });
  });

  it('never prints the token: VS Code asks for it, the others get a placeholder', async () => {
    const env = { TETHER_ADMIN_TOKEN: TOKEN };
    const claude = await print(['claude'], env);
    expect(JSON.stringify(claude.snippet)).not.toContain(TOKEN);
    expect(claude.snippet).toMatchObject({
      mcpServers: { tether: { env: { TETHER_ADMIN_TOKEN: '<the admin token>' } } },
    });
    const vscode = await print(['vscode'], env);
    expect(JSON.stringify(vscode)).not.toContain(TOKEN);
    expect(vscode.snippet).toMatchObject({
      inputs: [{ id: 'tether-admin-token', password: true }],
      servers: { tether: { env: { TETHER_ADMIN_TOKEN: '${input:tether-admin-token}' } } },
    });
    const path = join(dir, 'token', '.vscode', 'mcp.json');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify(vscode.snippet));
    const imported = await importConfig(path, {});
    expect(imported.config.mcpServers.tether).toMatchObject({
      env: { TETHER_ADMIN_TOKEN: '${TETHER_ADMIN_TOKEN}' },
    });
  });

  it('prints a command that starts a working server', async () => {
    const { snippet } = await print(['claude', '--url', t.url]);
    const server = (snippet.mcpServers as Record<string, { command: string; args: string[] }>)
      .tether!;
    const transport = new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: cleanEnv(),
    });
    const client = new Client({ name: 'pasted', version: '1' });
    await client.connect(transport, { timeout: 15_000 });
    expect(await client.callTool({ name: 'content__image' })).toEqual(CONTENT_RESULTS.image);
    await client.close();
  });
});
