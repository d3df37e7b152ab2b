import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  classifyFrame,
  ErrorCode,
  JsonRpcFailureSchema,
  JsonRpcIdSchema,
  JsonRpcNotificationSchema,
  JsonRpcRequestSchema,
  JsonRpcSuccessSchema,
} from '../src/jsonrpc.js';
import type { Classified } from '../src/jsonrpc.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Frames good and bad, as an endpoint might send them. */
const FRAMES = [
  // requests
  '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}',
  '{"jsonrpc":"2.0","id":"robot_n_1","method":"tools/list","params":{}}',
  '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","arguments":{},"clientId":null,"_meta":{"agentId":1}}}',
  '{"jsonrpc":"2.0","id":6,"method":"ping"}',
  '{"jsonrpc":"2.0","id":6,"method":"ping","params":[1,2]}',
  '{"jsonrpc":"2.0","id":6,"method":"ping","params":{},"extra":true}',
  '{"jsonrpc":"2.0","id":-3,"method":"ping"}',
  '{"jsonrpc":"2.0","id":"","method":"ping"}',
  '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
  '{"jsonrpc":"2.0","id":1e308,"method":"ping"}',
  '{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}',
  '{"jsonrpc":"2.0","id":null,"method":"ping"}',
  '{"jsonrpc":"2.0","id":{},"method":"ping"}',
  '{"jsonrpc":"2.0","id":true,"method":"ping"}',
  '{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":"hello"}',
  '{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":null}',
  '{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":5}',
  '{"jsonrpc":"2.0","id":3,"method":5}',
  '{"jsonrpc":"2.0","id":1.5,"method":5}',
  '{"jsonrpc":"1.0","id":3,"method":"ping"}',
  '{"id":3,"method":"ping"}',
  '{"jsonrpc":"2.0","id":1.5,"method":"ping","params":"x"}',
  // notifications
  '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  '{"jsonrpc":"2.0","method":"notifications/initialized","params":{},"x":1}',
  '{"jsonrpc":"2.0","method":"notifications/initialized","params":"hello"}',
  '{"jsonrpc":"2.0","method":7}',
  '{"jsonrpc":"1.0","method":"notifications/initialized"}',
  // responses
  '{"jsonrpc":"2.0","id":5,"result":{}}',
  '{"jsonrpc":"2.0","id":5,"result":1}',
  '{"jsonrpc":"2.0","id":"x","result":null,"extra":1}',
  '{"jsonrpc":"2.0","id":1.5,"result":{}}',
  '{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"nope","data":{"a":1},"x":2}}',
  '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}',
  '{"jsonrpc":"2.0","error":{"code":-32700,"message":"no id"}}',
  '{"jsonrpc":"2.0","id":5,"error":{"code":1.5,"message":"x"}}',
  '{"jsonrpc":"2.0","id":5,"error":"bad"}',
  '{"jsonrpc":"2.0","id":5,"result":{},"error":{"code":1,"message":"x"}}',
  '{"jsonrpc":"1.0","id":5,"result":{}}',
  '{"jsonrpc":"2.0","id":5}',
  '{"jsonrpc":"2.0","result":{}}',
  // neither
  '{"jsonrpc":"2.0"}',
  '{}',
  '[]',
  '[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
  '"hello"',
  '42',
  'null',
  'not json',
  '',
];

/** A verdict without the raw text, which is always the frame itself. */
function verdict(frame: string): Omit<Classified, 'raw'> {
  const classified = classifyFrame(frame);
  if (classified.kind === 'invalid') {
    expect(classified.raw).toBe(frame);
    const { raw: _raw, ...rest } = classified;
    return rest;
  }
  return classified;
}

