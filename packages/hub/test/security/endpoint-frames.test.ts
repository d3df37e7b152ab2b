import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Link } from '@tether/link';
import { wsSocketFactory } from '@tether/link/node';
import { EndpointSimulator, waitUntil } from '@tether/testkit';
import { EndpointSession } from '../../src/endpoint/session.js';
import { LinkTransport } from '../../src/endpoint/transport.js';
import { createLogger } from '../../src/log/logger.js';
import { settings, sleepFor, text } from '../endpoint/harness.js';
import type { Handler } from '../endpoint/harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The hub's real logger (redaction included), writing JSON lines into an array. */
function capture() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      raw.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  // Read when asked, so that what a test counts (JSON.parse) is the transport's own work.
  const lines = () => raw.map((line) => JSON.parse(line) as Line);
  return { logger: createLogger({ pretty: false, destination }), lines, raw };
}

const WARN = 40;

/** A link that is only a pipe: frames in through `deliver`, frames out into `sent`. */
function fakeLink() {
  let listener:
    | ((data: string | Uint8Array, meta: { generation: number; binary: boolean }) => void)
    | undefined;
  const sent: string[] = [];
  const link = {
    on(_event: string, fn: typeof listener) {
      listener = fn;
      return () => (listener = undefined);
    },
    send(data: string) {
      sent.push(data);
      return true;
    },
  } as unknown as Link;
  return {
    link,
    sent,
    deliver: (data: string, binary = false) => listener?.(data, { generation: 1, binary }),
  };
}

async function transport() {
  const { logger, lines } = capture();
  const pipe = fakeLink();
  const t = new LinkTransport(pipe.link, 1, logger);
  const forwarded: unknown[] = [];
  t.onmessage = (message) => forwarded.push(message);
  await t.start();
  cleanups.push(() => t.close());
  return { ...pipe, lines, forwarded };
}

describe('an endpoint flooding bad frames', () => {
  it('costs a log line and a summary every 10 s, not a line per frame, while each request is answered', async () => {
    vi.useFakeTimers();
    const { deliver, sent, lines } = await transport();
    for (let i = 0; i < 10_000; i++) deliver('{"jsonrpc":"2.0","id":1.5,"method":"ping"}');
    // Every request still gets its answer…
    expect(sent).toHaveLength(10_000);
    // …but the log got one line, not 10,000.
    const warnings = () => lines().filter((l) => l.level === WARN);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(/malformed/);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ suppressed: 9_999 });
    expect(warnings()[1]!.msg).toMatch(/9999 more/);

    // Quiet for a while: nothing more to say; the next bad frame is logged at once.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(warnings()).toHaveLength(2);
    deliver('not json');
    expect(warnings()).toHaveLength(3);
  });

  it('reads each frame once, however bad', async () => {
    const { deliver, sent, forwarded } = await transport();
    const parse = vi.spyOn(JSON, 'parse');
    deliver('{"jsonrpc":"2.0","method":"notifications/initialized","params":"hello"}');
    deliver('{"jsonrpc":"2.0","id":1.5,"method":"ping"}');
    deliver('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}');
    expect(parse).toHaveBeenCalledTimes(3);
    expect(sent).toHaveLength(1);
    expect(forwarded).toHaveLength(1);
  });

  it('logs a bad response and drops it, unanswered', async () => {
    const { deliver, sent, forwarded, lines } = await transport();
    deliver('{"jsonrpc":"2.0","id":1.5,"result":{}}');
    deliver('{"jsonrpc":"1.0","id":8,"result":{}}');
    expect(sent).toEqual([]);
    expect(forwarded).toEqual([]);
    expect(
      lines()
        .filter((l) => l.level === WARN)
        .map((l) => l.shape),
    ).toContain('response');
  });
});

describe('what the MCP SDK and the session report', () => {
  async function start(
    tools: Record<string, Handler>,
    overrides: Partial<typeof settings> = {},
    token = 'tok-9f8e7d6c5b4a',
  ) {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const { logger, lines, raw } = capture();
    const s = new EndpointSession(
      {
        name: 'test',
        url: sim.url(token),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      },
      {
        logger,
        settings: { ...settings, ...overrides },
        tools: () =>
          Object.keys(tools).map((name) => ({
            name,
            server: 'mem',
            tool: name,
            definition: { name, inputSchema: { type: 'object' } },
          })),
        callTool: (entry, args, options) => tools[entry.name]!(args, options),
        linkOptions: { socketFactory: wsSocketFactory() },
      },
    );
    cleanups.push(() => s.stop());
    s.start();
    await sim.waitForReady({ token, timeoutMs: 5_000 });
    return { sim, session: s, lines, raw, token };
  }

  it('logs an error the SDK reports (a response to an id never sent), with secrets masked', async () => {
    const { sim, raw, token } = await start({ echo: async () => text('hi') });
    sim.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 5, result: { echo: `token=${token}` } }), {
      token,
    });
    await waitUntil(() => raw.some((line) => /unknown message ID/.test(line)), {
      timeoutMs: 2_000,
      what: 'the SDK error in the log',
    });
    expect(raw.join('\n')).not.toContain(token);
    expect(raw.join('\n')).toContain('token=***');
  });

  it('quotes only the start of a megabyte frame the SDK complains about', async () => {
    const { sim, raw, token } = await start({ echo: async () => text('hi') });
    const big = 'z'.repeat(2 ** 20);
    sim.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 5, result: { big } }), { token });
    await waitUntil(() => raw.some((line) => /unknown message ID/.test(line)), {
      timeoutMs: 2_000,
      what: 'the SDK error in the log',
    });
    const line = raw.find((l) => /unknown message ID/.test(l))!;
    expect(line.length).toBeLessThan(8_000);
  });

  it('logs a burst of SDK errors once, and the rest as a count when the session stops', async () => {
    const { sim, session, lines, token } = await start({ echo: async () => text('hi') });
    for (let id = 100; id < 200; id++)
      sim.sendRaw(JSON.stringify({ jsonrpc: '2.0', id, result: {} }), { token });
    expect(await sim.request('ping', {}, { token })).toMatchObject({ ok: true });
    const sdk = () => lines().filter((l) => /unknown message ID/.test(JSON.stringify(l)));
    expect(sdk()).toHaveLength(1);
    await session.stop();
    expect(sdk()).toHaveLength(2);
    expect(sdk()[1]).toMatchObject({ suppressed: 99 });
  });

  it('logs calls refused past the cap once, and the rest as a count', async () => {
    const { sim, session, lines, token } = await start(
      { slow: async (_args, options) => (await sleepFor(500, options.signal), text('done')) },
      { limits: { ...settings.limits, callsPerEndpoint: 1 } },
    );
    const running = sim.callTool('slow', {}, { token });
    await sleepFor(50);
    const refused = await Promise.all(
      Array.from({ length: 20 }, () => sim.callTool('slow', {}, { token })),
    );
    expect(refused.every((r) => r.ok && JSON.stringify(r.result).includes('already running'))).toBe(
      true,
    );
    await running;
    const refusals = () => lines().filter((l) => /call refused/.test(l.msg));
    expect(refusals()).toHaveLength(1);
    await session.stop();
    expect(refusals()).toHaveLength(2);
    expect(refusals()[1]).toMatchObject({ suppressed: 19 });
  });
});
