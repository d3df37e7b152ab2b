import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { Hub } from '../../src/hub.js';
import { createApi } from '../../src/http/api.js';
import { listen } from '../../src/http/server.js';
import { createLogger } from '../../src/log/logger.js';
import { loadKey, openStore, withEncryptedSecrets } from '../../src/store/index.js';

const SECRET = 'SECRET-TOKEN-42';
// A space in the host: `new URL` throws, and its message quotes the whole URL.
const BAD_URL = `ws://exa mple.test/mcp/?token=${SECRET}`;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('a token in a URL that new URL cannot parse', () => {
  it('is absent from the API, the event stream, the logs, the database and the timeline', async () => {
    expect(() => new URL(BAD_URL)).toThrow();
    const home = mkdtempSync(join(tmpdir(), 'tether-redact-'));
    // As `tether start` does: definitions sealed at rest, so only status and history could leak.
    const store = withEncryptedSecrets(
      await openStore({ home }),
      loadKey({ file: join(home, 'secret.key') }),
    );
    await store.migrate();
    let logs = '';
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    const hub = new Hub(
      {
        endpoints: [
          {
            name: 'bad',
            url: BAD_URL,
            enabled: true,
            tools: { include: ['*'], exclude: [] },
            source: 'file',
          },
        ],
        servers: [],
        hub: { ...DEFAULT_HUB, port: 0 },
        notifications: [],
      },
      { logger: createLogger({ destination, level: 'debug' }), store, instance: 'redact-test' },
    );
    const api = await listen(createApi(hub), '127.0.0.1', 0);
    cleanups.push(
      () => store.close(),
      () => api.close(),
    );

    // The event stream is open before anything happens, so it sees every change.
    let events = '';
    const stream = request({ host: '127.0.0.1', port: api.port, path: '/api/events' }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (events += chunk));
    });
    stream.on('error', () => {});
    stream.end();
    cleanups.push(() => stream.destroy());
    await waitUntil(() => events.includes('hello'), { what: 'the event stream' });

    await hub.start();
    cleanups.push(() => hub.stop());
    await waitUntil(() => hub.endpoints()[0]?.lastError != null, { what: 'a failed attempt' });
    await hub.retry('bad');
    await waitUntil(() => events.includes('"endpoint"'), { what: 'an endpoint event' });

    const endpoints = await get(api.port, '/api/endpoints');
    const timeline = await get(api.port, '/api/endpoints/bad/timeline');
    expect(JSON.parse(endpoints)[0].lastError).toMatch(/Invalid URL/);
    await hub.stop();
    await store.close().catch(() => {});

    const database = readdirSync(home)
      .filter((f) => f.startsWith('tether.db'))
      .map((f) => readFileSync(join(home, f)).toString('latin1'))
      .join('');
    expect(database).toContain('Invalid URL');
    for (const [where, text] of Object.entries({ endpoints, timeline, events, logs, database }))
      expect([where, text.includes(SECRET)]).toEqual([where, false]);
  });
});