describe('classifying frames', () => {
  it('gives every frame the verdict it has always had', () => {
    const verdicts = FRAMES.map((frame) => {
      const { shape: _shape, ...rest } = verdict(frame) as { shape?: unknown };
      return [frame, rest];
    });
    expect(verdicts).toMatchInlineSnapshot(`
      [
        [
          "{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}",
          {
            "kind": "request",
            "message": {
              "id": 0,
              "jsonrpc": "2.0",
              "method": "initialize",
              "params": {
                "protocolVersion": "2024-11-05",
              },
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":"robot_n_1","method":"tools/list","params":{}}",
          {
            "kind": "request",
            "message": {
              "id": "robot_n_1",
              "jsonrpc": "2.0",
              "method": "tools/list",
              "params": {},
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","arguments":{},"clientId":null,"_meta":{"agentId":1}}}",
          {
            "kind": "request",
            "message": {
              "id": 7,
              "jsonrpc": "2.0",
              "method": "tools/call",
              "params": {
                "_meta": {
                  "agentId": 1,
                },
                "arguments": {},
                "clientId": null,
                "name": "a",
              },
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":6,"method":"ping"}",
          {
            "kind": "request",
            "message": {
              "id": 6,
              "jsonrpc": "2.0",
              "method": "ping",
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":6,"method":"ping","params":[1,2]}",
          {
            "kind": "request",
            "message": {
              "id": 6,
              "jsonrpc": "2.0",
              "method": "ping",
              "params": [
                1,
                2,
              ],
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":6,"method":"ping","params":{},"extra":true}",
          {
            "kind": "request",
            "message": {
              "id": 6,
              "jsonrpc": "2.0",
              "method": "ping",
              "params": {},
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":-3,"method":"ping"}",
          {
            "kind": "request",
            "message": {
              "id": -3,
              "jsonrpc": "2.0",
              "method": "ping",
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":"","method":"ping"}",
          {
            "kind": "request",
            "message": {
              "id": "",
              "jsonrpc": "2.0",
              "method": "ping",
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":1.5,"method":"ping"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: a numeric id must be an integer (within ±2^53)",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":1e308,"method":"ping"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: a numeric id must be an integer (within ±2^53)",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: a numeric id must be an integer (within ±2^53)",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":null,"method":"ping"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: Invalid input",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":{},"method":"ping"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: Invalid input",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":true,"method":"ping"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: Invalid input",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":"hello"}",
          {
            "code": -32602,
            "id": "s-1",
            "kind": "invalid",
            "reason": "bad request: params: params must be an object or an array",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":null}",
          {
            "code": -32602,
            "id": "s-1",
            "kind": "invalid",
            "reason": "bad request: params: params must be an object or an array",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":5}",
          {
            "code": -32602,
            "id": "s-1",
            "kind": "invalid",
            "reason": "bad request: params: params must be an object or an array",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":3,"method":5}",
          {
            "code": -32600,
            "id": 3,
            "kind": "invalid",
            "reason": "bad request: method: Invalid input: expected string, received number",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":1.5,"method":5}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: a numeric id must be an integer (within ±2^53)",
          },
        ],
        [
          "{"jsonrpc":"1.0","id":3,"method":"ping"}",
          {
            "code": -32600,
            "id": 3,
            "kind": "invalid",
            "reason": "jsonrpc is not "2.0"",
          },
        ],
        [
          "{"id":3,"method":"ping"}",
          {
            "code": -32600,
            "id": 3,
            "kind": "invalid",
            "reason": "jsonrpc is not "2.0"",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":1.5,"method":"ping","params":"x"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad request: id: a numeric id must be an integer (within ±2^53)",
          },
        ],
        [
          "{"jsonrpc":"2.0","method":"notifications/initialized"}",
          {
            "kind": "notification",
            "message": {
              "jsonrpc": "2.0",
              "method": "notifications/initialized",
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","method":"notifications/initialized","params":{},"x":1}",
          {
            "kind": "notification",
            "message": {
              "jsonrpc": "2.0",
              "method": "notifications/initialized",
              "params": {},
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","method":"notifications/initialized","params":"hello"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad notification: params: params must be an object or an array",
          },
        ],
        [
          "{"jsonrpc":"2.0","method":7}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad notification: method: Invalid input: expected string, received number",
          },
        ],
        [
          "{"jsonrpc":"1.0","method":"notifications/initialized"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "jsonrpc is not "2.0"",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5,"result":{}}",
          {
            "kind": "response",
            "message": {
              "id": 5,
              "jsonrpc": "2.0",
              "result": {},
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5,"result":1}",
          {
            "kind": "response",
            "message": {
              "id": 5,
              "jsonrpc": "2.0",
              "result": 1,
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":"x","result":null,"extra":1}",
          {
            "kind": "response",
            "message": {
              "id": "x",
              "jsonrpc": "2.0",
              "result": null,
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":1.5,"result":{}}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad response: id: a numeric id must be an integer (within ±2^53)",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"nope","data":{"a":1},"x":2}}",
          {
            "kind": "response",
            "message": {
              "error": {
                "code": -32601,
                "data": {
                  "a": 1,
                },
                "message": "nope",
              },
              "id": 5,
              "jsonrpc": "2.0",
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}",
          {
            "kind": "response",
            "message": {
              "error": {
                "code": -32700,
                "message": "parse",
              },
              "id": null,
              "jsonrpc": "2.0",
            },
          },
        ],
        [
          "{"jsonrpc":"2.0","error":{"code":-32700,"message":"no id"}}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad error response: id: Invalid input",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5,"error":{"code":1.5,"message":"x"}}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad error response: error.code: Invalid input: expected int, received number",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5,"error":"bad"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad error response: error: Invalid input: expected object, received string",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5,"result":{},"error":{"code":1,"message":"x"}}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "response has both result and error",
          },
        ],
        [
          "{"jsonrpc":"1.0","id":5,"result":{}}",
          {
            "code": -32600,
            "id": 5,
            "kind": "invalid",
            "reason": "jsonrpc is not "2.0"",
          },
        ],
        [
          "{"jsonrpc":"2.0","id":5}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "neither request, notification nor response",
          },
        ],
        [
          "{"jsonrpc":"2.0","result":{}}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "bad response: id: Invalid input",
          },
        ],
        [
          "{"jsonrpc":"2.0"}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "neither request, notification nor response",
          },
        ],
        [
          "{}",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "jsonrpc is not "2.0"",
          },
        ],
        [
          "[]",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "not a JSON-RPC object",
          },
        ],
        [
          "[{"jsonrpc":"2.0","id":1,"method":"ping"}]",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "not a JSON-RPC object",
          },
        ],
        [
          ""hello"",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "not a JSON-RPC object",
          },
        ],
        [
          "42",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "not a JSON-RPC object",
          },
        ],
        [
          "null",
          {
            "code": -32600,
            "kind": "invalid",
            "reason": "not a JSON-RPC object",
          },
        ],
        [
          "not json",
          {
            "code": -32700,
            "kind": "invalid",
            "reason": "not JSON: Unexpected token 'o', "not json" is not valid JSON",
          },
        ],
        [
          "",
          {
            "code": -32700,
            "kind": "invalid",
            "reason": "not JSON: Unexpected end of JSON input",
          },
        ],
      ]
    `);
  });
});

