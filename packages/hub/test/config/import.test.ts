import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, importConfig, loadConfig } from '../../src/config/index.js';
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
    const result = await importConfig(file, {});
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
        calculator: { command: 'node', args: ['./mcpServers/calculator.js'] },
        amap: { type: 'sse', url: 'https://mcp.amap.com/sse?key=k123' },
        search: { type: 'http', url: 'https://s.test/mcp' },
      },
    });
    expect(result.notes).toEqual([
      'mcpEndpoint entry 3 is not a ws:// or wss:// URL; skipped.',
      '2 tool(s) disabled in mcpServerConfig became "tools.exclude" on each endpoint.',
      'Not carried over (no Tether equivalent): connection, webUI.',
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
        calculator: { type: 'stdio', command: 'python', args: ['-m', 'calculator'] },
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
    expect(result.config).toEqual({ mcpServers: { a: { command: 'a' } } });
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
        },
        local: { type: 'stdio', command: 'node', args: [`${dir}/server.js`, homedir()] },
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
    const { config } = await importConfig(source, {});
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
});
