import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/catalog/catalog.js';
import { exposedNames } from '../../src/catalog/names.js';
import { ConfigError, importConfig, loadConfig, toolAllowed } from '../../src/config/index.js';
import { put, rejection, tempDir } from './helpers.js';

describe('tether import', () => {
  it('reads xiaozhi-client: endpoints, servers, and disabled tools as exclude globs', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({
        mcpEndpoint: ['wss://api.xiaozhi.me/mcp/?token=abc.def', '', '<fill in your endpoint>'],
        mcpServers: {
          calculator: { command: 'node', args: ['./mcpServers/calculator.js'] },
          amap: { type: 'sse', url: 'https://mcp.amap.com/sse?key=k123' },
          search: { type: 'streamable-http', url: 'https://s.test/mcp' },
        },
        mcpServerConfig: {
          calculator: {
            tools: { calculator: { description: 'calc', enable: true }, clear: { enable: false } },
          },
          amap: { tools: { maps_weather: { enable: false, usageCount: 3 } } },
        },
        connection: { heartbeatInterval: 30000 },
        webUI: { port: 9999 },
      }),
    );
    const result = await importConfig(file, {}, exposedNames);
    expect(result.format).toBe('xiaozhi-client');
    expect(result.config).toEqual({
      endpoints: [
        {
          name: 'endpoint-1',
          url: 'wss://api.xiaozhi.me/mcp/?token=abc.def',
          tools: { exclude: ['calculator__clear', 'amap__maps_weather'] },
        },
      ],
      mcpServers: {
        calculator: { command: 'node', args: ['./mcpServers/calculator.js'], cwd: dir },
        amap: { type: 'sse', url: 'https://mcp.amap.com/sse?key=k123' },
        search: { type: 'http', url: 'https://s.test/mcp' },
      },
    });
    expect(result.notes).toEqual([
      'mcpEndpoint entry 3 is not a ws:// or wss:// URL; skipped.',
      '2 tool(s) disabled in mcpServerConfig became "tools.exclude" on each endpoint.',
      `Not carried: connection: Tether's own heartbeat (a dead link is noticed within 10 s) and jittered reconnects replace heartbeatInterval, heartbeatTimeout and reconnectInterval; hub.monitor tunes them.`,
      'Not carried: webUI (port 9999): the dashboard and API listen on hub.port (default 8765, where `tether status` and the other commands look; set hub.port to keep the old port); webUI.auth is not carried: Tether asks for an admin token when it listens beyond loopback.',
      `endpoints[0].url carries a token; consider "wss://api.xiaozhi.me/mcp/?token=\${XIAOZHI_TOKEN}" and set XIAOZHI_TOKEN in the hub's environment.`,
      `mcpServers.amap.url carries a secret; consider "https://mcp.amap.com/sse?key=\${AMAP_KEY}" and set AMAP_KEY in the hub's environment.`,
    ]);
  });

  it('reads mcp_pipe: mcpServers with its types, and endpoints from MCP_ENDPOINT', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'mcp_config.json',
      JSON.stringify({
        mcpServers: {
          calculator: { type: 'stdio', command: 'python', args: ['-m', 'calculator'] },
          remote: {
            transportType: 'streamablehttp',
            url: 'https://r.test/mcp',
            headers: { Authorization: 'Bearer s3cret' },
          },
          legacy: { type: 'sse', url: 'https://l.test/sse', disabled: true },
        },
      }),
    );
    const result = await importConfig(file, {
      MCP_ENDPOINT: 'wss://api.xiaozhi.me/mcp/?token=t1;wss://b.test/mcp',
    });
    expect(result.format).toBe('mcp_pipe');
    expect(result.config).toEqual({
      endpoints: [
        { name: 'endpoint-1', url: 'wss://api.xiaozhi.me/mcp/?token=t1' },
        { name: 'endpoint-2', url: 'wss://b.test/mcp' },
      ],
      mcpServers: {
        calculator: { type: 'stdio', command: 'python', args: ['-m', 'calculator'], cwd: dir },
        remote: {
          type: 'http',
          url: 'https://r.test/mcp',
          headers: { Authorization: 'Bearer s3cret' },
        },
        legacy: { type: 'sse', url: 'https://l.test/sse', disabled: true },
      },
    });
    expect(result.notes).toEqual([
      `endpoints[0].url carries a token; consider "wss://api.xiaozhi.me/mcp/?token=\${XIAOZHI_TOKEN}" and set XIAOZHI_TOKEN in the hub's environment.`,
      `mcpServers.remote.headers.Authorization holds a secret in plain text; consider "Bearer \${REMOTE_TOKEN}" and set REMOTE_TOKEN in the hub's environment.`,
    ]);
  });

  it('mcp_pipe without MCP_ENDPOINT says where the endpoint will come from', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'mcp_config.json',
      JSON.stringify({ mcpServers: { a: { command: 'a' } } }),
    );
    const result = await importConfig(file, {});
    expect(result.config).toEqual({ mcpServers: { a: { command: 'a', cwd: dir } } });
    expect(result.notes).toEqual([
      'MCP_ENDPOINT is not set: add an endpoint to "endpoints", or keep setting MCP_ENDPOINT for Tether.',
    ]);
  });

  it('reads Claude Desktop and flags plain-text secrets in env', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'claude_desktop_config.json',
      JSON.stringify({
        mcpServers: {
          github: {
            command: 'npx',
            args: ['-y', '@modelcontextprotocol/server-github'],
            env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_x', LOG_LEVEL: 'info' },
          },
          files: {
            command: 'npx',
            args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me'],
            autoApprove: ['read'],
          },
        },
        globalShortcut: 'Ctrl+Space',
      }),
    );
    const result = await importConfig(file, {});
    expect(result.format).toBe('claude');
    expect(result.config).toEqual({
      mcpServers: {
        github: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-github'],
          env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_x', LOG_LEVEL: 'info' },
        },
        files: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me'],
        },
      },
    });
    expect(result.notes).toEqual([
      'mcpServers.files: left out autoApprove (no Tether equivalent).',
      'Not carried over (no Tether equivalent): globalShortcut.',
      `mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN holds a secret in plain text; consider "\${GITHUB_PERSONAL_ACCESS_TOKEN}" and set GITHUB_PERSONAL_ACCESS_TOKEN in the hub's environment.`,
    ]);
  });

  it('reads VS Code .vscode/mcp.json: inputs become ${VAR}s and workspace paths are resolved', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      '.vscode/mcp.json',
      `{
        // Comments are fine: VS Code writes JSONC.
        "inputs": [{ "type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key", "password": true }],
        "servers": {
          "perplexity": { "type": "stdio", "command": "npx", "args": ["-y", "server-perplexity-ask"],
                          "env": { "PERPLEXITY_API_KEY": "\${input:perplexity-key}", "HOME_DIR": "\${env:HOME}" },
                          "envFile": "\${workspaceFolder}/.env" },
          "local": { "type": "stdio", "command": "node", "args": ["\${workspaceFolder}/server.js", "\${userHome}"] },
          "github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/" },
        },
      }`,
    );
    const result = await importConfig(file, {});
    expect(result.format).toBe('vscode');
    expect(result.config).toEqual({
      mcpServers: {
        perplexity: {
          type: 'stdio',
          command: 'npx',
          args: ['-y', 'server-perplexity-ask'],
          env: { PERPLEXITY_API_KEY: '${PERPLEXITY_KEY}', HOME_DIR: '${HOME}' },
          cwd: dir,
        },
        local: {
          type: 'stdio',
          command: 'node',
          args: [`${dir}/server.js`, homedir()],
          cwd: dir,
        },
        github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/' },
      },
    });
    expect(result.notes).toEqual([
      `VS Code input "perplexity-key" (Perplexity API Key) is prompted by VS Code; Tether reads \${PERPLEXITY_KEY} instead: set PERPLEXITY_KEY in the hub's environment.`,
      `servers.perplexity.envFile is not read by Tether; put those variables in "env" or in the hub's environment.`,
    ]);
  });

  it('reads VS Code settings.json with an "mcp" section', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'settings.json',
      `{ "editor.fontSize": 14, "mcp": { "servers": { "time": { "command": "uvx", "args": ["mcp-server-time"] } } } }`,
    );
    const result = await importConfig(file, {});
    expect(result.format).toBe('vscode');
    expect(result.config).toEqual({
      mcpServers: { time: { command: 'uvx', args: ['mcp-server-time'] } },
    });
    expect(result.notes).toEqual([]);
  });

  it('what it prints loads in Tether as-is', async () => {
    const dir = await tempDir();
    const source = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({
        mcpEndpoint: 'wss://api.xiaozhi.me/mcp/?token=abc',
        mcpServers: {
          calc: { command: 'node', args: ['calc.js'] },
          web: { url: 'https://w.test/sse' },
        },
        mcpServerConfig: { calc: { tools: { div: { enable: false } } } },
      }),
    );
    const { config } = await importConfig(source, {}, exposedNames);
    await put(dir, 'tether.config.json', JSON.stringify(config, null, 2));
    const loaded = await loadConfig({ cwd: dir, env: {} });
    expect(loaded.config.endpoints[0]?.tools).toEqual({ include: ['*'], exclude: ['calc__div'] });
    expect(loaded.config.servers.map((s) => [s.name, s.type])).toEqual([
      ['calc', 'stdio'],
      ['web', 'sse'],
    ]);
  });

  it('problems the hub would refuse are listed up front', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'claude_desktop_config.json',
      JSON.stringify({ mcpServers: { odd: { type: 'websocket', url: 'wss://o.test' } } }),
    );
    const result = await importConfig(file, {});
    expect(result.notes).toEqual([
      'Fix before starting: mcpServers.odd.type: unknown type "websocket"; use stdio, http (streamable-http) or sse',
    ]);
  });

  it('an unknown file is refused with a ConfigError', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'package.json', JSON.stringify({ name: 'x', version: '1.0.0' }));
    const error = await rejection(importConfig(file, {}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `${file}: (root): not a known format: expected xiaozhi-client (mcpEndpoint), mcp_pipe or Claude (mcpServers), or VS Code (servers)`,
    );
  });

  it('a missing or broken file is refused with a ConfigError', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope.json');
    expect((await rejection(importConfig(missing, {}))).message).toBe(
      `${missing}: (root): file not found`,
    );
    const broken = await put(dir, 'mcp_config.json', '{ "mcpServers": { "a": { "command": "a" }');
    expect((await rejection(importConfig(broken, {}))).message).toBe(
      `${broken}: 1:42: syntax error: close brace expected`,
    );
  });

  it('gives non-ASCII server names readable ASCII names, with a stable suffix when two meet', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({
        mcpEndpoint: 'wss://api.xiaozhi.me/mcp/?token=t',
        mcpServers: {
          '高德 地图': { command: 'node', args: ['amap.js'] },
          '高德·地图': { command: 'node', args: ['amap2.js'] },
          重庆天气: { command: 'node', args: ['cq.js'] },
          'Café 地图': { command: 'node', args: ['cafe.js'] },
          Погода: { command: 'node', args: ['pogoda.js'] },
          'my server': { command: 'node', args: ['mine.js'] },
        },
      }),
    );
    const result = await importConfig(file, {});
    expect(Object.keys(result.config.mcpServers)).toEqual([
      'gaode_ditu_8f5a1d',
      'gaode_ditu_4fadbd',
      'chongqingtianqi',
      'Cafe_ditu',
      'server_4f7637',
      'my_server',
    ]);
    expect(result.notes).toContain(
      'Server "高德 地图" is named "gaode_ditu_8f5a1d" in Tether (names are letters, digits, "_" and "-"); its tools are served as gaode_ditu_8f5a1d__<tool>.',
    );
    // The same file always gives the same names, whatever the order of its servers.
    const reversed = await put(
      dir,
      'b/xiaozhi.config.json',
      JSON.stringify({
        mcpServers: { '高德·地图': { command: 'b' }, '高德 地图': { command: 'a' } },
      }),
    );
    expect(Object.keys((await importConfig(reversed, {})).config.mcpServers)).toEqual([
      'gaode_ditu_4fadbd',
      'gaode_ditu_8f5a1d',
    ]);
  });

  it('a disabled tool is excluded under the very name the hub serves it by', async () => {
    const dir = await tempDir();
    const tools = {
      '高德 地图': ['echo', 'maps_weather'],
      // Both sanitise to weather__get_forecast, so the catalog gives each a hash suffix.
      weather: ['get.forecast', 'get_forecast', 'alerts'],
    };
    const file = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({
        mcpEndpoint: 'wss://api.xiaozhi.me/mcp/?token=t',
        mcpServers: { '高德 地图': { command: 'a' }, weather: { command: 'w' } },
        mcpServerConfig: {
          '高德 地图': { tools: { echo: { enable: false }, maps_weather: { enable: true } } },
          weather: {
            tools: {
              'get.forecast': { enable: false },
              get_forecast: { enable: true },
              alerts: { enable: true },
            },
          },
        },
      }),
    );
    const { config } = await importConfig(file, {}, exposedNames);
    await put(dir, 'tether.config.json', JSON.stringify(config));
    const loaded = (await loadConfig({ cwd: dir, env: {} })).config;
    const catalog = buildCatalog([
      {
        server: 'gaode_ditu',
        tools: tools['高德 地图'].map((name) => ({ name, inputSchema: {} })),
      },
      { server: 'weather', tools: tools.weather.map((name) => ({ name, inputSchema: {} })) },
    ]);
    const filter = loaded.endpoints[0]!.tools;
    const served = catalog.filter((entry) => toolAllowed(filter, entry.name));
    expect(served.map((entry) => `${entry.server}/${entry.tool}`).sort()).toEqual([
      'gaode_ditu/maps_weather',
      'weather/alerts',
      'weather/get_forecast',
    ]);
    expect(served.map((entry) => entry.name)).toContain('gaode_ditu__maps_weather');
  });

  it('without the naming rule, disabled tools are listed rather than excluded under a guess', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({
        mcpEndpoint: 'wss://api.xiaozhi.me/mcp/?token=t',
        mcpServers: { '高德 地图': { command: 'a' } },
        mcpServerConfig: { '高德 地图': { tools: { echo: { enable: false } } } },
      }),
    );
    const { config, notes } = await importConfig(file, {});
    expect(config.endpoints?.[0]?.tools).toBeUndefined();
    expect(notes).toContain(
      '1 tool(s) disabled in mcpServerConfig were not carried: this caller does not say how the hub names tools. Disabled: "gaode_ditu/echo".',
    );
  });

  it('a ModelScope server gets the key as its Authorization header; no other host does', async () => {
    const dir = await tempDir();
    const servers = {
      ms: { type: 'sse', url: 'https://mcp.api-inference.modelscope.net/abc123/sse' },
      mscn: { type: 'streamable-http', url: 'https://mcp.modelscope.cn/x/mcp' },
      own: {
        url: 'https://mcp.api-inference.modelscope.net/def/sse',
        headers: { authorization: 'Bearer mine' },
      },
      lookalike: { type: 'sse', url: 'https://modelscope.net.evil.test/sse?x=modelscope.net' },
      // Over plain HTTP the key would cross the network readable: it is not sent there.
      plain: { type: 'sse', url: 'http://mcp.api-inference.modelscope.net/abc123/sse' },
    };
    const withKey = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({ mcpServers: servers, modelscope: { apiKey: 'ms-key-1' } }),
    );
    const { config, notes } = await importConfig(withKey, {});
    expect(config.mcpServers['ms']?.['headers']).toEqual({ Authorization: 'Bearer ms-key-1' });
    expect(config.mcpServers['mscn']?.['headers']).toEqual({ Authorization: 'Bearer ms-key-1' });
    expect(config.mcpServers['own']?.['headers']).toEqual({ authorization: 'Bearer mine' });
    expect(config.mcpServers['lookalike']?.['headers']).toBeUndefined();
    expect(config.mcpServers['plain']?.['headers']).toBeUndefined();
    expect(notes).toContain(
      'modelscope.apiKey became the Authorization header of ms, mscn, as xiaozhi-client sends it.',
    );
    expect(notes.join('\n')).not.toContain('ms-key-1');

    // No key in the file: xiaozhi-client read MODELSCOPE_API_TOKEN, and so will Tether.
    const withoutKey = await put(
      dir,
      'b/xiaozhi.config.json',
      JSON.stringify({
        mcpServers: { ms: servers.ms },
        modelscope: { apiKey: '<请填写你的 API Key>' },
      }),
    );
    const second = await importConfig(withoutKey, {});
    expect(second.config.mcpServers['ms']?.['headers']).toEqual({
      Authorization: 'Bearer ${MODELSCOPE_API_TOKEN}',
    });
    expect(second.notes).toEqual([
      'modelscope.apiKey is not a usable key (still the placeholder?); not carried.',
      "ms is a ModelScope server and the file has no modelscope.apiKey: like xiaozhi-client, Tether reads the key from MODELSCOPE_API_TOKEN (not set now: set it in the hub's environment).",
    ]);
  });

  it('a file with a __proto__ key is refused by name, never half-read', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'claude_desktop_config.json',
      '{"mcpServers": {"__proto__": {"command": "node", "args": ["/srv/a.js"]}, "b": {"command": "node", "args": ["/srv/b.js"]}}}',
    );
    expect(await rejection(importConfig(file, {}))).toMatchObject({
      message: expect.stringContaining('mcpServers.__proto__: is not allowed as a key'),
    });
  });

  it('lists what xiaozhi-client settings it leaves out, each with its reason', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'xiaozhi.config.json',
      JSON.stringify({
        mcpServers: {},
        customMCP: {
          tools: [
            { name: 'calc__add', handler: { type: 'mcp', config: { serviceName: 'calc' } } },
            { name: 'weather_flow', handler: { type: 'proxy', platform: 'coze', config: {} } },
            { name: 'hook', handler: { type: 'http', config: { url: 'https://h.test' } } },
          ],
        },
        platforms: { coze: { token: 'pat_secret' } },
        tts: { voice_type: 'zh_female' },
        toolCallLog: { maxRecords: 100 },
        somethingNew: true,
      }),
    );
    const { notes } = await importConfig(file, {});
    expect(notes).toEqual([
      'customMCP: 1 tool(s) with an "mcp" handler mirror tools of mcpServers, which serve them.',
      'Not carried: customMCP tool "weather_flow" (Coze workflow): it runs inside xiaozhi-client and Tether serves MCP servers only; Tether has no Coze integration.',
      'Not carried: customMCP tool "hook" (HTTP call): it runs inside xiaozhi-client and Tether serves MCP servers only.',
      'Not carried: platforms: Coze and other platform credentials: Tether has no Coze integration.',
      'Not carried: tts: voice and model settings belong to the device and its conversation server, not to MCP tools.',
      'Not carried: toolCallLog: Tether keeps its own history of calls.',
      'Not carried: somethingNew: no Tether equivalent.',
      'No MCP servers were found.',
    ]);
  });

  it('a relative path in a Claude Desktop config is pointed out: its folder is not known', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'claude_desktop_config.json',
      JSON.stringify({ mcpServers: { local: { command: 'node', args: ['./server.js'] } } }),
    );
    const { config, notes } = await importConfig(file, {});
    expect(config.mcpServers['local']).toEqual({ command: 'node', args: ['./server.js'] });
    expect(notes).toEqual([
      'mcpServers.local: "./server.js" is a relative path, and the folder it was meant from is not known; make it absolute or set "cwd".',
    ]);
  });

  it('a file larger than any config is refused before it is read', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'mcp_config.json',
      `{"mcpServers":{}}${' '.repeat(5 * 1024 * 1024)}`,
    );
    expect((await rejection(importConfig(file, {}))).message).toBe(
      `${file}: (root): ${5 * 1024 * 1024 + 17} bytes is larger than any MCP configuration (at most 4194304)`,
    );
  });
});
