import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/index.js';
import { put, rejection, tempDir } from './helpers.js';

const DEFAULT_HUB = {
  host: '127.0.0.1',
  port: 8765,
  allowedHosts: [],
  trustProxy: false,
  limits: {
    bodyBytes: 1_048_576,
    loginBodyBytes: 4_096,
    jsonDepth: 64,
    frameBytes: 4_194_304,
    argumentsBytes: 1_048_576,
    resultBytes: 8_388_608,
    callsPerEndpoint: 32,
    sseClients: 32,
  },
  cluster: { leaseTtlMs: 10_000, keyPrefix: 'tether:' },
  callTimeoutMs: 300_000,
  resultBudgetBytes: 16_384,
  toolChangeDebounceMs: 2_000,
  earlyReplyMs: 8_000,
  monitor: {
    checkIntervalMs: 5_000,
    heartbeatIntervalMs: 5_000,
    heartbeatMisses: 2,
    reconnectCooldownMs: 30_000,
    maxAttempts: 10,
    probeIntervalMs: 300_000,
  },
  notifyDownAfterMs: 30_000,
};

async function load(text: string, env: NodeJS.ProcessEnv = {}): Promise<TetherConfig> {
  const dir = await tempDir();
  await put(dir, 'tether.config.json', text);
  return (await loadConfig({ cwd: dir, env })).config;
}

describe('loading tether.config.json', () => {
  it('a full file with comments and trailing commas loads as written, defaults filled in', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'tether.config.json',
      `{
        "$schema": "./tether.schema.json",
        // The living room speaker.
        "endpoints": [
          { "name": "living-room", "url": "wss://api.xiaozhi.me/mcp/?token=abc",
            "tools": { "include": ["*"], "exclude": ["files__delete*"] }, },
          { "name": "kitchen", "url": "ws://127.0.0.1:9000/mcp", "enabled": false,
            "servers": ["calc"] },
        ],
        /* servers */
        "mcpServers": {
          "calc": { "command": "node", "args": ["calc.js"], "env": { "DEBUG": "1" },
                    "timeoutMs": 5000, "descriptions": { "add": "Adds two numbers" } },
          "weather": { "type": "http", "url": "https://example.test/mcp",
                       "headers": { "Authorization": "Bearer t" }, "disabled": true },
        },
        "hub": { "port": 9000, "earlyReplyMs": 4000, },
      }`,
    );
    const loaded = await loadConfig({ cwd: dir, env: {} });
    expect(loaded.configured).toBe(true);
    expect(loaded.config).toEqual({
      file,
      endpoints: [
        {
          name: 'living-room',
          url: 'wss://api.xiaozhi.me/mcp/?token=abc',
          enabled: true,
          tools: { include: ['*'], exclude: ['files__delete*'] },
          source: 'file',
        },
        {
          name: 'kitchen',
          url: 'ws://127.0.0.1:9000/mcp',
          enabled: false,
          tools: { include: ['*'], exclude: [] },
          servers: ['calc'],
          source: 'file',
        },
      ],
      servers: [
        {
          name: 'calc',
          type: 'stdio',
          enabled: true,
          command: 'node',
          args: ['calc.js'],
          env: { DEBUG: '1' },
          timeoutMs: 5000,
          descriptions: { add: 'Adds two numbers' },
        },
        {
          name: 'weather',
          type: 'http',
          enabled: false,
          url: 'https://example.test/mcp',
          headers: { Authorization: 'Bearer t' },
        },
      ],
      hub: { ...DEFAULT_HUB, port: 9000, earlyReplyMs: 4000 },
      notifications: [],
    } satisfies TetherConfig);
  });

  it('${VAR} and ${VAR:-default} are filled from the environment, in any string', async () => {
    const config = await load(
      `{
        "endpoints": [{ "name": "e", "url": "wss://h/mcp/?token=\${XIAOZHI_TOKEN}" }],
        "mcpServers": {
          "w": { "url": "\${WEATHER_URL:-https://weather.test/mcp}",
                 "headers": { "Authorization": "Bearer \${WEATHER_TOKEN}" } },
          "s": { "command": "sh", "args": ["-c", "echo $\${HOME}", "\${EMPTY:-fallback}"] }
        },
        "hub": { "host": "\${HOST:-0.0.0.0}" }
      }`,
      { XIAOZHI_TOKEN: 'tok', WEATHER_TOKEN: 'wt', EMPTY: '' },
    );
    expect(config.endpoints[0]?.url).toBe('wss://h/mcp/?token=tok');
    expect(config.servers[0]).toMatchObject({
      url: 'https://weather.test/mcp',
      headers: { Authorization: 'Bearer wt' },
    });
    // `$${…}` keeps a literal `${…}`; an empty variable takes the default, as in the shell.
    expect(config.servers[1]).toMatchObject({ args: ['-c', 'echo ${HOME}', 'fallback'] });
    expect(config.hub.host).toBe('0.0.0.0');
  });

  it('an unset variable without a default is refused at its JSON path', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'tether.config.json',
      `{ "endpoints": [{ "name": "e", "url": "wss://h/?token=\${XIAOZHI_TOKEN}" }],
         "mcpServers": { "w": { "url": "https://w.test", "headers": { "X-Key": "\${WEATHER_KEY}" } } } }`,
    );
    const error = await rejection(loadConfig({ cwd: dir, env: {} }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      [
        `${file}: endpoints[0].url: environment variable XIAOZHI_TOKEN is not set`,
        `${file}: mcpServers.w.headers.X-Key: environment variable WEATHER_KEY is not set`,
      ].join('\n'),
    );
    expect((error as ConfigError).issues[0]).toEqual({
      file,
      path: 'endpoints[0].url',
      message: 'environment variable XIAOZHI_TOKEN is not set',
    });
  });

  it('transport aliases are accepted and a missing type is inferred from command or url', async () => {
    const config = await load(`{
      "mcpServers": {
        "a": { "type": "http", "url": "https://a.test/mcp" },
        "b": { "type": "streamable-http", "url": "https://b.test/mcp" },
        "c": { "type": "streamableHttp", "url": "https://c.test/mcp" },
        "d": { "type": "streamable_http", "url": "https://d.test/mcp" },
        "e": { "type": "sse", "url": "https://e.test/events" },
        "f": { "type": "stdio", "command": "f" },
        "g": { "command": "g" },
        "h": { "url": "https://h.test/mcp" },
        "i": { "url": "https://i.test/sse" },
        "j": { "url": "https://j.test/sse/?key=1" }
      }
    }`);
    expect(Object.fromEntries(config.servers.map((s) => [s.name, s.type]))).toEqual({
      a: 'http',
      b: 'http',
      c: 'http',
      d: 'http',
      e: 'sse',
      f: 'stdio',
      g: 'stdio',
      h: 'http',
      i: 'sse',
      j: 'sse',
    });
    expect(config.servers.find((s) => s.name === 'g')).toEqual({
      name: 'g',
      type: 'stdio',
      enabled: true,
      command: 'g',
      args: [],
      env: {},
    });
  });

  it('servers under "servers" (VS Code form) load alongside "mcpServers"', async () => {
    const config = await load(`{
      "mcpServers": { "calc": { "command": "node", "args": ["calc.js"] } },
      "servers": { "notes": { "type": "stdio", "command": "notes" } }
    }`);
    expect(config.servers.map((s) => s.name)).toEqual(['calc', 'notes']);
  });

  it('"enabled": false and "disabled": true both switch a server off', async () => {
    const config = await load(`{
      "mcpServers": { "a": { "command": "a", "enabled": false }, "b": { "command": "b", "disabled": true },
                      "c": { "command": "c", "disabled": false } }
    }`);
    expect(config.servers.map((s) => s.enabled)).toEqual([false, false, true]);
  });

  it('a relative cwd is taken from the config file folder, not from where the hub started', async () => {
    const dir = await tempDir();
    await put(
      dir,
      'tether.config.json',
      `{ "mcpServers": { "a": { "command": "a", "cwd": "tools" } } }`,
    );
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.servers[0]).toMatchObject({ cwd: join(dir, 'tools') });
  });
});

