import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { HubSettings } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { createApi } from '../../src/http/api.js';
import type { ApiOptions } from '../../src/http/api.js';
import { addressKey, trustsPeer } from '../../src/http/door.js';
import { Auth } from '../../src/http/auth.js';
import { listen } from '../../src/http/server.js';
import type { ConnectionLimits, RunningServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

const TOKEN = 'admin-token-for-door-tests';

interface Served {
  hub: Hub;
  store: Store;
  api: RunningServer;
  stop(): Promise<void>;
}

async function serve(
  hubSettings: Partial<HubSettings> = {},
  token?: string,
  options: { api?: Omit<ApiOptions, 'auth'>; connections?: Partial<ConnectionLimits> } = {},
): Promise<Served> {
  const store = await openStore({ file: ':memory:' });
  await store.migrate();
  const hub = new Hub(
    {
      endpoints: [],
      servers: [],
      hub: { ...DEFAULT_HUB, port: 0, ...hubSettings },
      notifications: [],
    },
    { logger: silentLogger(), store, instance: 'door-test' },
  );
  await hub.start();
  const api = await listen(
    createApi(hub, { ...options.api, auth: new Auth({ token }) }),
    '127.0.0.1',
    0,
    options.connections,
  );
  return {
    hub,
    store,
    api,
    async stop() {
      await hub.stop();
      await api.close();
      await store.close();
    },
  };
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A request over a real socket, with whatever Host and headers a hostile page would send. */
function call(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          // An event stream never ends: its first bytes are enough.
          if (res.headers['content-type']?.includes('text/event-stream')) res.destroy();
        });
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the Host allow-list (DNS rebinding)', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({ allowedHosts: ['tether.home.arpa'] });
  });
  afterAll(() => served.stop());

  it('refuses a page on evil.test that resolves to 127.0.0.1, and creates nothing', async () => {
    const port = served.api.port;
    const home = mkdtempSync(join(tmpdir(), 'tether-rebind-'));
    const marker = join(home, 'pwned');
    const hostile = { host: `evil.test:${port}`, origin: `http://evil.test:${port}` };

    const reads = await Promise.all([
      call(port, '/api/endpoints', { headers: hostile }),
      call(port, '/api/events', { headers: hostile }),
      call(port, '/', { headers: hostile }),
    ]);
    for (const read of reads) {
      expect(read.status).toBe(403);
      expect(JSON.parse(read.body)).toMatchObject({ error: { code: 'FORBIDDEN_HOST' } });
    }
    const created = await call(port, '/api/servers', {
      method: 'POST',
      headers: { ...hostile, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'pwn',
        type: 'stdio',
        command: 'sh',
        args: ['-c', `id > ${marker}`],
      }),
    });
    expect(created.status).toBe(403);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
    expect(served.hub.serverDefinitions().map((s) => s.name)).not.toContain('pwn');
  });

  it('answers loopback names and the names in hub.allowedHosts', async () => {
    const port = served.api.port;
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'tether.home.arpa',
    ])
      expect((await call(port, '/api/endpoints', { headers: { host } })).status).toBe(200);
  });
});

