import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { put, rejection, tempDir } from './helpers.js';

/** Load `text` as tether.config.json and return `[file, error message]`. */
async function refuse(text: string, env: NodeJS.ProcessEnv = {}): Promise<[string, string]> {
  const dir = await tempDir();
  const file = await put(dir, 'tether.config.json', text);
  const error = await rejection(loadConfig({ cwd: dir, env }));
  expect(error).toBeInstanceOf(ConfigError);
  return [file, error.message];
}

describe('a bad config is refused with FILE: PATH: MESSAGE', () => {
  it('an endpoint URL that is not ws:// or wss://', async () => {
    const [file, message] = await refuse(
      `{ "endpoints": [{ "name": "e", "url": "https://api.xiaozhi.me/mcp/?token=secret" }] }`,
    );
    expect(message).toBe(
      `${file}: endpoints[0].url: must start with ws:// or wss:// (found https://)`,
    );
    expect(message).not.toContain('secret');
  });

  it('an endpoint URL that is not a URL at all', async () => {
    const [file, message] = await refuse(
      `{ "endpoints": [{ "name": "e", "url": "api.xiaozhi.me" }] }`,
    );
    expect(message).toBe(`${file}: endpoints[0].url: must be a ws:// or wss:// URL`);
  });

  it('two endpoints with the same name', async () => {
    const [file, message] = await refuse(`{ "endpoints": [
      { "name": "home", "url": "wss://a.test" }, { "name": "home", "url": "wss://b.test" }] }`);
    expect(message).toBe(
      `${file}: endpoints[1].name: duplicate endpoint name "home" (also endpoints[0])`,
    );
  });

  it('an endpoint with an empty name', async () => {
    const [file, message] = await refuse(
      `{ "endpoints": [{ "name": " ", "url": "wss://a.test" }] }`,
    );
    expect(message).toBe(`${file}: endpoints[0].name: must not be empty`);
  });

  it('a typo in a key, with a suggestion', async () => {
    const [file, message] = await refuse(
      `{ "mcpServers": { "calc": { "comand": "node", "command": "node" } } }`,
    );
    expect(message).toBe(`${file}: mcpServers.calc.comand: unknown key (did you mean "command"?)`);
  });

  it('an unknown top-level key ($schema is fine)', async () => {
    const [file, message] = await refuse(`{ "$schema": "x", "endpoint": [] }`);
    expect(message).toBe(`${file}: endpoint: unknown key (did you mean "endpoints"?)`);
  });

  it('a server with both command and url', async () => {
    const [file, message] = await refuse(
      `{ "mcpServers": { "calc": { "command": "node", "url": "https://x.test" } } }`,
    );
    expect(message).toBe(
      `${file}: mcpServers.calc: has both "command" and "url"; keep "command" for stdio or "url" for http/sse`,
    );
  });

  it('a stdio server without a command', async () => {
    const [file, message] = await refuse(
      `{ "mcpServers": { "calc": { "type": "stdio", "args": ["calc.js"] } } }`,
    );
    expect(message).toBe(
      `${file}: mcpServers.calc.command: missing; a stdio server needs a command to run`,
    );
  });

  it('a server with neither command nor url', async () => {
    const [file, message] = await refuse(`{ "mcpServers": { "calc": { "args": ["calc.js"] } } }`);
    expect(message).toBe(`${file}: mcpServers.calc: needs "command" (stdio) or "url" (http, sse)`);
  });

  it('a url that does not match the declared type', async () => {
    const [file, message] = await refuse(
      `{ "servers": { "w": { "type": "stdio", "url": "https://w.test" } } }`,
    );
    expect(message).toBe(`${file}: servers.w.url: a stdio server takes "command", not "url"`);
  });

  it('an unknown server type', async () => {
    const [file, message] = await refuse(
      `{ "mcpServers": { "w": { "type": "websocket", "url": "wss://w.test" } } }`,
    );
    expect(message).toBe(
      `${file}: mcpServers.w.type: unknown type "websocket"; use stdio, http (streamable-http) or sse`,
    );
  });

  it('an endpoint that names a server that does not exist', async () => {
    const [file, message] = await refuse(`{
      "endpoints": [{ "name": "e", "url": "wss://a.test", "servers": ["calc", "wether"] }],
      "mcpServers": { "calc": { "command": "node" } } }`);
    expect(message).toBe(`${file}: endpoints[0].servers[1]: unknown server "wether"`);
  });

  it('the same server name under both mcpServers and servers', async () => {
    const [file, message] = await refuse(`{
      "mcpServers": { "calc": { "command": "a" } }, "servers": { "calc": { "command": "b" } } }`);
    expect(message).toBe(
      `${file}: servers.calc: also defined in mcpServers; server names must be unique`,
    );
  });

  it('the same key twice in one object', async () => {
    const [file, message] = await refuse(`{
  "mcpServers": {
    "calc": { "command": "a" },
    "calc": { "command": "b" }
  }
}`);
    expect(message).toBe(`${file}: mcpServers.calc: defined twice (first on line 3)`);
  });

  it('a __proto__ key, which would otherwise replace the object it is in', async () => {
    const [file, message] = await refuse(`{
  "mcpServers": {
    "__proto__": { "command": "a" },
    "calc": { "command": "b" }
  }
}`);
    expect(message).toBe(`${file}: mcpServers.__proto__: is not allowed as a key`);
  });

  it('a JSON syntax error, by line and column', async () => {
    const [file, message] = await refuse(`{
  "endpoints": [
    { "name": "e" "url": "wss://a.test" }
  ]
}`);
    expect(message).toBe(`${file}: 3:19: syntax error: comma expected`);
  });

  it('a port out of range, and other hub settings of the wrong kind', async () => {
    const [file, message] = await refuse(
      `{ "hub": { "port": 70000, "callTimeoutMs": -1, "host": 1 } }`,
    );
    expect(message).toBe(
      [
        `${file}: hub.host: must be a string, got number 1`,
        `${file}: hub.port: must be a whole number from 0 to 65535, got 70000`,
        `${file}: hub.callTimeoutMs: must be a whole number >= 0, got -1`,
      ].join('\n'),
    );
  });

  it('a bad URL in MCP_ENDPOINT is reported against the variable', async () => {
    const [, message] = await refuse(`{}`, { MCP_ENDPOINT: 'wss://ok.test;https://bad.test' });
    expect(message).toBe('MCP_ENDPOINT[1]: must start with ws:// or wss:// (found https://)');
  });

  it('every issue is reported at once, not just the first', async () => {
    const dir = await tempDir();
    const file = await put(
      dir,
      'tether.config.json',
      `{
        "endpoints": [
          { "name": "a", "url": "http://a.test" },
          { "name": "a", "url": "wss://a.test/?token=\${MISSING}", "servers": ["nope"] }
        ],
        "mcpServers": { "calc": { "comand": "node" }, "w": { "type": "sse", "args": [] } },
        "hub": { "port": "8765" }
      }`,
    );
    const error = (await rejection(
      loadConfig({ cwd: dir, env: { MCP_ENDPOINT: 'nope' } }),
    )) as ConfigError;
    expect(error.message.split('\n')).toEqual([
      `${file}: endpoints[1].url: environment variable MISSING is not set`,
      `${file}: mcpServers.calc.comand: unknown key (did you mean "command"?)`,
      `${file}: mcpServers.calc: needs "command" (stdio) or "url" (http, sse)`,
      `${file}: mcpServers.w.url: missing; an sse server needs a url`,
      `${file}: mcpServers.w.args: only for stdio servers`,
      `${file}: endpoints[0].url: must start with ws:// or wss:// (found http://)`,
      `${file}: endpoints[1].name: duplicate endpoint name "a" (also endpoints[0])`,
      `${file}: endpoints[1].servers[0]: unknown server "nope"`,
      `${file}: hub.port: must be a whole number from 0 to 65535, got "8765"`,
      'MCP_ENDPOINT[0]: must be a ws:// or wss:// URL',
    ]);
    expect(error.issues).toHaveLength(10);
    expect(error.issues.at(-1)).toEqual({
      path: 'MCP_ENDPOINT[0]',
      message: 'must be a ws:// or wss:// URL',
    });
  });
});