describe('MCP_ENDPOINT', () => {
  it('adds one endpoint per URL, skipping blanks and URLs the file already has', async () => {
    const dir = await tempDir();
    await put(
      dir,
      'tether.config.json',
      `{ "endpoints": [{ "name": "endpoint-1", "url": "wss://a.test/mcp/?token=1" }] }`,
    );
    const { config, configured } = await loadConfig({
      cwd: dir,
      env: {
        MCP_ENDPOINT: ' wss://b.test/mcp/?token=2 ; ;wss://a.test/mcp/?token=1;ws://c.test/mcp;',
      },
    });
    expect(configured).toBe(true);
    expect(config.endpoints.map((e) => [e.name, e.url, e.source])).toEqual([
      ['endpoint-1', 'wss://a.test/mcp/?token=1', 'file'],
      ['endpoint-2', 'wss://b.test/mcp/?token=2', 'env'],
      ['endpoint-3', 'ws://c.test/mcp', 'env'],
    ]);
    expect(config.endpoints[1]).toEqual({
      name: 'endpoint-2',
      url: 'wss://b.test/mcp/?token=2',
      enabled: true,
      tools: { include: ['*'], exclude: [] },
      source: 'env',
    });
  });

  it('without a config file, MCP_ENDPOINT alone configures the hub', async () => {
    const dir = await tempDir();
    const loaded = await loadConfig({
      cwd: dir,
      env: { MCP_ENDPOINT: 'wss://a.test/mcp;wss://b.test/mcp' },
    });
    expect(loaded.configured).toBe(true);
    expect(loaded.config.file).toBeUndefined();
    expect(loaded.config.endpoints.map((e) => e.name)).toEqual(['endpoint-1', 'endpoint-2']);
  });
});

