import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { EndpointSimulator, waitUntil } from '@tether/testkit';
import { status } from '../../src/cli/commands.js';
import { diagnose, renderReport } from '../../src/cli/doctor.js';
import { startHub } from '../../src/cli/start.js';
import { renderEndpoints, renderTools } from '../../src/cli/views.js';
import { printable } from '../../src/log/printable.js';
import type { EndpointView } from '../../src/cli/views.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';

/** Clears the screen and retitles the window, then rings the bell. */
const HOSTILE = '\x1b[2J\x1b]0;pwned\x07';
const HOSTILE_SHOWN = '\\x1b[2J\\x1b]0;pwned\\x07';
/**
 * Anything that would drive a terminal or reorder text: C0, DEL, C1, bidi controls. Newlines are
 * left out: they are the layout of multi-line output, and fields are checked for them apart.
 */
// eslint-disable-next-line no-control-regex -- finding these characters is the test
const DRIVES_TERMINAL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
/** Our own colours, taken off before looking at what the network's text became. */
// eslint-disable-next-line no-control-regex -- the colour escapes start with ESC
const OUR_COLOURS = /\x1b\[[0-9;]*m/g;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('text from the network, on a terminal', () => {
  it('shows control characters, DEL, C1 and bidi overrides as visible escapes', () => {
    expect(printable(HOSTILE)).toBe(HOSTILE_SHOWN);
    expect(printable('a\nb\rc\td\x7f\x9b\x00')).toBe('a\\nb\\rc\\td\\x7f\\x9b\\x00');
    expect(printable('invoice_\u202eexe.txt \u2066x\u2069')).toBe(
      'invoice_\\u202eexe.txt \\u2066x\\u2069',
    );
    expect(printable('line\u2028break')).toBe('line\\u2028break');
  });

  it('leaves Chinese text, emoji and ordinary punctuation as they are', () => {
    const text = '客厅的小智 · 已连接 🎉 (工具: 3) C:\\tools';
    expect(printable(text)).toBe(text);
  });

  it('keeps the lines of multi-line text when asked, and still escapes the rest', () => {
    expect(printable('one\r\ntwo\n\tthree\rfour\x1b[1m', { lines: true })).toBe(
      'one\r\ntwo\n\tthree\\rfour\\x1b[1m',
    );
  });

  it('tether status shows a hostile close reason escaped', async () => {
    const sim = await EndpointSimulator.start({
      tokens: ['good'],
      badToken: { code: 4000, reason: HOSTILE },
    });
    cleanups.push(() => sim.close());
    const dir = mkdtempSync(join(tmpdir(), 'tether-terminal-'));
    const file = join(dir, 'tether.config.json');
    writeFileSync(file, JSON.stringify({ endpoints: [{ name: 'home', url: sim.url('bad') }] }));
    const running = await startHub({
      config: file,
      port: 0,
      logger: silentLogger(),
      env: { TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-home-')) },
    });
    cleanups.push(() => running.stop());
    await waitUntil(() => running.hub.endpoints()[0]?.lastClose?.reason === HOSTILE, {
      timeoutMs: 5_000,
      what: 'the hostile close to reach the hub',
    });
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args) => void out.push(args.join(' ')));
    await status({ url: running.api.url, once: true });
    expect(out.join('\n')).toContain(`last close 4000 ${HOSTILE_SHOWN}`);
    expect(out.join('\n')).not.toMatch(DRIVES_TERMINAL);
  });

  it('the status table and the tool list escape every field a hub sends', () => {
    const endpoint: EndpointView = {
      name: `evil${HOSTILE}`,
      url: 'ws://example.test/\u202egnp.exe',
      state: `backoff${HOSTILE}`,
      since: new Date().toISOString(),
      lastClose: { code: 4000, reason: HOSTILE, at: new Date().toISOString() },
      lastError: `refused\n[12:00:00] INFO: all good${HOSTILE}`,
      attempts: 3,
      nextRetryAt: null,
      tools: 0,
      callsInFlight: 0,
    };
    for (const colour of [false, true]) {
      const table = renderEndpoints([endpoint], colour);
      const text = table.replace(OUR_COLOURS, '');
      expect(text).toContain(`evil${HOSTILE_SHOWN}`);
      expect(text).toContain('\\u202egnp.exe');
      expect(text).toContain('refused\\n[12:00:00] INFO: all good');
      expect(text.split('\n')).toHaveLength(2);
      expect(text).not.toMatch(DRIVES_TERMINAL);
    }
    const tools = renderTools(
      [
        {
          name: `calc__add${HOSTILE}`,
          server: 'calc',
          description: `adds\u202e numbers\n${HOSTILE}`,
          endpoints: [`room${HOSTILE}`],
        },
      ],
      false,
    );
    expect(tools).toContain(`calc__add${HOSTILE_SHOWN}`);
    expect(tools).toContain('adds\\u202e numbers\\n');
    expect(tools).toContain(`room${HOSTILE_SHOWN}`);
    expect(tools).not.toMatch(DRIVES_TERMINAL);
  });

  it('tether doctor shows what a hostile endpoint sent, escaped', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    server.on('connection', (socket) => {
      socket.send(`hello${HOSTILE}\u202e`);
      socket.close(4001, HOSTILE);
    });
    const { port } = server.address() as AddressInfo;
    const report = await diagnose(`ws://127.0.0.1:${port}/mcp/?token=t`, { timeoutMs: 2_000 });
    expect(report.received).toEqual([`hello${HOSTILE}\u202e`]);
    const text = renderReport(report, false);
    expect(text).toContain(`hello${HOSTILE_SHOWN}\\u202e`);
    expect(text).toContain(`endpoint closed with 4001 ${HOSTILE_SHOWN}`);
    expect(text).not.toMatch(DRIVES_TERMINAL);
  });
});