describe('what a bad frame was meant to be', () => {
  const shapeOf = (frame: string) => {
    const classified = classifyFrame(frame);
    return classified.kind === 'invalid' ? classified.shape : classified.kind;
  };

  it('tells requests, which must be answered, from responses and notifications, which never are', () => {
    expect(
      [
        '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
        '{"jsonrpc":"2.0","id":null,"method":"ping"}',
        '{"jsonrpc":"1.0","id":3,"method":"ping"}',
        '{"jsonrpc":"2.0","id":3,"method":5}',
        '{"jsonrpc":"2.0","id":"s-1","method":"tools/call","params":"hello"}',
      ].map(shapeOf),
    ).toEqual(['request', 'request', 'request', 'request', 'request']);
    expect(
      [
        '{"jsonrpc":"2.0","method":"notifications/initialized","params":"hello"}',
        '{"jsonrpc":"2.0","method":7}',
        '{"jsonrpc":"1.0","method":"notifications/initialized"}',
      ].map(shapeOf),
    ).toEqual(['notification', 'notification', 'notification']);
    expect(
      [
        '{"jsonrpc":"2.0","id":1.5,"result":{}}',
        '{"jsonrpc":"2.0","id":{},"error":{"code":1,"message":"x"}}',
        '{"jsonrpc":"2.0","error":{"code":-32700,"message":"no id"}}',
        '{"jsonrpc":"2.0","id":5,"error":"bad"}',
        '{"jsonrpc":"2.0","id":5,"result":{},"error":{"code":1,"message":"x"}}',
        '{"jsonrpc":"1.0","id":5,"result":{}}',
        '{"jsonrpc":"2.0","id":5}',
        '{"jsonrpc":"2.0","result":{}}',
      ].map(shapeOf),
    ).toEqual(Array(8).fill('response'));
    expect(['{"jsonrpc":"2.0"}', '{}', '[]', '"hello"', 'not json', ''].map(shapeOf)).toEqual(
      Array(6).fill('unknown'),
    );
  });
});

