import { describe, expect, it } from 'vitest';
import { parseClientFrame, parseServerFrame } from '../src/index.js';
import { encodeData, utf8Length } from '../src/protocol.js';

describe('wire frames', () => {
  it('reads every client frame of the protocol, filling the optional hello fields', () => {
    expect(parseClientFrame('{"type":"hello","version":1}')).toEqual({
      ok: true,
      frame: { type: 'hello', version: 1, resumeToken: null, lastSeq: 0 },
    });
    expect(parseClientFrame('{"type":"data","seq":3,"body":{"text":"hi"},"extra":1}')).toEqual({
      ok: true,
      frame: { type: 'data', seq: 3, body: { text: 'hi' } },
    });
    for (const type of ['ping', 'pausing', 'end'])
      expect(parseClientFrame(JSON.stringify({ type }))).toEqual({ ok: true, frame: { type } });
    expect(parseClientFrame('{"type":"ack","seq":9}')).toEqual({
      ok: true,
      frame: { type: 'ack', seq: 9 },
    });
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['{"type":"data","seq":0,"body":1}', 'data needs a positive seq'],
    ['{"type":"data","seq":1.5}', 'data needs a positive seq'],
    ['{"type":"ack","seq":"3"}', 'ack needs a positive seq'],
    ['{"type":"hello"}', 'hello without a version'],
    ['{"type":"hello","version":1,"lastSeq":-1}', 'lastSeq must be a non-negative integer'],
    ['{"type":"hello","version":1,"resumeToken":5}', 'resumeToken must be a string'],
    ['{"type":"welcome"}', 'unknown frame type "welcome"'],
  ])('refuses %s, saying why, without throwing', (text, reason) => {
    expect(parseClientFrame(text)).toEqual({ ok: false, reason });
  });

  it('reads the server frames and refuses a welcome that misses a field', () => {
    const welcome = {
      type: 'welcome',
      version: 1,
      sessionId: 's',
      resumeToken: 's.t',
      resumed: true,
      lastSeq: 2,
      replayFrom: 3,
      heartbeatMs: 5000,
      resumeWindowMs: 120000,
    };
    expect(parseServerFrame(JSON.stringify(welcome))).toEqual({ ok: true, frame: welcome });
    expect(parseServerFrame(JSON.stringify({ ...welcome, replayFrom: undefined })).ok).toBe(false);
    expect(parseServerFrame('{"type":"pong"}')).toEqual({ ok: true, frame: { type: 'pong' } });
  });

  it('encodes a data frame once, as JSON, and measures bytes as UTF-8', () => {
    expect(JSON.parse(encodeData(7, { t: 'é' }))).toEqual({
      type: 'data',
      seq: 7,
      body: { t: 'é' },
    });
    expect(encodeData(1, undefined)).toBe('{"type":"data","seq":1,"body":null}');
    expect(utf8Length('aé中😀')).toBe(1 + 2 + 3 + 4);
  });
});
