import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeHttpServer, waitUntil } from '@tether/testkit';
import type { FakeHttpServer } from '@tether/testkit';
import type { RequestId } from '@modelcontextprotocol/client';
import { silentLogger } from '../../src/log/logger.js';
import { EventSplitter, limitedFetch } from '../../src/upstream/limited-fetch.js';
import type { Oversized } from '../../src/upstream/lines.js';
import { ResultTooLarge, responseIdOf } from '../../src/upstream/limits.js';
import type { UpstreamError } from '../../src/upstream/index.js';
import { Fleet, fakeStdio, httpConfig, rejection, textOf } from '../upstream/helpers.js';

const fleet = new Fleet();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await fleet.stopAll();
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function fakeHttp(transport: 'http' | 'sse'): Promise<FakeHttpServer> {
  const server = await startFakeHttpServer({ transport });
  cleanups.push(() => server.close());
  return server;
}

/** How long `promise` takes to settle, and its rejection. */
async function timedRejection(promise: Promise<unknown>): Promise<[UpstreamError, number]> {
  const began = Date.now();
  const error = await rejection(promise);
  return [error, Date.now() - began];
}

const expectTooLarge = (error: UpstreamError): void => {
  expect(error.code).toBe('UPSTREAM_RESULT_TOO_LARGE');
  expect(error.message).toMatch(/limit/);
  expect(error.message).toContain('hub.limits.resultBytes');
};

describe('a result over the size limit', () => {
  it('from a stdio server: the call fails within a second, clearly, and the server carries on', async () => {
    const upstream = await fleet.started(fakeStdio());
    const pid = upstream.status.pid;
    // Another call, running meanwhile, is answered as usual.
    const meanwhile = upstream.callTool(
      'slow',
      { ms: 300, text: 'still here' },
      { timeoutMs: 10_000 },
    );
    const [error, ms] = await timedRejection(
      upstream.callTool('huge', { bytes: 20_000_000 }, { timeoutMs: 30_000 }),
    );
    expectTooLarge(error);
    expect(error.message).toMatch(/19\.\d MiB, over the 8 MiB limit/);
    expect(ms).toBeLessThan(1000);
    expect(textOf(await meanwhile)).toBe('still here');
    expect(upstream.status).toMatchObject({ state: 'ready', pid, restarts: 0 });
    const next = await upstream.callTool('echo', { text: 'next' }, { timeoutMs: 5000 });
    expect(textOf(next)).toBe('next');
  });

  it('from a stdio server: the limit is the option given, and a result within it passes', async () => {
    const upstream = await fleet.started(fakeStdio(), { maxResultBytes: 100_000 });
    const fits = await upstream.callTool('huge', { bytes: 90_000 }, { timeoutMs: 5000 });
    expect(textOf(fits)).toHaveLength(90_000);
    const error = await rejection(
      upstream.callTool('huge', { bytes: 100_000 }, { timeoutMs: 5000 }),
    );
    expectTooLarge(error);
    expect(error.message).toContain('97.7 KiB');
  });

  it.each(['http', 'sse'] as const)(
    'over %s: the call fails at once and the session keeps answering',
    async (kind) => {
      const server = await fakeHttp(kind);
      const upstream = await fleet.started(httpConfig(server.url, kind), {
        maxResultBytes: 256 * 1024,
      });
      const [error, ms] = await timedRejection(
        upstream.callTool('huge', { bytes: 2_000_000 }, { timeoutMs: 30_000 }),
      );
      expectTooLarge(error);
      expect(ms).toBeLessThan(1000);
      expect(upstream.status).toMatchObject({ state: 'ready', restarts: 0 });
      const next = await upstream.callTool('echo', { text: 'next' }, { timeoutMs: 5000 });
      expect(textOf(next)).toBe('next');
    },
  );
});

