import { describe, expect, it } from 'vitest';
import { repairArguments, repairToolArguments } from '../../src/repair/index.js';
import type { ArgumentRepair } from '../../src/repair/index.js';

/** An object schema with these properties (and `extra` keywords beside them). */
const tool = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
});

const str = { type: 'string' };
const num = { type: 'number' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };

/** Expects `args` to come back untouched: the same object, and no repairs. */
function passesThrough(schema: unknown, args: unknown): void {
  const result = repairArguments(schema, args);
  expect(result.repairs).toEqual([]);
  expect(result.args).toBe(args);
}

function repaired(schema: unknown, args: unknown): { args: unknown; repairs: ArgumentRepair[] } {
  const result = repairArguments(schema, args);
  expect(result.args).not.toBe(args);
  return result;
}

describe('argument repair: names', () => {
  it("a model's userName reaches a tool that wants user_name", () => {
    const schema = tool({ user_name: str }, { required: ['user_name'] });
    expect(repaired(schema, { userName: 'bob' })).toEqual({
      args: { user_name: 'bob' },
      repairs: [{ path: '/user_name', kind: 'rename', before: 'userName', after: 'user_name' }],
    });
  });

  it("a model's user_name reaches a tool that wants userName", () => {
    const schema = tool({ userName: str }, { required: ['userName'] });
    expect(repaired(schema, { user_name: 'bob' }).args).toEqual({ userName: 'bob' });
  });

  it('kebab-case, PascalCase and SHOUTING names find their one property', () => {
    const schema = tool({ maxResults: int }, { required: ['maxResults'] });
    for (const name of ['max-results', 'MaxResults', 'MAX_RESULTS', 'maxresults', 'max__results']) {
      expect(repairArguments(schema, { [name]: 3 }).args).toEqual({ maxResults: 3 });
    }
  });

  it('an optional property gets its name fixed too, when its value fits there', () => {
    const schema = tool({ city: str, units: { type: 'string', enum: ['metric', 'imperial'] } });
    expect(repaired(schema, { city: 'Oslo', Units: 'metric' }).args).toEqual({
      city: 'Oslo',
      units: 'metric',
    });
  });

  it('a cut-off name is completed when exactly one property starts with it', () => {
    const schema = tool({ query: str, max_results: int }, { additionalProperties: false });
    expect(repaired(schema, { query: 'q', max: 5 })).toEqual({
      args: { query: 'q', max_results: 5 },
      repairs: [{ path: '/max_results', kind: 'prefix', before: 'max', after: 'max_results' }],
    });
  });

  it('keeps the order of the keys the model sent, renamed in place', () => {
    const schema = tool({ a_b: int, c: int, d_e: int }, { required: ['a_b', 'd_e'] });
    const { args } = repaired(schema, { dE: 1, c: 2, aB: 3 });
    expect(Object.keys(args as object)).toEqual(['d_e', 'c', 'a_b']);
  });

  it('names with / and ~ are written as JSON Pointer escapes in the log', () => {
    const schema = tool({ 'a/b~c': str }, { required: ['a/b~c'] });
    expect(repaired(schema, { 'A/B~C': 'x' }).repairs[0]!.path).toBe('/a~1b~0c');
  });
});