describe('monitor settings and notification channels', () => {
  it('reads hub.monitor, per-endpoint monitor overrides and webhook channels', async () => {
    const config = await load(`{
      "endpoints": [{ "name": "e", "url": "ws://x/mcp/?token=t", "monitor": { "heartbeatIntervalMs": 2000 } }],
      "hub": { "monitor": { "maxAttempts": 5 }, "notifyDownAfterMs": 10000 },
      "notifications": [{ "kind": "feishu", "url": "https://open.feishu.cn/hook/x", "events": ["endpoint.down"] }]
    }`);
    expect(config.hub.monitor).toMatchObject({ maxAttempts: 5, heartbeatIntervalMs: 5_000 });
    expect(config.hub.notifyDownAfterMs).toBe(10_000);
    expect(config.endpoints[0]!.monitor).toEqual({ heartbeatIntervalMs: 2_000 });
    expect(config.notifications).toEqual([
      {
        name: 'feishu-1',
        kind: 'feishu',
        url: 'https://open.feishu.cn/hook/x',
        events: ['endpoint.down'],
        allowPrivate: false,
      },
    ]);
  });

  it('reads the door limits, the allowed hosts and a LAN webhook that may be private', async () => {
    const config = await load(`{
      "hub": { "allowedHosts": ["Tether.Home.Arpa"], "trustProxy": true, "limits": { "frameBytes": 65536 },
               "cluster": { "leaseTtlMs": 6000, "keyPrefix": "team-a:" } },
      "notifications": [{ "kind": "generic", "url": "http://192.168.1.5/hook", "allowPrivate": true }]
    }`);
    expect(config.hub.allowedHosts).toEqual(['tether.home.arpa']);
    expect(config.hub.trustProxy).toBe(true);
    expect(config.hub.cluster).toEqual({ leaseTtlMs: 6_000, keyPrefix: 'team-a:' });
    expect(config.hub.limits).toMatchObject({ frameBytes: 65_536, bodyBytes: 1_048_576 });
    expect(config.notifications[0]!.allowPrivate).toBe(true);
  });

  it('refuses "*" as an allowed host and a limit below 1, at their paths', async () => {
    const error = await rejection(
      load(`{ "hub": { "allowedHosts": ["*"], "limits": { "sseClients": 0, "bodyByts": 5 } } }`),
    );
    const messages = (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^hub\.allowedHosts: "\*" would let any web page/),
      expect.stringMatching(/^hub\.limits\.bodyByts: unknown key \(did you mean "bodyBytes"\?\)/),
      expect.stringMatching(/^hub\.limits\.sseClients: must be a whole number >= 1/),
    ]);
  });

  it('reads trustProxy as the list of proxies to believe, and refuses what is not an address', async () => {
    const config = await load(
      `{ "hub": { "trustProxy": ["10.0.0.5", "172.16.0.0/12", "fd00::/8"] } }`,
    );
    expect(config.hub.trustProxy).toEqual(['10.0.0.5', '172.16.0.0/12', 'fd00::/8']);
    const error = await rejection(
      load(`{ "hub": { "trustProxy": ["proxy.lan", "10.0.0.0/33"] } }`),
    );
    expect((error as ConfigError).issues.map((i) => i.message)).toEqual([
      '"proxy.lan" is not an IP address or CIDR range',
      '"10.0.0.0/33" is not an IP address or CIDR range',
    ]);
  });

  it('refuses an unknown channel kind, a non-http URL and an unknown event, at their paths', async () => {
    const error = await rejection(
      load(
        `{ "notifications": [{ "kind": "pager", "url": "ftp://x", "events": ["endpoint.exploded"] }] }`,
      ),
    );
    const messages = (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^notifications\[0\]\.kind: must be one of generic/),
      'notifications[0].url: must be an http:// or https:// URL',
      expect.stringMatching(/^notifications\[0\]\.events: unknown event "endpoint.exploded"/),
    ]);
  });
});

describe('no config file', () => {
  it('gives an empty, unconfigured config so the CLI can run its demo', async () => {
    const dir = await tempDir();
    expect(await loadConfig({ cwd: dir, env: {} })).toEqual({
      configured: false,
      config: { endpoints: [], servers: [], hub: DEFAULT_HUB, notifications: [] },
    });
  });

  it('a file named explicitly must exist', async () => {
    const dir = await tempDir();
    const error = await rejection(loadConfig({ cwd: dir, file: 'mine.json', env: {} }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`${join(dir, 'mine.json')}: (root): file not found`);
  });
});