describe('arguments over the size limit', () => {
  const eleven = { text: 'x'.repeat(11_000_000) };

  it('to a stdio server: refused before anything reaches it, and the server stays up', async () => {
    // --noisy-stderr writes "call <tool>" as each call reaches a tool; the ticks are an hour apart.
    const upstream = await fleet.started(fakeStdio({ noisyStderrMs: 3_600_000 }));
    const pid = upstream.status.pid;
    const [error, ms] = await timedRejection(
      upstream.callTool('echo', eleven, { timeoutMs: 30_000 }),
    );
    expect(error.code).toBe('UPSTREAM_ARGUMENTS_TOO_LARGE');
    expect(error.message).toContain('1 MiB');
    expect(error.message).toContain('hub.limits.argumentsBytes');
    expect(ms).toBeLessThan(1000);
    const small = await upstream.callTool('echo', { text: 'small' }, { timeoutMs: 5000 });
    expect(textOf(small)).toBe('small');
    await waitUntil(() => upstream.status.stderrTail.some((l) => l.endsWith('call echo')), {
      what: 'the small call on stderr',
    });
    expect(upstream.status.stderrTail.filter((l) => l.endsWith('call echo'))).toHaveLength(1);
    expect(upstream.status).toMatchObject({ state: 'ready', pid, restarts: 0 });
  });

  it('to an HTTP server: refused before anything is sent', async () => {
    const server = await fakeHttp('http');
    const upstream = await fleet.started(httpConfig(server.url, 'http'));
    const error = await rejection(upstream.callTool('echo', eleven, { timeoutMs: 30_000 }));
    expect(error.code).toBe('UPSTREAM_ARGUMENTS_TOO_LARGE');
    expect(server.calls.get('echo')).toBeUndefined();
    expect(textOf(await upstream.callTool('echo', { text: 'ok' }, { timeoutMs: 5000 }))).toBe('ok');
    expect(upstream.status.state).toBe('ready');
  });

  it('counts bytes, so many multi-byte characters are refused too', async () => {
    const upstream = await fleet.started(fakeStdio(), { maxArgumentsBytes: 300_000 });
    // 120,000 characters, 360,000 bytes of UTF-8.
    const error = await rejection(
      upstream.callTool('echo', { text: '€'.repeat(120_000) }, { timeoutMs: 5000 }),
    );
    expect(error.code).toBe('UPSTREAM_ARGUMENTS_TOO_LARGE');
    const fits = await upstream.callTool('echo', { text: '€'.repeat(90_000) }, { timeoutMs: 5000 });
    expect(textOf(fits)).toHaveLength(90_000);
  });
});

describe('the size-limiting fetch of HTTP upstreams', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;

  async function serve(handler: Handler): Promise<string> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  }

  function fetchWith(limit: number): {
    fetch: ReturnType<typeof limitedFetch>;
    failed: Array<{ ids: RequestId[]; marker: ResultTooLarge }>;
  } {
    const failed: Array<{ ids: RequestId[]; marker: ResultTooLarge }> = [];
    const fetch = limitedFetch({
      maxResultBytes: limit,
      maxArgumentsBytes: 1024,
      logger: silentLogger(),
      onTooLarge: (ids, marker) => failed.push({ ids, marker }),
    });
    return { fetch, failed };
  }

  const post = (id: number) => ({
    method: 'POST',
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'huge' } }),
  });

  it('a JSON answer over the limit fails the request it answers and is not read whole', async () => {
    let written = 0;
    let closed = false;
    const url = await serve((_req, res) => {
      // No Content-Length: the limit has to be found while reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      const more = (): void => {
        while (written < 50_000_000) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      res.once('close', () => {
        closed = true;
      });
      more();
    });
    const { fetch, failed } = fetchWith(1024 * 1024);
    const response = await fetch(url, post(41));
    await expect(response.json()).rejects.toThrow(/larger than the 1 MiB limit/);
    expect(failed).toEqual([{ ids: [41], marker: expect.any(ResultTooLarge) }]);
    // Reading stopped near the limit: the connection was dropped long before 50 MB.
    await waitUntil(() => closed, { what: 'the server to see the connection go' });
    expect(written).toBeLessThan(20_000_000);
  });

  it('a declared Content-Length over the limit fails the request before a byte is read', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000000' });
      res.write('{');
    });
    const { fetch, failed } = fetchWith(1024 * 1024);
    const response = await fetch(url, post(7));
    expect(failed.map((f) => [f.ids, f.marker.bytes])).toEqual([[[7], 5_000_000]]);
    await expect(response.text()).rejects.toThrow(/4\.8 MiB, over the 1 MiB limit/);
  });

  it('an answer within the limit passes untouched, status and headers included', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(202, { 'content-type': 'application/json', 'mcp-session-id': 's-1' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
    const { fetch, failed } = fetchWith(1024);
    const response = await fetch(url, post(1));
    expect([response.status, response.headers.get('mcp-session-id')]).toEqual([202, 's-1']);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    expect(failed).toEqual([]);
  });

  it('a body over the arguments limit is refused before it is sent', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      res.end();
    });
    const { fetch } = fetchWith(1024);
    await expect(fetch(url, { method: 'POST', body: 'x'.repeat(2000) })).rejects.toMatchObject({
      code: 'UPSTREAM_ARGUMENTS_TOO_LARGE',
    });
    expect(requests).toBe(0);
  });
});

