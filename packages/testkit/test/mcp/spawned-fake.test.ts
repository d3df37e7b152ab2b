import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { fakeStdioServerParams, spawnFakeServer } from '../../src/mcp/index.js';
import type { SpawnFakeServerOptions, SpawnedFakeServer } from '../../src/mcp/index.js';
import { childPipeTransport, connectHttp, newClient, textOf, waitFor, within } from './helpers.js';

const children: SpawnedFakeServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(children.splice(0).map((c) => c.stop(200)));
});

async function spawnChild(options: SpawnFakeServerOptions): Promise<SpawnedFakeServer> {
  const child = await spawnFakeServer(options);
  children.push(child);
  return child;
}

/** A client talking to a spawned stdio child over its pipes (so the test keeps the exit code). */
async function connectPipes(child: SpawnedFakeServer): Promise<Client> {
  const client = newClient();
  await client.connect(childPipeTransport(child.child), { timeout: 5000 });
  clients.push(client);
  return client;
}

describe('fake MCP server as a stdio child', () => {
  it('an SDK stdio client lists tools and gets answers', async () => {
    const client = newClient();
    clients.push(client);
    await client.connect(
      new StdioClientTransport(fakeStdioServerParams({ extraTools: 3, pageSize: 4 })),
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'tool_002']));
    expect(names).toHaveLength(13);
    expect(names).not.toContain('expire_sessions');
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }))).toBe('3');
    const huge = await client.callTool({ name: 'huge', arguments: { bytes: 1_000_000 } });
    expect(textOf(huge)).toHaveLength(1_000_000);
  });

  it('crash: the SDK stdio client sees the transport close, with no answer', async () => {
    const client = newClient();
    clients.push(client);
    const transport = new StdioClientTransport(fakeStdioServerParams());
    await client.connect(transport);
    let closed = false;
    client.onclose = () => {
      closed = true;
    };
    const call = client.callTool({ name: 'crash', arguments: {} });
    await expect(call).rejects.toThrow(/closed/i);
    await waitFor('the transport to close', () => closed);
  });

  it('crash-after 2: the second call kills the process with exit code 1', async () => {
    const child = await spawnChild({ transport: 'stdio', crashAfter: 2 });
    const client = await connectPipes(child);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'one' } }))).toBe('one');
    await expect(client.callTool({ name: 'echo', arguments: { text: 'two' } })).rejects.toThrow(
      /closed/i,
    );
    expect(await within(child.exited, 2000)).toEqual({ code: 1, signal: null });
  });

  it('hang with ignore-sigterm: SIGTERM leaves it running, SIGKILL ends it', async () => {
    const child = await spawnChild({
      transport: 'stdio',
      ignoreSigterm: true,
      noisyStderrMs: 60_000,
    });
    const client = await connectPipes(child);
    const hung = client
      .callTool({ name: 'hang', arguments: {} }, { timeout: 10_000 })
      .catch((e: unknown) => e);
    await waitFor('the hang call to start', () =>
      child.stderrLines.some((l) => l.endsWith('call hang')),
    );

    child.child.kill('SIGTERM');
    expect(await within(child.exited, 500)).toBeUndefined();
    expect(child.stderrLines.some((l) => l.endsWith('ignoring SIGTERM'))).toBe(true);

    // stop() escalates: end stdin, SIGTERM, then SIGKILL after the grace period.
    const started = Date.now();
    expect(await child.stop(200)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(await hung).toBeInstanceOf(Error);
  });
});

describe('fake MCP server as an HTTP child', () => {
  it('prints its URL, serves a client, and a crash exits with code 1', async () => {
    const child = await spawnChild({ transport: 'http' });
    expect(child.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = await connectHttp(child.url ?? '', 'http');
    clients.push(client);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over http' } }))).toBe(
      'over http',
    );
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/fetch failed/);
    expect(await within(child.exited, 2000)).toEqual({ code: 1, signal: null });
  });

  it('over SSE it serves a client under its --name', async () => {
    const child = await spawnChild({ transport: 'sse', name: 'legacy-sse' });
    expect(child.url).toMatch(/\/sse$/);
    const client = await connectHttp(child.url ?? '', 'sse');
    clients.push(client);
    expect(client.getServerVersion()?.name).toBe('legacy-sse');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over sse' } }))).toBe(
      'over sse',
    );
  });

  it('noisy stderr writes a line per interval and one per tool call', async () => {
    const child = await spawnChild({ transport: 'http', noisyStderrMs: 30 });
    await waitFor(
      'two ticks',
      () => child.stderrLines.filter((l) => / tick \d+$/.test(l)).length >= 2,
    );
    const client = await connectHttp(child.url ?? '', 'http');
    clients.push(client);
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await waitFor('a line for the call', () =>
      child.stderrLines.some((l) => l.endsWith('call echo')),
    );
  });

  it('stop() ends a well-behaved child with SIGTERM', async () => {
    const child = await spawnChild({ transport: 'http' });
    expect(await child.stop(2000)).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