describe('log lines', () => {
  it('a pretty line shows control characters in its message and fields escaped', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ pretty: true, destination });
    logger.warn({ reason: HOSTILE, peer: { name: `x\u202e` } }, `endpoint closed: ${HOSTILE}`);
    logger.error({ err: new Error(`socket said ${HOSTILE}`) }, 'upstream lost');
    const text = lines.join('');
    expect(text).toContain(`endpoint closed: ${HOSTILE_SHOWN}`);
    expect(text).toContain(`reason: "${HOSTILE_SHOWN}"`);
    expect(text).toContain('x\\u202e');
    expect(text).toContain(`socket said ${HOSTILE_SHOWN}`);
    // Only the layout's own line breaks remain.
    expect(text).not.toMatch(DRIVES_TERMINAL);
  });

  it('a JSON line keeps the exact text, for machines (JSON escapes it)', () => {
    const { lines, destination } = capture();
    createLogger({ pretty: false, destination }).warn(`endpoint closed: ${HOSTILE}`);
    expect(JSON.parse(lines[0]!).msg).toBe(`endpoint closed: ${HOSTILE}`);
    expect(lines[0]!.trimEnd()).not.toMatch(DRIVES_TERMINAL);
  });

  it('a URL token or an error carrying it never reaches the logs, JSON or pretty', () => {
    const secret = 'SECRET-5b7e1f0c9a';
    const url = `wss://api.example.test/mcp/?token=${secret}`;
    for (const pretty of [false, true]) {
      const { lines, destination } = capture();
      const logger = createLogger({ pretty, destination });
      logger.warn(`could not reach ${url}`);
      logger.info({ url: 'masked upstream' }, 'connecting to %s', url);
      logger.error({ err: new Error(`fetch ${url} failed`) }, 'upstream lost');
      logger.error(new Error(`Invalid URL: ws://exa mple.test/?token=${secret}`));
      logger.error(
        { err: new Error('retry failed', { cause: new Error(`bad answer from ${url}`) }) },
        'gave up',
      );
      const text = lines.join('\n');
      expect(lines.length).toBeGreaterThanOrEqual(5);
      expect(text).not.toContain(secret);
      if (!pretty) {
        const records = lines.map((l) => JSON.parse(l));
        expect(records[0].msg).toContain('token=');
        expect(records[2].err.stack).toContain('fetch wss://api.example.test/mcp/');
        expect(records[3].msg).toContain('Invalid URL');
      }
    }
  });

  it("leaves the caller's objects as they were", () => {
    const { destination } = capture();
    const fields = { reason: HOSTILE, nested: { url: 'ws://x.test/?token=abcdefgh12345' } };
    const error = new Error(`bad ${HOSTILE}`);
    createLogger({ pretty: true, destination }).warn({ ...fields, err: error }, 'closed');
    expect(fields).toEqual({
      reason: HOSTILE,
      nested: { url: 'ws://x.test/?token=abcdefgh12345' },
    });
    expect(error.message).toBe(`bad ${HOSTILE}`);
  });
});
