import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, ManualClock, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { createApi } from '../../src/http/api.js';
import { silentLogger } from '../../src/log/logger.js';
import { Fleet, fakeStdio, rejection } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A hub with one stdio server `fake` that runs the given script first: `crash_once` makes the
 * first child crash at its first call and every later one exit at once, so after the crash the
 * server stays down (restarting, with the hub's own backoff) for as long as the test needs.
 */
async function hubWithFlakyServer(options: { toolPrefix?: string } = {}) {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const { command, args } = fakeStdioServerParams();
  const marker = `/tmp/tether-restarting-${process.pid}-${Date.now()}`;
  // The first run leaves a marker; a run that finds it exits at once (a crash loop).
  const script = `if [ -e '${marker}' ]; then exit 7; fi; touch '${marker}'; exec "$0" "$@"`;
  const config: TetherConfig = {
    endpoints: [
      {
        name: 'home',
        url: sim.url(),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      },
    ],
    servers: [
      {
        name: 'fake',
        type: 'stdio',
        command: 'sh',
        args: ['-c', script, command, ...args],
        env: {},
        enabled: true,
        ...options,
      },
    ],
    // No reconnect of the endpoint when the tool set changes: the same socket asks.
    hub: {
      ...DEFAULT_HUB,
      port: 0,
      callTimeoutMs: 5_000,
      toolChangeDebounceMs: 600_000,
      earlyReplyMs: 0,
    },
    notifications: [],
  };
  const hub = new Hub(config, { logger: silentLogger() });
  cleanups.push(async () => {
    await hub.stop();
    await import('node:fs/promises').then((fs) => fs.rm(marker, { force: true }));
  });
  await hub.start();
  await sim.waitForReady({ timeoutMs: 10_000 });
  const app = createApi(hub);
  const call = async (name: string) => {
    const response = await app.request('/api/tools/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, arguments: { text: 'x' } }),
    });
    const body = (await response.json()) as { error: { code: string; message: string } };
    return { status: response.status, body };
  };
  // The crash: the server goes away and its tools leave the catalog.
  await sim.callTool(`${options.toolPrefix ?? 'fake'}__crash`, {});
  await waitUntil(() => hub.servers()[0]?.state !== 'ready', { what: 'the crash' });
  return { hub, sim, call };
}

// The hub's own backoff decides the wait (and an attempt may be under way as we ask).
const RESTARTING = /^server fake is restarting \(attempt \d+/;

describe('a call while its server restarts', () => {
  it('says which attempt comes next and when the server is expected back', async () => {
    const fleet = new Fleet();
    cleanups.push(() => fleet.stopAll());
    // The clock stands still: however long the crash takes, the restart stays 3 s away.
    const upstream = await fleet.started(fakeStdio(), {
      restart: { initialMs: 3000, maxMs: 3000, stableMs: 60_000 },
      random: () => 1, // no jitter: the restart is exactly 3 s away
      clock: new ManualClock(),
    });
    await rejection(upstream.callTool('crash', {}, { timeoutMs: 5000 }));
    expect(upstream.status.state).toBe('restarting');
    const error = await rejection(upstream.callTool('echo', { text: 'x' }, { timeoutMs: 5000 }));
    expect(error.code).toBe('UPSTREAM_RESTARTING');
    expect(error.message).toMatch(
      /^server fake is restarting \(attempt 1\); expected back in about 3 s\. Last error: exited with code 1/,
    );
  });

  it('says the server is restarting and when it is expected back, not "Unknown tool" (API)', async () => {
    const { hub, call } = await hubWithFlakyServer();
    expect(hub.tools().some((t) => t.server === 'fake')).toBe(false);
    const answer = await call('fake__echo');
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('UPSTREAM_RESTARTING');
    expect(answer.body.error.message).toMatch(RESTARTING);
    expect(answer.body.error.message).not.toMatch(/unknown tool/i);
  });

  it('says so for a server with its own toolPrefix too, by the name the endpoint was served', async () => {
    const { call } = await hubWithFlakyServer({ toolPrefix: 'fx' });
    const answer = await call('fx__echo');
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('UPSTREAM_RESTARTING');
  });

  it('answers the endpoint with a tool error the model can read (endpoint)', async () => {
    const { sim } = await hubWithFlakyServer();
    const outcome = await sim.callTool('fake__echo', { text: 'x' });
    expect(outcome.ok).toBe(true);
    const result = (outcome as { result: { isError?: boolean; content: Array<{ text: string }> } })
      .result;
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toContain('UPSTREAM_RESTARTING');
    expect(result.content[0]!.text).toMatch(/server fake is restarting \(attempt \d+\)/);
  });

  it('a tool that does not exist still reads as unknown', async () => {
    const { sim, call } = await hubWithFlakyServer();
    // Not one of fake's last listed tools, nor any server's.
    for (const name of ['fake__no_such_tool', 'nobody__echo']) {
      const answer = await call(name);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('UPSTREAM_UNKNOWN_TOOL');
      const outcome = await sim.callTool(name, {});
      expect(outcome.ok).toBe(false);
      expect(JSON.stringify(outcome)).toMatch(/Unknown tool/);
    }
  });
});
