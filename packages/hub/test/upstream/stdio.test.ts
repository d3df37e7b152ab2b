import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeStdioServerParams, waitUntil } from '@tether/testkit';
import type { UpstreamTool } from '../../src/upstream/index.js';
import { Fleet, fakeStdio, rejection, stdioConfig, textOf } from './helpers.js';

const fleet = new Fleet();
afterEach(() => fleet.stopAll());

const names = (tools: readonly UpstreamTool[]): string[] => tools.map((t) => t.name);

describe('a stdio upstream', () => {
  it('starts, lists its tools and answers calls', async () => {
    const upstream = await fleet.started(fakeStdio());
    expect(upstream.status).toMatchObject({
      name: 'fake',
      type: 'stdio',
      state: 'ready',
      restarts: 0,
    });
    expect(upstream.status.pid).toBeGreaterThan(0);
    expect(names(upstream.tools)).toEqual(expect.arrayContaining(['echo', 'add', 'slow', 'crash']));
    // Tools arrive as listed: the input schema is the server's JSON Schema, untouched.
    const echo = upstream.tools.find((t) => t.name === 'echo');
    expect(echo?.inputSchema).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string' } },
    });
    const result = await upstream.callTool('add', { a: 2, b: 40 }, { timeoutMs: 5000 });
    expect(textOf(result)).toBe('42');
  });

  it('gets every tool of a paginated list', async () => {
    const upstream = await fleet.started(fakeStdio({ extraTools: 25, pageSize: 7 }));
    // 10 built-in tools (expire_sessions exists over HTTP only) + 25 extra, over 5 pages.
    expect(upstream.tools).toHaveLength(35);
    expect(new Set(names(upstream.tools)).size).toBe(35);
    expect(names(upstream.tools)).toContain('tool_024');
  });

  it('announces a changed tool list with the new list, and only when it changed', async () => {
    const upstream = await fleet.started(fakeStdio());
    const seen: string[][] = [];
    upstream.on('tools', (tools) => seen.push(names(tools)));
    await upstream.callTool(
      'tools_change',
      { add: ['weather'], remove: ['add'] },
      { timeoutMs: 5000 },
    );
    await waitUntil(() => seen.length === 1, { timeoutMs: 3000, what: 'a tools event' });
    expect(seen[0]).toContain('weather');
    expect(seen[0]).not.toContain('add');
    expect(names(upstream.tools)).toEqual(seen[0]);
    expect(upstream.status.tools).toBe(seen[0]?.length);
    const weather = await upstream.callTool('weather', { text: 'sunny' }, { timeoutMs: 5000 });
    expect(textOf(weather)).toBe('sunny');
    // Asking to add what is there already changes nothing; no event follows.
    await upstream.callTool('tools_change', { add: ['weather'] }, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(1);
  });

  it('gives the child the hub environment plus its own, in its working directory', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tether-cwd-')));
    // Not TETHER_*: those are the hub's own and withheld (test/security/upstream-env.test.ts).
    process.env.HUB_TEST_PARENT = 'from-parent';
    const { command, args } = fakeStdioServerParams();
    const script = `echo "env:$HUB_TEST_PARENT:$TETHER_TEST_OWN cwd:$(pwd)" >&2; exec "$0" "$@"`;
    try {
      const upstream = await fleet.started(
        stdioConfig({
          command: 'sh',
          args: ['-c', script, command, ...args],
          env: { TETHER_TEST_OWN: 'own' },
          cwd: dir,
        }),
      );
      await waitUntil(() => upstream.status.stderrTail.length > 0, { what: 'the stderr line' });
      expect(upstream.status.stderrTail[0]).toBe(`env:from-parent:own cwd:${dir}`);
    } finally {
      delete process.env.HUB_TEST_PARENT;
    }
  });

  it('captures what the server writes on stderr, line by line', async () => {
    const upstream = fleet.make(fakeStdio({}, ['--noisy-stderr', '10']));
    const lines: string[] = [];
    upstream.on('stderr', (line) => lines.push(line));
    await upstream.start();
    await upstream.callTool('echo', { text: 'x' }, { timeoutMs: 5000 });
    await waitUntil(() => lines.length >= 5, { what: 'five stderr lines' });
    expect(lines.some((l) => l.endsWith('call echo'))).toBe(true);
    expect(lines.every((l) => /^\[fake-mcp \d+\] (tick \d+|call echo)$/.test(l))).toBe(true);
    expect(upstream.status.stderrTail).toEqual(lines.slice(-100));
    await waitUntil(() => upstream.status.stderrTail.length === 100, {
      timeoutMs: 8000,
      what: '100 lines',
    });
    expect(lines.length).toBeGreaterThanOrEqual(100);
    expect(upstream.status.stderrTail).toEqual(lines.slice(-100));
  });

  it('a crash mid-call fails the call as unavailable, then the server is back with its tools', async () => {
    const upstream = await fleet.started(fakeStdio());
    const firstPid = upstream.status.pid;
    const slow = rejection(upstream.callTool('slow', { ms: 5000 }, { timeoutMs: 10_000 }));
    const crash = rejection(upstream.callTool('crash', {}, { timeoutMs: 10_000 }));
    expect((await crash).code).toBe('UPSTREAM_UNAVAILABLE');
    expect((await slow).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(upstream.status.state).toBe('restarting');
    expect(upstream.status.lastError).toMatch(/^exited with code 1/);
    // While it restarts, calls fail fast instead of waiting, saying so.
    expect(
      (await rejection(upstream.callTool('echo', { text: 'x' }, { timeoutMs: 5000 }))).code,
    ).toBe('UPSTREAM_RESTARTING');
    await waitUntil(() => upstream.status.state === 'ready', { what: 'the restart' });
    expect(upstream.status.restarts).toBe(1);
    expect(upstream.status.pid).not.toBe(firstPid);
    expect(names(upstream.tools)).toContain('echo');
    expect(textOf(await upstream.callTool('echo', { text: 'back' }, { timeoutMs: 5000 }))).toBe(
      'back',
    );
  });

  it('garbage on stdout is logged and skipped, never fatal', async () => {
    const logged: Array<{ msg?: string; line?: string }> = [];
    const logger = pino(
      { level: 'warn' },
      { write: (raw: string) => void logged.push(JSON.parse(raw)) },
    );
    const { command, args } = fakeStdioServerParams();
    const script = `echo 'booting…'; echo '{"jsonrpc":"2.0","oops":1}'; exec "$0" "$@"`;
    const upstream = await fleet.started(
      stdioConfig({ command: 'sh', args: ['-c', script, command, ...args] }),
      { logger },
    );
    expect(textOf(await upstream.callTool('echo', { text: 'fine' }, { timeoutMs: 5000 }))).toBe(
      'fine',
    );
    const skipped = logged.filter((l) => l.msg === 'skipped a stdout line that is not JSON-RPC');
    expect(skipped.map((l) => l.line)).toEqual(['booting…', '{"jsonrpc":"2.0","oops":1}']);
  });

  it('a missing command fails with a reason and keeps being retried', async () => {
    const upstream = fleet.make(stdioConfig({ command: '/nonexistent/tether-server', args: [] }));
    await upstream.start();
    expect(upstream.status.state).toBe('restarting');
    expect(upstream.status.lastError).toMatch(/ENOENT/);
    await waitUntil(() => upstream.status.restarts >= 2, { what: 'two retries' });
  });
});
