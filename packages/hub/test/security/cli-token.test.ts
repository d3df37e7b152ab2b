import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { HubClient, hubTarget } from '../../src/cli/client.js';
import { call, status, tools, watchEndpoints } from '../../src/cli/commands.js';
import type { LiveView } from '../../src/cli/commands.js';
import { startHub } from '../../src/cli/start.js';
import type { RunningHub } from '../../src/cli/start.js';
import { silentLogger } from '../../src/log/logger.js';

const TOKEN = 'tether-admin-9f2c7e41d0';
const NEEDS_TOKEN = /this hub needs its admin token: set TETHER_ADMIN_TOKEN or pass --token/;
const REFUSED =
  /this hub refused the admin token it was given: check TETHER_ADMIN_TOKEN or --token/;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Everything the CLI prints, however it prints it. */
let printed: string[];
beforeEach(() => {
  // The developer's own shell must not decide these tests.
  vi.stubEnv('TETHER_ADMIN_TOKEN', '');
  vi.stubEnv('TETHER_URL', '');
  printed = [];
  const keep = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  vi.spyOn(console, 'log').mockImplementation(keep);
  vi.spyOn(console, 'error').mockImplementation(keep);
});

/** A hub started with an admin token, its state in a fresh folder, on a free port. */
async function protectedHub(): Promise<{
  running: RunningHub;
  url: string;
  sim: EndpointSimulator;
}> {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const dir = mkdtempSync(join(tmpdir(), 'tether-cli-token-'));
  const file = join(dir, 'tether.config.json');
  const { command, args } = fakeStdioServerParams();
  writeFileSync(
    file,
    JSON.stringify({
      endpoints: [{ name: 'home', url: sim.url() }],
      mcpServers: { fake: { command, args } },
    }),
  );
  const running = await startHub({
    config: file,
    port: 0,
    logger: silentLogger(),
    env: { TETHER_ADMIN_TOKEN: TOKEN, TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-home-')) },
  });
  cleanups.push(() => running.stop());
  await sim.waitForReady({ timeoutMs: 10_000 });
  await waitUntil(() => running.hub.tools().some((t) => t.name === 'fake__add'), {
    timeoutMs: 10_000,
    what: 'the fake server to be ready',
  });
  return { running, url: running.api.url, sim };
}

/** A message of a failure, which must be just as free of the token as the output. */
async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('expected the command to fail');
  printed.push(error.message);
  return error.message;
}

function expectTokenNowhere() {
  expect(printed.length).toBeGreaterThan(0);
  for (const line of printed) expect(line).not.toContain(TOKEN);
}