describe('SSE events over the size limit', () => {
  const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
  const text = (pieces: Uint8Array[]): string => Buffer.concat(pieces).toString('utf8');

  it('are dropped whole, while the events around them pass, whatever the line ends', () => {
    const dropped: Oversized[] = [];
    const events = new EventSplitter(100, (event) => dropped.push(event));
    const big = `data: {"result":"${'x'.repeat(300)}","jsonrpc":"2.0","id":3}`;
    const out = [
      ...events.push(bytes('event: message\r\ndata: {"id":1}\r\n\r\n')),
      ...events.push(bytes(`id: 9\n${big.slice(0, 150)}`)),
      ...events.push(bytes(`${big.slice(150)}\n\ndata: {"id":4}\r`)),
      ...events.push(bytes('\r')),
    ];
    expect(text(out)).toBe('event: message\r\ndata: {"id":1}\r\n\r\ndata: {"id":4}\r\r');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.bytes).toBe(big.length + 8);
    expect(events.flush()).toBeUndefined();
  });

  it('hold back an event until it is complete', () => {
    const events = new EventSplitter(1000, () => {});
    expect(events.push(bytes('data: {"jsonrpc":'))).toEqual([]);
    expect(text(events.push(bytes('"2.0"}\n\nda')))).toBe('data: {"jsonrpc":"2.0"}\n\n');
    expect(events.flush()?.toString()).toBe('da');
  });
});

describe('finding the request an oversized answer belongs to', () => {
  it('reads the id at either end of the JSON, and never takes a request from the server for one', () => {
    expect(responseIdOf('{"jsonrpc":"2.0","id":12,"result":{"content":[', '')).toBe(12);
    expect(
      responseIdOf('{"result":{"content":[{"type":"text",', 'xx"}]},"jsonrpc":"2.0","id":5}'),
    ).toBe(5);
    expect(responseIdOf('{ "id" : "a-1" , "error": {', '')).toBe('a-1');
    // An id inside the result is not the response's.
    expect(responseIdOf('{"result":{"id":99,', 'x"}]}}')).toBeUndefined();
    expect(responseIdOf('{"result":{', 'text \\"id\\":7}"}]}}')).toBeUndefined();
    // A request from the server carries an id from its own id space.
    expect(
      responseIdOf('{"jsonrpc":"2.0","id":2,"method":"sampling/createMessage","params":{', ''),
    ).toBeUndefined();
    expect(
      responseIdOf('{"params":{"messages":[', '}]},"method":"x","jsonrpc":"2.0","id":2}'),
    ).toBeUndefined();
  });
});