describe('limits before parsing', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({}, TOKEN);
  });
  afterAll(() => served.stop());

  it('refuses 20 parallel 100 MB login bodies with 413 while memory stays flat', async () => {
    const port = served.api.port;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const before = process.memoryUsage().rss;
    // Half announce their size, half stream chunked; each stops sending once answered.
    const one = (chunked: boolean) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let answer = '';
        let sent = 0;
        let answered = false;
        socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
        socket.on('data', (data) => {
          answer += data.toString('latin1');
          answered = true;
          socket.destroy();
        });
        socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
        socket.on('error', (error) => (answered ? resolve(answer) : reject(error)));
        socket.write(
          `POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
            (chunked
              ? 'Transfer-Encoding: chunked\r\n\r\n'
              : `Content-Length: ${100 * 2 ** 20}\r\n\r\n`),
        );
        const pump = () => {
          while (!answered && sent < 100 * 2 ** 20) {
            sent += chunk.length;
            const frame = chunked
              ? Buffer.concat([
                  Buffer.from(`${chunk.length.toString(16)}\r\n`),
                  chunk,
                  Buffer.from('\r\n'),
                ])
              : chunk;
            if (!socket.write(frame)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
    const lines = await Promise.all(Array.from({ length: 20 }, (_, i) => one(i % 2 === 0)));
    for (const line of lines) expect(line).toMatch(/^HTTP\/1\.1 413/);
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    expect(grown).toBeLessThan(50);
  });

  it('answers a deeply nested JSON body with 400, not 500', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const answer = await call(served.api.port, '/api/tools/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: `{"name":"x","arguments":{"a":${deep}}}`,
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.message).toMatch(/nests deeper than 64 levels/);
  });

  it('refuses the 33rd event stream with 503 and never warns about listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const port = served.api.port;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const streams = await Promise.all(
      Array.from(
        { length: 32 },
        () =>
          new Promise<IncomingMessage>((resolve, reject) => {
            const req = request(
              { host: '127.0.0.1', port, path: '/api/events', headers: auth },
              resolve,
            );
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    expect(streams.map((s) => s.statusCode)).toEqual(Array(32).fill(200));
    const refused = await call(port, '/api/events', { headers: auth });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe('TOO_MANY_STREAMS');
    for (const s of streams) s.destroy();
    // Closed streams free their places.
    await expect
      .poll(async () => (await call(port, '/api/events', { headers: auth })).status, {
        timeout: 5_000,
      })
      .toBe(200);
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});

describe('the admin token', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({ trustProxy: true }, TOKEN);
  });
  afterAll(() => served.stop());

  it('makes a client that sends wrong Bearer tokens wait, as the login does', async () => {
    const port = served.api.port;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await call(port, '/api/endpoints', {
        headers: { authorization: `Bearer guess-${i}`, 'x-forwarded-for': '203.0.113.7' },
      });
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Another client is not punished for that one.
    const other = await call(port, '/api/endpoints', {
      headers: { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '203.0.113.8' },
    });
    expect(other.status).toBe(200);
  });

  it('ends the session at logout: the old cookie no longer works', async () => {
    const port = served.api.port;
    const login = await call(port, '/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: TOKEN }),
    });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await call(port, '/api/endpoints', { headers: { cookie } })).status).toBe(200);
    await call(port, '/api/logout', { method: 'POST', headers: { cookie } });
    expect((await call(port, '/api/endpoints', { headers: { cookie } })).status).toBe(401);
  });

  it('marks the cookie Secure behind a trusted TLS proxy only', async () => {
    const port = served.api.port;
    const login = (headers: Record<string, string>) =>
      call(port, '/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ token: TOKEN }),
      });
    const viaTls = await login({ 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.1' });
    expect(String(viaTls.headers['set-cookie'])).toMatch(/; Secure/);
    const plain = await login({ 'x-forwarded-for': '198.51.100.2' });
    expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/);
  });

  it('serves the dashboard unframeable, with a content security policy', async () => {
    const page = await call(served.api.port, '/');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('the admin token, without a trusted proxy', () => {
  it('does not believe X-Forwarded-Proto from just anyone', async () => {
    const served = await serve({}, TOKEN);
    try {
      const login = await call(served.api.port, '/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ token: TOKEN }),
      });
      expect(login.status).toBe(200);
      expect(String(login.headers['set-cookie'])).not.toMatch(/Secure/);
    } finally {
      await served.stop();
    }
  });
});

/** Raw bytes to the server; resolves with everything it answered once it closes the socket. */
function raw(port: number, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error('the server kept the socket open')),
    );
    socket.on('data', (data) => (answer += data.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('writes from web pages', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve();
  });
  afterAll(() => served.stop());

  const create = (headers: Record<string, string>) =>
    call(served.api.port, '/api/servers', {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'from-a-page', type: 'stdio', command: 'true' }),
    });

  it('refuses a form post or a text/plain beacon, which a page may send without asking', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const answer = await create({ 'content-type': type });
      expect(answer.status).toBe(415);
      expect(JSON.parse(answer.body).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(served.hub.serverDefinitions().map((s) => s.name)).not.toContain('from-a-page');
  });

  it('refuses a write the browser marks cross-site or same-site, even without an Origin', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const answer = await create({ 'content-type': 'application/json', 'sec-fetch-site': site });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe('FORBIDDEN_ORIGIN');
    }
    expect(served.hub.serverDefinitions().map((s) => s.name)).not.toContain('from-a-page');
  });

  it("accepts the dashboard's own writes, whatever the case of its Host header", async () => {
    const port = served.api.port;
    const answer = await create({
      'content-type': 'application/json; charset=utf-8',
      'sec-fetch-site': 'same-origin',
      host: `LOCALHOST:${port}`,
      origin: `http://localhost:${port}`,
    });
    expect(answer.status).toBe(201);
    await served.hub.deleteServer('from-a-page');
  });

  it('refuses a request that came without a Host header, before any route', async () => {
    const answer = await raw(served.api.port, 'GET /api/endpoints HTTP/1.0\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.[01] 403/);
    expect(answer).toMatch(/FORBIDDEN_HOST/);
    // The refusal carries the security headers too.
    expect(answer.toLowerCase()).toMatch(/x-content-type-options: nosniff/);
  });
});

