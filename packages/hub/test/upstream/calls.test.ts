import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startFakeHttpServer, waitUntil } from '@tether/testkit';
import type { FakeHttpServer } from '@tether/testkit';
import { Fleet, advance, fakeStdio, httpConfig, rejection, textOf } from './helpers.js';

const fleet = new Fleet();
const servers: FakeHttpServer[] = [];
afterEach(async () => {
  await fleet.stopAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('calling tools', () => {
  it('a call that outlives its timeout fails as a timeout', async () => {
    const clock = new ManualClock();
    const upstream = await fleet.started(fakeStdio(), { clock });
    let settled = false;
    const call = rejection(upstream.callTool('hang', {}, { timeoutMs: 200 })).finally(
      () => (settled = true),
    );
    await advance(clock, 199);
    expect(settled).toBe(false);
    await advance(clock, 1);
    const error = await call;
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(clock.now()).toBe(200);
    // The server is fine afterwards.
    expect(textOf(await upstream.callTool('echo', { text: 'ok' }, { timeoutMs: 5000 }))).toBe('ok');
  });

  it('progress keeps a long call alive past its timeout', async () => {
    // Each progress notification (real, every 50 ms) moves the clock on 200 ms of a 250 ms
    // timeout: only the restarts of the deadline keep the call alive.
    const clock = new ManualClock();
    const upstream = await fleet.started(fakeStdio({ progressEveryMs: 50 }), { clock });
    const progress: number[] = [];
    const result = await upstream.callTool(
      'slow',
      { ms: 800, text: 'done' },
      {
        timeoutMs: 250,
        onProgress: (p) => {
          progress.push(p.progress);
          clock.advance(200);
        },
      },
    );
    expect(textOf(result)).toBe('done');
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(clock.now()).toBeGreaterThanOrEqual(5 * 200);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('aborting a call cancels it on the server', async () => {
    const server = await startFakeHttpServer({ transport: 'http' });
    servers.push(server);
    const upstream = await fleet.started(httpConfig(server.url, 'http'));
    const abort = new AbortController();
    const call = rejection(
      upstream.callTool('slow', { ms: 10_000 }, { timeoutMs: 20_000, signal: abort.signal }),
    );
    await waitUntil(() => server.calls.get('slow') === 1, { what: 'the call to start' });
    abort.abort();
    expect((await call).code).toBe('UPSTREAM_CANCELLED');
    await waitUntil(() => server.cancelled.get('slow') === 1, {
      what: 'the server to count it cancelled',
    });
    // An already aborted signal never reaches the server.
    const again = await rejection(
      upstream.callTool('slow', { ms: 1 }, { timeoutMs: 1000, signal: abort.signal }),
    );
    expect(again.code).toBe('UPSTREAM_CANCELLED');
    expect(server.calls.get('slow')).toBe(1);
  });

  it('an unknown tool is refused without asking the server', async () => {
    const server = await startFakeHttpServer({ transport: 'http' });
    servers.push(server);
    const upstream = await fleet.started(httpConfig(server.url, 'http'));
    const error = await rejection(upstream.callTool('no_such_tool', {}, { timeoutMs: 1000 }));
    expect(error.code).toBe('UPSTREAM_UNKNOWN_TOOL');
    expect([...server.calls.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('a JSON-RPC error keeps its code; an isError result is an ordinary result', async () => {
    const upstream = await fleet.started(fakeStdio());
    const error = await rejection(
      upstream.callTool('fail_rpc', { code: -32042, message: 'quota' }, { timeoutMs: 5000 }),
    );
    expect([error.code, error.rpcCode, error.message]).toEqual([
      'UPSTREAM_RPC_ERROR',
      -32042,
      'quota',
    ]);
    const failed = await upstream.callTool('fail', { message: 'bad input' }, { timeoutMs: 5000 });
    expect(failed).toEqual({ content: [{ type: 'text', text: 'bad input' }], isError: true });
  });
});