describe('argument repair: values', () => {
  it('"5" reaches a tool that wants a number as 5, and "-2.5e3" as -2500', () => {
    const schema = tool({ n: num, m: num });
    expect(repaired(schema, { n: '5', m: '-2.5e3' })).toEqual({
      args: { n: 5, m: -2500 },
      repairs: [
        { path: '/n', kind: 'number', before: '5', after: 5 },
        { path: '/m', kind: 'number', before: '-2.5e3', after: -2500 },
      ],
    });
  });

  it('"5" and "5.0" reach a tool that wants an integer as 5', () => {
    const schema = tool({ n: int });
    expect(repaired(schema, { n: '5' }).repairs).toEqual([
      { path: '/n', kind: 'integer', before: '5', after: 5 },
    ]);
    expect(repaired(schema, { n: '5.0' }).args).toEqual({ n: 5 });
  });

  it('"true" and "false" reach a tool that wants a boolean as true and false', () => {
    const schema = tool({ a: bool, b: bool });
    expect(repaired(schema, { a: 'true', b: 'false' })).toEqual({
      args: { a: true, b: false },
      repairs: [
        { path: '/a', kind: 'boolean', before: 'true', after: true },
        { path: '/b', kind: 'boolean', before: 'false', after: false },
      ],
    });
  });

  it('one tag reaches a tool that wants a list of tags as a list of one', () => {
    const schema = tool({ tags: { type: 'array', items: str } });
    expect(repaired(schema, { tags: 'urgent' })).toEqual({
      args: { tags: ['urgent'] },
      repairs: [{ path: '/tags', kind: 'wrap', before: 'urgent', after: ['urgent'] }],
    });
  });

  it('one "5" for a list of numbers becomes [5], both changes logged', () => {
    const schema = tool({ ids: { type: 'array', items: int } });
    expect(repaired(schema, { ids: '5' })).toEqual({
      args: { ids: [5] },
      repairs: [
        { path: '/ids', kind: 'wrap', before: '5', after: [5] },
        { path: '/ids/0', kind: 'integer', before: '5', after: 5 },
      ],
    });
  });

  it('one object for a list of objects is wrapped, and names inside it are fixed', () => {
    const schema = tool({
      people: {
        type: 'array',
        items: tool({ first_name: str }, { required: ['first_name'] }),
      },
    });
    expect(repaired(schema, { people: { firstName: 'Ada' } }).args).toEqual({
      people: [{ first_name: 'Ada' }],
    });
  });

  it('repairs reach into nested objects and list items, with the path of each', () => {
    const schema = tool({
      filter: tool({ min_price: num, in_stock: bool }),
      rows: { type: 'array', items: tool({ qty: int }, { required: ['qty'] }) },
    });
    const result = repaired(schema, {
      filter: { minPrice: '9.5', in_stock: 'true' },
      rows: [{ qty: '1' }, { qty: 2 }, { QTY: '3' }],
    });
    expect(result.args).toEqual({
      filter: { min_price: 9.5, in_stock: true },
      rows: [{ qty: 1 }, { qty: 2 }, { qty: 3 }],
    });
    expect(result.repairs.map((r) => `${r.kind} ${r.path}`)).toEqual([
      'rename /filter/min_price',
      'number /filter/min_price',
      'boolean /filter/in_stock',
      'integer /rows/0/qty',
      'rename /rows/2/qty',
      'integer /rows/2/qty',
    ]);
  });

  it('an optional field written as anyOf [T, null] (pydantic, zod) is repaired as T', () => {
    const schema = tool({
      limit: { anyOf: [int, { type: 'null' }], default: null, title: 'Limit' },
      deep: { type: ['boolean', 'null'] },
    });
    expect(repaired(schema, { limit: '10', deep: 'false' }).args).toEqual({
      limit: 10,
      deep: false,
    });
    passesThrough(schema, { limit: null, deep: null });
  });

  it('an optional nested object (anyOf [object, null]) gets its names fixed too', () => {
    const schema = tool({ filter: { anyOf: [tool({ min_price: num }), { type: 'null' }] } });
    expect(repaired(schema, { filter: { minPrice: 5 } }).args).toEqual({
      filter: { min_price: 5 },
    });
  });

  it('the properties of additionalProperties are repaired like listed ones', () => {
    const schema = tool({}, { additionalProperties: num });
    expect(repaired(schema, { a: '1', b: 2 }).args).toEqual({ a: 1, b: 2 });
  });
});