describe('clients that hold on', () => {
  it('cuts off a client that trickles its headers', async () => {
    const served = await serve({}, undefined, { connections: { headersTimeoutMs: 300 } });
    try {
      const started = Date.now();
      const answer = await raw(
        served.api.port,
        `GET /api/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await served.stop();
    }
  });

  it("makes a client without the token send no more than a login's worth of body", async () => {
    const served = await serve({}, TOKEN);
    try {
      const body = JSON.stringify({ name: 'x', type: 'stdio', command: 'x'.repeat(64 * 1024) });
      const chunked = (auth: string) =>
        raw(
          served.api.port,
          `POST /api/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
            `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n${auth}\r\n` +
            `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        );
      expect(await chunked('')).toMatch(/^HTTP\/1\.1 413/);
      // With the token the same body is read (and refused only by the schema, if at all).
      expect(await chunked(`Authorization: Bearer ${TOKEN}\r\n`)).not.toMatch(/^HTTP\/1\.1 413/);
    } finally {
      await served.stop();
    }
  });

  it('drops an event stream whose reader stopped reading, and frees its place', async () => {
    const served = await serve({ limits: { ...DEFAULT_HUB.limits, sseClients: 1 } }, undefined, {
      api: { streamQueueBytes: 64 * 1024 },
    });
    try {
      const port = served.api.port;
      const socket = connect(port, '127.0.0.1');
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.on('error', () => {});
      await new Promise<void>((resolve) => {
        socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
        socket.once('data', () => resolve());
      });
      socket.pause();
      const entry = {
        endpointId: 'e',
        tool: 't',
        server: 's',
        at: Date.now(),
        durationMs: 1,
        outcome: 'error' as const,
        argsBytes: 0,
        resultBytes: 0,
        error: 'x'.repeat(64 * 1024),
      };
      // 64 KiB events until the socket's buffers are full and the stream's queue passes its bound.
      for (let i = 0; i < 1_000 && !closed; i++) {
        served.hub.emit('call', entry);
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      await expect.poll(() => closed, { timeout: 5_000 }).toBe(true);
      await expect
        .poll(async () => (await call(port, '/api/events')).status, { timeout: 5_000 })
        .toBe(200);
    } finally {
      await served.stop();
    }
  });
});

describe('who a client is, for the rate limits', () => {
  it('believes X-Forwarded-For only from the proxies hub.trustProxy names', async () => {
    const served = await serve({ trustProxy: ['192.0.2.1'] }, TOKEN);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const answer = await call(served.api.port, '/api/endpoints', {
          // Each guess claims to come from somewhere else: it still counts against this peer.
          headers: { authorization: `Bearer guess-${i}`, 'x-forwarded-for': `203.0.113.${i}` },
        });
        statuses.push(answer.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    } finally {
      await served.stop();
    }
  });

  it('counts IPv6 clients per /64, and IPv4-mapped peers as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::2'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
  });

  it('with trustProxy: true, believes proxies on loopback and private networks only', () => {
    for (const peer of [
      '127.0.0.1',
      '::1',
      '10.1.2.3',
      '172.17.0.2',
      '192.168.1.1',
      '::ffff:10.0.0.1',
    ])
      expect(trustsPeer(peer, true)).toBe(true);
    for (const peer of ['203.0.113.1', '8.8.8.8', '2001:db8::1'])
      expect(trustsPeer(peer, true)).toBe(false);
    expect(trustsPeer('10.1.2.3', false)).toBe(false);
    expect(trustsPeer('10.1.2.3', ['10.1.0.0/16'])).toBe(true);
    expect(trustsPeer('10.2.2.3', ['10.1.0.0/16'])).toBe(false);
  });
});