describe('the cost of a frame', () => {
  const schemas = {
    JsonRpcIdSchema,
    JsonRpcRequestSchema,
    JsonRpcNotificationSchema,
    JsonRpcSuccessSchema,
    JsonRpcFailureSchema,
  };

  it('reads a well-formed request, notification or response without walking a schema', () => {
    const spies = Object.entries(schemas).map(
      ([name, schema]) => [name, vi.spyOn(schema, 'safeParse')] as const,
    );
    const good = [
      '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}',
      '{"jsonrpc":"2.0","id":"robot_n_1","method":"tools/list","params":{}}',
      '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","_meta":{"agentId":1}}}',
      '{"jsonrpc":"2.0","id":6,"method":"ping"}',
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      '{"jsonrpc":"2.0","id":5,"result":{}}',
      '{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"nope"}}',
    ];
    const kinds = good.map((frame) => classifyFrame(frame).kind);
    expect(kinds).toEqual([
      'request',
      'request',
      'request',
      'request',
      'notification',
      'response',
      'response',
    ]);
    expect(Object.fromEntries(spies.map(([name, spy]) => [name, spy.mock.calls.length]))).toEqual({
      ...Object.fromEntries(Object.keys(schemas).map((name) => [name, 0])),
    });
  });

  it('still explains a bad frame in the schema’s words', () => {
    const spy = vi.spyOn(JsonRpcRequestSchema, 'safeParse');
    const classified = classifyFrame('{"jsonrpc":"2.0","id":3,"method":5}');
    expect(classified).toMatchObject({
      kind: 'invalid',
      id: 3,
      reason: 'bad request: method: Invalid input: expected string, received number',
    });
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('the fast path agrees with the schemas', () => {
  /** The classifier as it was before the fast path: zod for every frame. */
  function reference(value: unknown, raw: string): unknown {
    const invalid = (reason: string, code: number = ErrorCode.InvalidRequest) => ({
      kind: 'invalid' as const,
      reason,
      raw,
      code,
    });
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return invalid('not a JSON-RPC object');
    const record = value as Record<string, unknown>;
    const id = JsonRpcIdSchema.safeParse(record.id);
    if (record.jsonrpc !== '2.0')
      return { ...invalid('jsonrpc is not "2.0"'), ...(id.success && { id: id.data }) };
    if ('method' in record) {
      if ('id' in record) {
        const parsed = JsonRpcRequestSchema.safeParse(record);
        if (parsed.success) return { kind: 'request', message: parsed.data };
        const params = parsed.error.issues[0]?.path[0] === 'params';
        return {
          ...invalid(
            `bad request: ${issue(parsed.error)}`,
            params ? ErrorCode.InvalidParams : ErrorCode.InvalidRequest,
          ),
          ...(id.success && { id: id.data }),
        };
      }
      const parsed = JsonRpcNotificationSchema.safeParse(record);
      return parsed.success
        ? { kind: 'notification', message: parsed.data }
        : invalid(`bad notification: ${issue(parsed.error)}`);
    }
    if ('result' in record && 'error' in record)
      return invalid('response has both result and error');
    if ('result' in record) {
      const parsed = JsonRpcSuccessSchema.safeParse(record);
      return parsed.success
        ? { kind: 'response', message: parsed.data }
        : invalid(`bad response: ${issue(parsed.error)}`);
    }
    if ('error' in record) {
      const parsed = JsonRpcFailureSchema.safeParse(record);
      return parsed.success
        ? { kind: 'response', message: parsed.data }
        : invalid(`bad error response: ${issue(parsed.error)}`);
    }
    return invalid('neither request, notification nor response');
  }
  const issue = (error: { issues: Array<{ path: PropertyKey[]; message: string }> }) => {
    const first = error.issues[0]!;
    return `${first.path.length > 0 ? first.path.join('.') : '(root)'}: ${first.message}`;
  };

  it('on every mix of members, good and bad', () => {
    const ABSENT = Symbol('absent');
    const choices: Record<string, unknown[]> = {
      jsonrpc: ['2.0', '1.0', ABSENT],
      id: [0, -1, 'x', '', 1.5, 2 ** 53, null, {}, true, ABSENT],
      method: ['ping', 5, ABSENT],
      params: [{}, [], { _meta: { progressToken: 1 } }, 'x', null, ABSENT],
      result: [{}, 1, null, ABSENT],
      error: [
        { code: 1, message: 'm' },
        { code: 1, message: 'm', data: [1] },
        { code: 1.5, message: 'm' },
        { code: 1 },
        [],
        'e',
        ABSENT,
      ],
      extra: [1, ABSENT],
    };
    let frames: Array<Record<string, unknown>> = [{}];
    for (const [key, values] of Object.entries(choices)) {
      frames = frames.flatMap((frame) =>
        values.map((v) => (v === ABSENT ? frame : { ...frame, [key]: v })),
      );
    }
    expect(frames.length).toBeGreaterThan(20_000);
    const differ = frames
      .map((frame) => JSON.stringify(frame))
      .filter((raw) => {
        const { shape: _shape, ...got } = classifyFrame(raw) as Classified & { shape?: unknown };
        return !isDeepStrictEqual(got, reference(JSON.parse(raw), raw));
      });
    expect(differ).toEqual([]);
  });
});
