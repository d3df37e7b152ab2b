import { request } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { EndpointSimulator, contentStdioServerParams, startFakeHttpServer } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { EndpointConfig, HubSettings } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { Auth } from '../../src/http/auth.js';
import { createApi } from '../../src/http/api.js';
import { listen } from '../../src/http/server.js';
import type { RunningServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { McpHttp } from '../../src/mcp/http.js';
import type { McpHttpOptions } from '../../src/mcp/http.js';
import { openStore } from '../../src/store/index.js';
import type { ToolCallEntry } from '../../src/store/types.js';

export const TOKEN = 'mcp-test-admin-token';

/** The raw result of a request: what came over the wire, not what the SDK's schemas made of it. */
export const asSent = z.custom<Record<string, unknown>>(() => true);
export type Page = {
  tools: Array<Record<string, unknown> & { name: string }>;
  nextCursor?: string;
};

/** Every page of tools/list, following nextCursor (at most 10 pages). */
export async function allPages(client: Client): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | undefined;
  do {
    const page = (await client.request(
      { method: 'tools/list', ...(cursor !== undefined && { params: { cursor } }) },
      asSent,
    )) as Page;
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 10);
  return pages;
}

/**
 * A hub with two upstreams — `fake` (the testkit's HTTP fake in this process, 150 filler tools
 * on top of its own, progress every 20 ms) and `content` (every content kind, stdio) — and one
 * endpoint, `kitchen`, that is given only the content server's tools. Its API listens on a
 * real socket; `serve()` adds more listeners on the same hub (another token, other limits).
 * A second endpoint, `garage`, has a tool budget of 5: it is sent `fake__echo` and the router.
 */
export async function startHub(hubSettings: Partial<HubSettings> = {}) {
  const fake = await startFakeHttpServer({ progressEveryMs: 20, extraTools: 150 });
  const sim = await EndpointSimulator.start();
  const content = contentStdioServerParams();
  // A store, so the endpoint's tool switches (overlays) can be used.
  const store = await openStore({ file: ':memory:' });
  await store.migrate();
  const kitchen: EndpointConfig = {
    name: 'kitchen',
    url: sim.url('kitchen-token'),
    enabled: true,
    servers: ['content'],
    tools: { include: ['*'], exclude: ['content__mixed'] },
    source: 'file',
  };
  // Over its budget: sent its pinned tool and the router, like a small device model.
  const garage: EndpointConfig = {
    name: 'garage',
    url: sim.url('garage-token'),
    enabled: true,
    tools: {
      include: ['*'],
      exclude: [],
      budget: 5,
      pinned: ['fake__echo'],
      repairArguments: true,
    },
    source: 'file',
  };
  const hub = new Hub(
    {
      endpoints: [kitchen, garage],
      servers: [
        { name: 'fake', type: 'http', url: fake.url, headers: {}, enabled: true },
        {
          name: 'content',
          type: 'stdio',
          command: content.command,
          args: content.args,
          env: {},
          enabled: true,
        },
      ],
      hub: {
        ...DEFAULT_HUB,
        port: 0,
        callTimeoutMs: 10_000,
        toolChangeDebounceMs: 50,
        earlyReplyMs: 0,
        ...hubSettings,
      },
      notifications: [],
    },
    { logger: silentLogger(), instance: 'mcp-test', store },
  );
  await hub.start();
  const calls: ToolCallEntry[] = [];
  hub.on('call', (entry) => void calls.push(entry));
  const servers: Array<{ api: RunningServer; mcp: McpHttp }> = [];
  const serve = async (
    options: { token?: string; mcp?: Partial<McpHttpOptions> } = {},
  ): Promise<{ url: string; mcp: McpHttp }> => {
    const mcp = new McpHttp(hub, { logger: silentLogger(), ...options.mcp });
    const app = createApi(hub, { auth: new Auth({ token: options.token }), mcp });
    const api = await listen(app, '127.0.0.1', 0);
    servers.push({ api, mcp });
    return { url: api.url, mcp };
  };
  const main = await serve();
  return {
    hub,
    fake,
    sim,
    calls,
    url: main.url,
    mcp: main.mcp,
    serve,
    async stop() {
      for (const { api, mcp } of servers) {
        await mcp.close();
        await api.close();
      }
      await hub.stop();
      await store.close();
      await fake.close();
      await sim.close();
    },
  };
}

export type TestHub = Awaited<ReturnType<typeof startHub>>;

/**
 * The official SDK client over Streamable HTTP, connected (initialize + initialized) and with
 * its GET stream open: until then a notification the server sends of its own accord (such as
 * list_changed) has nowhere to go.
 */
export async function connect(
  url: string,
  options: { token?: string; name?: string; headers?: Record<string, string> } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let listening!: () => void;
  const streamOpen = new Promise<void>((resolve) => (listening = resolve));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'GET' && response.ok) listening();
      return response;
    },
  });
  const client = new Client({ name: options.name ?? 'test-client', version: '1.2.3' });
  await client.connect(transport);
  await within(streamOpen, 5_000, 'the GET event stream to open');
  return { client, transport };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request over a real socket with exactly the headers given, Host included (fetch would
 * set its own): what a hostile page or a hand-written client sends.
 */
export function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawAnswer> {
  const target = new URL(url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(body !== undefined && {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          }),
          ...options.headers,
        },
        timeout: 5_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The initialize a hand-written client sends. */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw-client', version: '0.0.1' },
  },
};

/** Settles with `promise`, or fails after `ms` saying what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
