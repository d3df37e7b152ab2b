import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import { Hub } from '../../src/hub.js';
import { createApi } from '../../src/http/api.js';
import { target } from '../../src/http/views.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

/**
 * What a stdio server runs, as the API (and through it the dashboard and `tether server list`)
 * shows it: the command line with the values of credential flags masked, as `tether config get`
 * masks a file's `args`.
 */
const FILE_KEY = 'sk-LIVE-123456789';
const API_KEY = 'sk-ADDED-987654321';
/**
 * The servers are defined switched off: what is checked is the command line the API shows, not
 * what a running program might echo of it on stderr, and nothing waits for one to start.
 */
const command = '/usr/bin/env';
const quiet = ['mcp-server'];

let hub: Hub;
let store: Store;
let app: ReturnType<typeof createApi>;

beforeAll(async () => {
  store = await openStore({ file: ':memory:' });
  await store.migrate();
  hub = new Hub(
    {
      endpoints: [],
      servers: [
        {
          name: 'keyed',
          type: 'stdio',
          command,
          args: [...quiet, '--api-key', FILE_KEY, '--verbose'],
          env: {},
          enabled: false,
        },
      ],
      hub: { ...DEFAULT_HUB, port: 0, callTimeoutMs: 5_000 },
      notifications: [],
    },
    { logger: silentLogger(), store, instance: 'test-instance' },
  );
  await hub.start();
  app = createApi(hub);
});

afterAll(async () => {
  await hub.stop();
  await store.close();
});

describe('a server whose command line holds a key', () => {
  it('is listed by the API with the key masked, the rest of its command line as given', async () => {
    const response = await app.request('/api/servers');
    const text = await response.text();
    expect(text).not.toContain(FILE_KEY);
    const keyed = (JSON.parse(text) as Array<{ name: string; target: string }>).find(
      (s) => s.name === 'keyed',
    )!;
    expect(keyed.target).toMatch(/ --api-key sk-L\*\*\* --verbose$/);
  });

  it('is echoed masked when it is added through the API (`tether server add x -- … --api-key …`)', async () => {
    const response = await app.request('/api/servers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'added',
        type: 'stdio',
        command,
        args: [...quiet, `--token=${API_KEY}`, '--api-key', API_KEY],
        enabled: false,
      }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(201);
    expect(text).not.toContain(API_KEY);
    expect((JSON.parse(text) as { target: string }).target).toMatch(
      / --token=sk-A\*\*\* --api-key sk-A\*\*\*$/,
    );
    expect(await (await app.request('/api/servers')).text()).not.toContain(API_KEY);
    await app.request('/api/servers/added', { method: 'DELETE' });
  });

  it('keeps an ordinary command line readable', () => {
    expect(
      target({
        name: 'files',
        type: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me/notes'],
        env: {},
        enabled: true,
      } as Parameters<typeof target>[0]),
    ).toBe('npx -y @modelcontextprotocol/server-filesystem /home/me/notes');
  });
});

describe('a server that prints its own command line when it fails', () => {
  it('shows its stderr and last error with the key of a credential flag masked', async () => {
    const key = 'sk-ECHOED-555555555';
    const fake = fakeStdioServerParams();
    const echoing = new Hub(
      {
        endpoints: [],
        // The fake refuses `--token=…` as its last word and says so, flag and value, on stderr.
        servers: [
          {
            name: 'echoes',
            type: 'stdio',
            command: fake.command,
            args: [...fake.args, `--token=${key}`],
            env: {},
            enabled: true,
          },
        ],
        hub: { ...DEFAULT_HUB, port: 0, callTimeoutMs: 5_000 },
        notifications: [],
      },
      { logger: silentLogger(), instance: 'test-instance' },
    );
    try {
      await echoing.start();
      await waitUntil(
        () => (echoing.servers()[0]?.stderrTail ?? []).some((line) => line.includes('--token=')),
        { timeoutMs: 10_000, what: 'the server to fail and say why' },
      );
      const status = echoing.servers()[0]!;
      const shown = JSON.stringify(status);
      expect(shown).toContain('--token=');
      expect(shown).not.toContain(key);
    } finally {
      await echoing.stop();
    }
  });
});
