import { describe, expect, it } from 'vitest';
import { QUICK_RESTARTS, isFailing, restartDelay } from '../../src/upstream/backoff.js';
import { KEEP_BYTES, LineSplitter, Tail } from '../../src/upstream/lines.js';
import type { Oversized } from '../../src/upstream/lines.js';
import { toUpstreamError, isSessionGone } from '../../src/upstream/errors.js';
import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';

const policy = { initialMs: 1000, maxMs: 60_000, stableMs: 60_000 };

describe('restart delays', () => {
  it('double from initialMs, then hold at maxMs once the server is failing', () => {
    const top = () => 1;
    const delays = Array.from({ length: 9 }, (_, i) => restartDelay(i + 1, policy, top));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 60_000, 60_000, 60_000, 60_000]);
    expect(isFailing(QUICK_RESTARTS)).toBe(false);
    expect(isFailing(QUICK_RESTARTS + 1)).toBe(true);
  });

  it('are jittered within [half, whole] of the step', () => {
    expect(restartDelay(3, policy, () => 0)).toBe(2000);
    expect(restartDelay(3, policy, () => 0.5)).toBe(3000);
    expect(restartDelay(20, { ...policy, maxMs: 5000 }, () => 0)).toBe(2500);
  });

  it('equal initialMs·2^(n−1) capped at maxMs, maxMs once failing, drawn in [½d, d], for failures 1–10', () => {
    const draws = [0, 0.1, 0.25, 0.5, 0.618, 0.75, 0.9, 0.999_999, 0.3, 0.42];
    const delays = draws.map((r, i) => restartDelay(i + 1, policy, () => r));
    const formula = draws.map((r, i) => {
      const n = i + 1;
      const d = n > QUICK_RESTARTS ? policy.maxMs : Math.min(policy.maxMs, 1000 * 2 ** (n - 1));
      return Math.round(d / 2 + (r * d) / 2);
    });
    expect(delays).toEqual(formula);
  });
});

describe('line splitting', () => {
  const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

  it('joins chunks into lines and strips CR', () => {
    const lines = new LineSplitter(100);
    expect(lines.push(bytes('ab'))).toEqual([]);
    expect(lines.push(bytes('c\r\nd\ne'))).toEqual(['abc', 'd']);
    expect(lines.flush()).toBe('e');
    expect(lines.flush()).toBeUndefined();
  });

  it('decodes a character split across chunks', () => {
    const lines = new LineSplitter(100);
    const euro = bytes('€\n');
    expect(lines.push(euro.subarray(0, 1))).toEqual([]);
    expect(lines.push(euro.subarray(1))).toEqual(['€']);
  });

  it('drops a line longer than the limit, keeps its ends, and carries on with the next', () => {
    const overflows: Oversized[] = [];
    const lines = new LineSplitter(5, (o) => overflows.push(o));
    expect(lines.push(bytes('0123'))).toEqual([]);
    expect(lines.push(bytes('456789'))).toEqual([]);
    expect(lines.push(bytes('xx\nok\n'))).toEqual(['ok']);
    expect(overflows).toEqual([{ bytes: 12, head: '0123456789xx', tail: '0123456789xx' }]);
  });

  it('counts bytes, not characters, and checks the piece that ends a line too', () => {
    const overflows: Oversized[] = [];
    const lines = new LineSplitter(5, (o) => overflows.push(o));
    // Two characters, six bytes, arriving with their newline.
    expect(lines.push(bytes('€€\nok\n'))).toEqual(['ok']);
    expect(overflows.map((o) => o.bytes)).toEqual([6]);
  });

  it('keeps only a small head and tail of a huge line', () => {
    const overflows: Oversized[] = [];
    const lines = new LineSplitter(1000, (o) => overflows.push(o));
    lines.push(bytes('{"jsonrpc":"2.0","id":7,"result":"'));
    for (let i = 0; i < 100; i++) lines.push(bytes('x'.repeat(10_000)));
    lines.push(bytes('"}\n'));
    const [line] = overflows;
    expect(line?.bytes).toBe(1_000_036);
    expect(line?.head.length).toBe(KEEP_BYTES);
    expect(line?.head.startsWith('{"jsonrpc":"2.0","id":7,')).toBe(true);
    expect(line?.tail).toBe(`${'x'.repeat(KEEP_BYTES - 2)}"}`);
  });

  it('keeps only the last lines', () => {
    const tail = new Tail<number>(3);
    for (let i = 0; i < 10; i++) tail.push(i);
    expect(tail.toArray()).toEqual([7, 8, 9]);
    expect(tail.last()).toBe(9);
  });
});

describe('error mapping', () => {
  it('reads cancellation from the caller signal, since the SDK reports an abort as a timeout', () => {
    const abort = new AbortController();
    abort.abort();
    const sdkAbort = new SdkError(SdkErrorCode.RequestTimeout, 'AbortError');
    expect(toUpstreamError(sdkAbort, abort.signal).code).toBe('UPSTREAM_CANCELLED');
    expect(toUpstreamError(sdkAbort).code).toBe('UPSTREAM_TIMEOUT');
  });

  it('keeps the JSON-RPC code and treats closed connections as unavailable', () => {
    const rpc = toUpstreamError(new ProtocolError(-32042, 'nope'));
    expect([rpc.code, rpc.rpcCode]).toEqual(['UPSTREAM_RPC_ERROR', -32042]);
    const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
    expect(toUpstreamError(closed).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('recognises an expired session in both HTTP transports', () => {
    const streamable = new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'x', {
      status: 404,
    });
    expect(isSessionGone(streamable)).toBe(true);
    expect(isSessionGone(new Error('Error POSTing to endpoint (HTTP 404): gone'))).toBe(true);
    expect(
      isSessionGone(new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'x', { status: 500 })),
    ).toBe(false);
  });
});