describe('argument repair: what already works is left alone', () => {
  it('arguments that already fit come back as the very same object', () => {
    const schema = tool({ user_name: str, n: int, tags: { type: 'array', items: str } });
    passesThrough(schema, { user_name: 'bob', n: 5, tags: ['a'] });
  });

  it('"5" stays a string where a string would do too', () => {
    passesThrough(tool({ id: { type: ['string', 'integer'] } }), { id: '5' });
    passesThrough(tool({ id: { anyOf: [str, int] } }), { id: '5' });
    passesThrough(tool({ id: {} }), { id: '5' });
  });

  it('a value of the right type that breaks another keyword is the upstream’s to refuse', () => {
    passesThrough(tool({ n: { type: 'integer', minimum: 10 } }), { n: 5 });
    passesThrough(tool({ s: { type: 'string', enum: ['a'] } }), { s: 'b' });
  });

  it('never changes the schema or the arguments it was given', () => {
    const schema = deepFreeze(tool({ user_name: str, n: num }, { required: ['user_name'] }));
    const args = deepFreeze({ userName: 'bob', n: '1' });
    expect(repairArguments(schema, args).args).toEqual({ user_name: 'bob', n: 1 });
  });

  it('a key named __proto__ stays a plain key and pollutes nothing', () => {
    const schema = tool({ user_name: str }, { required: ['user_name'] });
    const args = JSON.parse('{"__proto__": {"polluted": 1}, "userName": "bob"}') as object;
    const { args: out } = repaired(schema, args);
    expect(Object.keys(out as object)).toEqual(['__proto__', 'user_name']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('no arguments at all stay no arguments', () => {
    passesThrough(tool({ a: str }), undefined);
    passesThrough({ type: 'array', items: str }, undefined);
  });
});

describe('argument repair: the ambiguous passes through for the upstream to refuse', () => {
  it('a name matching two properties once case is ignored is left as sent', () => {
    passesThrough(tool({ userName: str, user_name: str }), { UserName: 'bob' });
    passesThrough(tool({ Name: str, name: str }), { NAME: 'bob' });
  });

  it('a cut-off name that starts two properties is left as sent', () => {
    passesThrough(tool({ max_results: int, max_tokens: int }, { additionalProperties: false }), {
      max: 5,
    });
  });

  it('a cut-off name of fewer than three letters is left as sent', () => {
    passesThrough(tool({ query: str }, { additionalProperties: false }), { qu: 'x' });
  });

  it('a variant beside the exact name is left as sent (both stay)', () => {
    passesThrough(tool({ user_name: str }), { user_name: 'a', userName: 'b' });
  });

  it('two variants of one name are both left as sent', () => {
    passesThrough(tool({ user_name: str }, { required: ['user_name'] }), {
      userName: 'a',
      UserName: 'b',
    });
  });

  it('a name that starts and a name that matches the same property are both left as sent', () => {
    passesThrough(tool({ max_results: int }, { required: ['max_results'] }), {
      max: 1,
      maxResults: 2,
    });
  });

  it('_id does not become id: separators at the ends of a name count', () => {
    passesThrough(tool({ id: str }, { required: ['id'] }), { _id: 'x' });
  });

  it('a name the object accepts is not moved where its value would be refused', () => {
    // Optional user_name, extra keys allowed: the call is valid as sent, and user_name: 5 is not.
    passesThrough(tool({ user_name: str }), { userName: 5 });
  });

  it('a name the schema requires as it is is never renamed away', () => {
    passesThrough(tool({ user_name: str }, { required: ['user_name', 'userName'] }), {
      userName: 'x',
    });
  });

  it('"5.5" for an integer is left as sent', () => {
    passesThrough(tool({ n: int }), { n: '5.5' });
  });

  it('numbers in disguise are left as sent: hex, spaces, signs, leading zeros, NaN, Infinity', () => {
    const schema = tool({ n: num });
    for (const text of [
      '0x10',
      ' 5',
      '5 ',
      '+5',
      '05',
      '5.',
      '.5',
      'NaN',
      'Infinity',
      '-Infinity',
      '1e999',
      '',
      '1_000',
      '٥',
    ]) {
      passesThrough(schema, { n: text });
    }
  });

  it('an integer too long to be kept exactly is left as sent', () => {
    passesThrough(tool({ n: int }), { n: '12345678901234567890' });
    passesThrough(tool({ n: num }), { n: '12345678901234567890' });
  });

  it('a number outside the enum or bounds is left as sent, for the upstream to say why', () => {
    passesThrough(tool({ n: { type: 'integer', enum: [1, 2] } }), { n: '5' });
    passesThrough(tool({ n: { type: 'number', maximum: 3 } }), { n: '5' });
  });

  it('"yes", "True", "1" and "" for a boolean are left as sent', () => {
    for (const text of ['yes', 'True', 'TRUE', '1', '0', '', 'on']) {
      passesThrough(tool({ b: bool }), { b: text });
    }
  });

  it('an array of two where one value is wanted is left as sent (lists are never unwrapped)', () => {
    passesThrough(tool({ city: str }), { city: ['Oslo', 'Bergen'] });
    passesThrough(tool({ city: str }), { city: ['Oslo'] });
  });

  it('one value is not wrapped when the list would still be refused', () => {
    passesThrough(tool({ tags: { type: 'array', items: str } }), { tags: 5 });
    passesThrough(tool({ tags: { type: 'array', items: str, minItems: 2 } }), { tags: 'a' });
    passesThrough(tool({ tags: { type: 'array', items: str, maxItems: 0 } }), { tags: 'a' });
    passesThrough(tool({ tags: { type: 'array', items: str } }), { tags: null });
  });

  it('"5" where a number or a list would do is left as sent (two rules, no choice)', () => {
    passesThrough(tool({ x: { type: ['number', 'array'], items: str } }), { x: '5' });
  });

  it('a property behind $ref is left as sent, its siblings still repaired', () => {
    const schema = {
      type: 'object',
      $defs: { count: { type: 'integer' } },
      properties: { count: { $ref: '#/$defs/count' }, flag: bool },
    };
    const schemaText = JSON.stringify(schema);
    expect(repaired(schema, { count: '5', flag: 'true' }).args).toEqual({
      count: '5',
      flag: true,
    });
    passesThrough(schema, { count: '5' });
    expect(JSON.stringify(schema)).toBe(schemaText);
  });

  it('a whole schema behind $ref (draft-07 definitions) is left alone', () => {
    passesThrough(
      { $ref: '#/definitions/args', definitions: { args: tool({ n: num }) } },
      {
        n: '5',
      },
    );
  });

  it('oneOf and anyOf with two plausible branches are left as sent', () => {
    passesThrough(tool({ x: { oneOf: [num, bool] } }), { x: 'true' });
    passesThrough(tool({ x: { anyOf: [int, { type: 'array', items: int }] } }), { x: '5' });
    passesThrough(
      { oneOf: [tool({ user_name: str }, { required: ['user_name'] }), tool({ id: int })] },
      { userName: 'bob' },
    );
  });

  it('allOf of two schemas is left as sent', () => {
    passesThrough({ allOf: [tool({ n: num }), tool({ m: num })] }, { n: '5' });
  });

  it('a combinator beside other keywords is not guessed at', () => {
    passesThrough(tool({ n: { type: 'number', anyOf: [{ minimum: 0 }] } }), { n: '5' });
  });

  it('patternProperties, propertyNames, if/then/else and not make their object untouchable', () => {
    const props = { user_name: str, n: num };
    passesThrough(tool(props, { patternProperties: { '^x': str } }), { userName: 'a', n: '1' });
    passesThrough(tool(props, { propertyNames: { maxLength: 9 } }), { userName: 'a' });
    passesThrough(tool(props, { if: { required: ['n'] }, then: {} }), { n: '1' });
    passesThrough(tool(props, { not: { required: ['x'] } }), { n: '1' });
    passesThrough(tool(props, { dependentRequired: { n: ['user_name'] } }), { userName: 'a' });
  });

  it('2020-12 prefixItems and a draft-07 tuple leave their items as sent', () => {
    passesThrough(tool({ pair: { type: 'array', prefixItems: [num, num] } }), { pair: ['1', '2'] });
    passesThrough(tool({ pair: { type: 'array', items: [num, num] } }), { pair: ['1', '2'] });
  });

  it('a schema that is not a schema repairs nothing and throws nothing', () => {
    for (const schema of [
      null,
      42,
      'object',
      [],
      true,
      false,
      { type: 'bogus' },
      { type: [] },
      { properties: 5 },
      { type: 'object', properties: { n: 'number' } },
      { type: 'object', required: 'n', properties: { n: num } },
    ]) {
      passesThrough(schema, { n: '5' });
    }
  });
});

describe('argument repair: bounded for hostile schemas and arguments', () => {
  it('a schema nested a thousand deep is walked only so far', () => {
    let schema: Record<string, unknown> = num;
    let args: unknown = '5';
    for (let i = 0; i < 1_000; i++) {
      schema = tool({ a: schema });
      args = { a: args };
    }
    const started = performance.now();
    passesThrough(schema, args);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a schema that refers to itself (built in memory) ends', () => {
    const schema: Record<string, unknown> = { type: 'object' };
    schema.properties = { child: schema, n: num };
    let args: Record<string, unknown> = { n: '1' };
    for (let i = 0; i < 100; i++) args = { child: args };
    expect(() => repairArguments(schema, args)).not.toThrow();
  });

  it('100,000 keys: the work is cut short and everything goes as sent', () => {
    const args = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, '1']));
    const schema = tool(
      Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`K_${i}`, num])),
    );
    const started = performance.now();
    passesThrough(schema, args);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a schema of 2,000 properties gets no names repaired, but its values still are', () => {
    const schema = tool(
      Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`p_${i}`, num])),
    );
    expect(repaired(schema, { pA: 1, p_1: '2' })).toEqual({
      args: { pA: 1, p_1: 2 },
      repairs: [{ path: '/p_1', kind: 'number', before: '2', after: 2 }],
    });
  });

  it('a prefix checked against every property of a large schema stays within the budget', () => {
    const names = Array.from({ length: 500 }, (_, i) => [`property_number_${i}`, num]);
    const schema = tool(Object.fromEntries(names), { additionalProperties: false });
    const args = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`pro${i}x`, 1]));
    const started = performance.now();
    passesThrough(schema, args);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a name of a megabyte is never compared', () => {
    const long = 'a'.repeat(1_000_000);
    passesThrough(tool({ [long]: str }, { required: [long] }), { [long.toUpperCase()]: 'x' });
  });
});

describe('argument repair on the call path (repairToolArguments)', () => {
  it('repairs arguments as repairArguments does, typed as MCP has them', () => {
    const schema = tool({ user_name: str }, { required: ['user_name'] });
    const { args, repairs } = repairToolArguments(schema, { userName: 'bob' });
    expect(args).toEqual({ user_name: 'bob' });
    expect(repairs).toHaveLength(1);
  });

  it('never turns the arguments into something other than an object', () => {
    const args = { a: 1 };
    const schema = { type: 'array', items: { type: 'object' } };
    expect(repairArguments(schema, args).args).toEqual([args]);
    expect(repairToolArguments(schema, args)).toEqual({ args, repairs: [] });
    expect(repairToolArguments(schema, undefined)).toEqual({ args: undefined, repairs: [] });
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