// Each test starts a hub (its own waits are bounded at 10 s each) and then waits again: the
// test's limit must exceed the sum of its bounds, or a loaded machine reads as a hang.
describe('the CLI against a hub that has an admin token', { timeout: 45_000 }, () => {
  it('without the token, status, tools and call say how to log in', async () => {
    const { url } = await protectedHub();
    expect(await failure(status({ url, once: true }))).toMatch(NEEDS_TOKEN);
    expect(await failure(status({ url, json: true }))).toMatch(NEEDS_TOKEN);
    expect(await failure(tools({ url }))).toMatch(NEEDS_TOKEN);
    expect(await failure(call('fake__add', { url, args: '{"a":1,"b":2}' }))).toMatch(NEEDS_TOKEN);
  });

  it('with --token, status, tools and call work, and the token is printed nowhere', async () => {
    const { url } = await protectedHub();
    await status({ url, token: TOKEN, once: true });
    expect(printed.at(-1)).toMatch(/^home\s+ready/);
    await status({ url, token: TOKEN, json: true });
    expect(JSON.parse(printed.at(-1)!)[0]).toMatchObject({ name: 'home', state: 'ready' });
    await tools({ url, token: TOKEN });
    expect(printed.at(-1)).toContain('fake__add');
    await tools({ url, token: TOKEN, json: true });
    expect(JSON.parse(printed.at(-1)!).map((t: { name: string }) => t.name)).toContain('fake__add');
    await call('fake__add', { url, token: TOKEN, args: '{"a":40,"b":2}' });
    expect(printed.at(-1)).toBe('42');
    expectTokenNowhere();
  });

  it('with TETHER_ADMIN_TOKEN and TETHER_URL set, no flag is needed', async () => {
    const { url } = await protectedHub();
    vi.stubEnv('TETHER_ADMIN_TOKEN', TOKEN);
    vi.stubEnv('TETHER_URL', url);
    await status({ once: true });
    expect(printed.at(-1)).toMatch(/^home\s+ready/);
    await tools({});
    expect(printed.at(-1)).toContain('fake__add');
    await call('fake__add', { args: '{"a":1,"b":2}' });
    expect(printed.at(-1)).toBe('3');
    expectTokenNowhere();
  });

  it('--token wins over TETHER_ADMIN_TOKEN, and a wrong token is named as such', async () => {
    const { url } = await protectedHub();
    vi.stubEnv('TETHER_ADMIN_TOKEN', 'a-stale-token-from-the-shell');
    await tools({ url, token: TOKEN });
    expect(printed.at(-1)).toContain('fake__add');
    vi.stubEnv('TETHER_ADMIN_TOKEN', TOKEN);
    const message = await failure(tools({ url, token: 'a-wrong-token-on-the-line' }));
    expect(message).toMatch(REFUSED);
    expect(message).not.toContain('a-wrong-token-on-the-line');
    expectTokenNowhere();
  });

  it('the live status follows the event stream with the token, and stops when it has none', async () => {
    const { url, sim } = await protectedHub();
    const stop = new AbortController();
    cleanups.push(() => stop.abort());

    const refused = watchEndpoints(new HubClient(hubTarget({ url })), () => {}, stop.signal);
    expect(await failure(refused)).toMatch(NEEDS_TOKEN);

    const views: LiveView[] = [];
    const watching = watchEndpoints(
      new HubClient(hubTarget({ url, token: TOKEN })),
      (view) => views.push(view),
      stop.signal,
    );
    await waitUntil(() => views.at(-1)?.endpoints[0]?.state === 'ready', {
      timeoutMs: 5_000,
      what: 'the live view to show the endpoint ready',
    });
    // A drop and the reconnect arrive as events on the open stream, not by asking again.
    const before = views.length;
    sim.closeSockets({ code: 4000, reason: 'going away for a moment' });
    await waitUntil(
      () =>
        views.slice(before).some((v) => v.endpoints[0]?.state !== 'ready') &&
        views.at(-1)?.endpoints[0]?.state === 'ready',
      { timeoutMs: 5_000, what: 'the live view to show the drop and the reconnect' },
    );
    expect(views.at(-1)?.endpoints[0]?.lastClose).toMatchObject({ code: 4000 });
    stop.abort();
    await watching;
    expect(views.every((v) => v.problem === undefined)).toBe(true);
  });
});

/** A server on loopback that plays a hub, recording the headers it was sent. */
async function fakeHub(
  answer: (seen: IncomingHttpHeaders, res: ServerResponse) => void,
): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    answer(req.headers, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen };
}

describe('the admin token stays with the CLI', () => {
  it('is masked when a hub echoes it back in an error', async () => {
    const echo = await fakeHub((headers, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'BOOM', message: `you sent ${String(headers.authorization)}` },
        }),
      );
    });
    const message = await failure(tools({ url: echo.url, token: TOKEN }));
    expect(message).toMatch(/^BOOM: you sent/);
    expect(echo.seen[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expectTokenNowhere();
  });

  it('does not follow a redirect to another address', async () => {
    const elsewhere = await fakeHub((_headers, res) => res.end('[]'));
    const redirecting = await fakeHub((_headers, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/api/tools` });
      res.end();
    });
    const message = await failure(tools({ url: redirecting.url, token: TOKEN }));
    expect(message).toMatch(/cannot reach the hub/);
    expect(elsewhere.seen).toEqual([]);
    expectTokenNowhere();
  });

  it('refuses a token a header cannot carry, without quoting it', async () => {
    const message = await failure(tools({ url: 'http://127.0.0.1:9', token: `${TOKEN}\n` }));
    expect(message).toMatch(/admin token must be printable ASCII/);
    expectTokenNowhere();
  });
});
