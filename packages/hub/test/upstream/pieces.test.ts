import { describe, expect, it } from 'vitest';
import { QUICK_RESTARTS, isFailing, restartDelay } from '../../src/upstream/backoff.js';
import { LineSplitter, Tail } from '../../src/upstream/lines.js';
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
});

describe('line splitting', () => {
  it('joins chunks into lines and strips CR', () => {
    const lines = new LineSplitter(100);
    expect(lines.push('ab')).toEqual([]);
    expect(lines.push('c\r\nd\ne')).toEqual(['abc', 'd']);
    expect(lines.flush()).toBe('e');
    expect(lines.flush()).toBeUndefined();
  });

  it('drops a line longer than the limit and carries on with the next', () => {
    const overflows: number[] = [];
    const lines = new LineSplitter(5, (n) => overflows.push(n));
    expect(lines.push('0123')).toEqual([]);
    expect(lines.push('456789')).toEqual([]);
    expect(lines.push('xx\nok\n')).toEqual(['ok']);
    expect(overflows).toHaveLength(1);
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
