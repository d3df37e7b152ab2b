import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testkit';
import type { StdioServerConfig } from '../../src/config/types.js';
import { Fleet, stdioConfig } from '../upstream/helpers.js';

const fleet = new Fleet();
afterEach(() => fleet.stopAll());

/**
 * A stdio MCP server whose tools/list answers are made by `page` (the body of a function of the
 * cursor number: 0 first, then whatever number the previous page's nextCursor said), written
 * in plain JavaScript. It writes "list <cursor>" on stderr for every tools/list it answers.
 */
function lister(page: string): StdioServerConfig {
  const server = `
    const page = (n) => { ${page} };
    const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
    const lines = require('node:readline').createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const m = JSON.parse(line);
      if (m.id === undefined) return;
      if (m.method === 'initialize') {
        send({ jsonrpc: '2.0', id: m.id, result: {
          protocolVersion: m.params.protocolVersion,
          capabilities: { tools: { listChanged: true } },
          serverInfo: { name: 'lister', version: '1.0.0' },
        } });
      } else if (m.method === 'tools/list') {
        const cursor = m.params && m.params.cursor !== undefined ? Number(m.params.cursor) : 0;
        process.stderr.write('list ' + cursor + '\\n');
        send({ jsonrpc: '2.0', id: m.id, result: page(cursor) });
      } else {
        send({ jsonrpc: '2.0', id: m.id, result: {} });
      }
    });
    process.stdin.on('end', () => process.exit(0));
  `;
  return stdioConfig({ name: 'lister', command: process.execPath, args: ['-e', server] });
}

/** `count` tools named `t<from>`, `t<from+1>`, … as JavaScript source. */
const toolsSource = (from: string, count: string, extra = '') =>
  `Array.from({ length: ${count} }, (_, i) => ({ name: 't' + (${from} + i), inputSchema: { type: 'object' }${extra} }))`;

/** Every log line the upstream writes. */
function capturedLogs(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join('') };
}

/** Listing a big list on a busy machine may take a while; what is tested is what is kept. */
const ROOMY = { listTimeoutMs: 20_000 };
const started = (config: StdioServerConfig) => fleet.started(config, ROOMY);

const listings = (stderr: readonly string[]): number =>
  stderr.filter((line) => line.startsWith('list ')).length;

describe('a server that lists more tools than the hub keeps', () => {
  it('with a million tools: the first 2,000 are kept, no more pages are asked for, and the status says so', async () => {
    // 100 pages of 10,000 tools.
    const logs = capturedLogs();
    const upstream = await fleet.started(
      lister(
        `return { tools: ${toolsSource('n * 10000', '10000')}, ...(n < 99 && { nextCursor: String(n + 1) }) };`,
      ),
      { logger: logs.logger, ...ROOMY },
    );
    expect(upstream.status.state).toBe('ready');
    expect(upstream.tools).toHaveLength(2_000);
    expect(upstream.tools[0]?.name).toBe('t0');
    expect(upstream.tools.at(-1)?.name).toBe('t1999');
    expect(upstream.status.lastError).toMatch(/more than 2,000 tools/);
    expect(listings(upstream.status.stderrTail)).toBe(1);
    expect(logs.text()).toMatch(/more than 2,000 tools/);
  });

  it('with a nextCursor forever: listing stops after 100 pages, keeping their tools', async () => {
    const upstream = await started(
      lister(`return { tools: ${toolsSource('n', '1')}, nextCursor: String(n + 1) };`),
    );
    expect(upstream.status.state).toBe('ready');
    expect(upstream.tools).toHaveLength(100);
    expect(upstream.status.lastError).toMatch(/100 pages/);
    await waitUntil(() => upstream.status.stderrTail.includes('list 99'), {
      what: 'the 100th listing on stderr',
    });
    expect(upstream.status.stderrTail).not.toContain('list 100');
    expect(upstream.status.restarts).toBe(0);
  });

  it('with the same nextCursor again and again: listing stops, keeping the tools listed so far', async () => {
    const upstream = await started(
      lister(`return { tools: ${toolsSource('n', '1')}, nextCursor: '1' };`),
    );
    expect(upstream.status.state).toBe('ready');
    expect(upstream.tools.map((t) => t.name)).toEqual(['t0', 't1']);
    expect(upstream.status.lastError).toMatch(/cursor it had sent before/);
  });
});

describe('a server whose list comes back within the limits', () => {
  it('after a list_changed: the tools are all kept and the status stops saying some were left out', async () => {
    const upstream = await started(
      lister(`
        globalThis.lists = (globalThis.lists ?? 0) + 1;
        const echo = { name: 'echo', inputSchema: { type: 'object' } };
        if (globalThis.lists > 1) return { tools: [echo, { name: 'second', inputSchema: {} }] };
        setTimeout(() => send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }), 200);
        return { tools: [echo, { name: 'n'.repeat(200), inputSchema: {} }] };
      `),
    );
    expect(upstream.tools.map((t) => t.name)).toEqual(['echo']);
    expect(upstream.status.lastError).toMatch(/over 128 characters/);
    const states: Array<string | undefined> = [];
    upstream.on('state', (status) => states.push(status.lastError));
    await waitUntil(() => upstream.tools.length === 2, { what: 'the second listing' });
    expect(upstream.tools.map((t) => t.name)).toEqual(['echo', 'second']);
    expect(upstream.status.lastError).toBeUndefined();
    expect(states).toEqual([undefined]);
  });
});

describe('a tool too big to keep', () => {
  it('a 5 MB description or a 200-character name: that tool is left out, by name, and the others work', async () => {
    const upstream = await started(
      lister(`return { tools: [
        { name: 'huge_doc', description: 'x'.repeat(5000000), inputSchema: { type: 'object' } },
        { name: 'n'.repeat(200), inputSchema: { type: 'object' } },
        { name: 'echo', description: 'Echoes.', inputSchema: { type: 'object' } },
      ] };`),
    );
    expect(upstream.status.state).toBe('ready');
    expect(upstream.tools.map((t) => t.name)).toEqual(['echo']);
    const why = upstream.status.lastError ?? '';
    expect(why).toMatch(/huge_doc \(4\.8 MiB\)/);
    expect(why).toMatch(/64 KiB/);
    expect(why).toMatch(/over 128 characters/);
    expect(why.length).toBeLessThan(1000);
  });

  it('tools that are each fine but add up to over 8 MiB: those that fit are kept', async () => {
    // 4 pages of 50 tools of about 60 KiB each: 12 MiB in all.
    const upstream = await started(
      lister(
        `return { tools: ${toolsSource('n * 50', '50', ", description: 'd'.repeat(60000)")}, ...(n < 3 && { nextCursor: String(n + 1) }) };`,
      ),
    );
    expect(upstream.status.state).toBe('ready');
    const bytes = upstream.tools.reduce((sum, t) => sum + JSON.stringify(t).length, 0);
    expect(bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(upstream.tools.length).toBeGreaterThan(130);
    expect(upstream.tools.length).toBeLessThan(200);
    expect(upstream.status.lastError).toMatch(/8 MiB/);
  });

  it('a list within every limit is kept whole and says nothing', async () => {
    const upstream = await started(
      lister(
        `return { tools: ${toolsSource('n * 100', '100')}, ...(n < 9 && { nextCursor: String(n + 1) }) };`,
      ),
    );
    expect(upstream.tools).toHaveLength(1_000);
    expect(upstream.status.lastError).toBeUndefined();
  });
});
