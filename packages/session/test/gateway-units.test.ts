import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  bodyOfUpstreamFrame,
  shownUrl,
  upstreamFrameOfBody,
  upstreamTarget,
} from '../src/gateway/index.js';
import { forwardedHeaderNames, forwardedHeaders } from '../src/gateway/target.js';
import { closeReason } from '../src/gateway/transport.js';

describe('the session gateway, piece by piece', () => {
  it('pins the exports of @tether/session/gateway', async () => {
    const gateway = await import('../src/gateway/index.js');
    expect(Object.keys(gateway).sort()).toEqual([
      'DEFAULT_FORWARDED_HEADERS',
      'SessionGateway',
      'bodyOfUpstreamFrame',
      'describeLoss',
      'shownUrl',
      'upstreamFrameOfBody',
      'upstreamTarget',
    ]);
  });

  it.each([
    ['ws://up:9000', '/', 'ws://up:9000/'],
    ['ws://up:9000/base', '/', 'ws://up:9000/base'],
    ['ws://up:9000/base/', '/chat', 'ws://up:9000/base/chat'],
    ['ws://up:9000/base?app=1', '/chat/7?lang=fr', 'ws://up:9000/base/chat/7?app=1&lang=fr'],
    ['ws://up:9000/?app=1', '/?x=a%20b&y', 'ws://up:9000/?app=1&x=a%20b&y'],
    // A client cannot climb out of the upstream's path, however it spells the dots.
    ['ws://up:9000/base', '/../admin', 'ws://up:9000/base/admin'],
    ['ws://up:9000/base', '/%2e%2e/admin', 'ws://up:9000/base/admin'],
  ])('joins %s and the client path %s into %s', (upstream, path, expected) => {
    expect(upstreamTarget(new URL(upstream), path).href).toBe(expected);
  });

  it('shows URLs without query values or passwords', () => {
    expect(shownUrl('wss://me:pw@up.example/mcp/?token=eyJhbGci&lang=fr&flag')).toBe(
      'wss://me:***@up.example/mcp/?token=***&lang=***&flag',
    );
    expect(shownUrl('not a url')).toBe('(not a URL)');
  });

  it('maps frames to bodies and back', () => {
    expect(bodyOfUpstreamFrame(Buffer.from('{"a": 1}'), false)).toBe('{"a": 1}');
    expect(bodyOfUpstreamFrame([Buffer.from('a'), Buffer.from('b')], false)).toBe('ab');
    expect(bodyOfUpstreamFrame(Buffer.from([1, 2]), true)).toEqual({ $binary: 'AQI=' });
    expect(upstreamFrameOfBody('{"a": 1}')).toEqual({ data: '{"a": 1}', binary: false });
    expect(upstreamFrameOfBody({ a: [1, 'x'] })).toEqual({ data: '{"a":[1,"x"]}', binary: false });
    expect(upstreamFrameOfBody(false)).toEqual({ data: 'false', binary: false });
    const binary = upstreamFrameOfBody({ $binary: 'AQI=' });
    expect(binary.binary).toBe(true);
    expect([...(binary.data as Buffer)]).toEqual([1, 2]);
    expect(upstreamFrameOfBody({ $binary: 'AQI' }).binary).toBe(false); // not canonical
    expect(upstreamFrameOfBody({ $binary: 7 }).binary).toBe(false);
    expect(upstreamFrameOfBody([{ $binary: 'AQI=' }]).binary).toBe(false);
  });

  it('forwards the named headers, appending the peer to X-Forwarded-For', () => {
    const request = {
      headers: { authorization: 'Bearer x', cookie: 'a=1', 'x-other': 'y' },
      socket: { remoteAddress: '192.0.2.7' },
    } as unknown as IncomingMessage;
    expect(
      forwardedHeaders(
        request,
        forwardedHeaderNames(['Authorization', 'X-Forwarded-For', 'X-Forwarded-Proto']),
      ),
    ).toEqual({
      authorization: 'Bearer x',
      'x-forwarded-for': '192.0.2.7',
      'x-forwarded-proto': 'http',
    });
    expect(() => forwardedHeaderNames(['Host'])).toThrow(/never forwarded/);
    expect(() => forwardedHeaderNames(['Sec-WebSocket-Key'])).toThrow(/never forwarded/);
    expect(() => forwardedHeaderNames(['bad name'])).toThrow(/not a header name/);
  });

  it('cuts close reasons to the 123 bytes a close frame holds', () => {
    expect(closeReason('short')).toBe('short');
    const long = closeReason(`upstream closed: 1000 ${'é'.repeat(200)}`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long.endsWith('…')).toBe(true);
  });
});
