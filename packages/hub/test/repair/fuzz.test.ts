import { describe, expect, it } from 'vitest';
import { repairArguments } from '../../src/repair/index.js';

/**
 * Random arguments against random plain schemas. Whatever the repair does, it must never turn
 * valid arguments invalid, a second pass must change nothing, and what it logs must be what it
 * did. Validity is judged by the small reference validator below, written apart from the
 * repair's own (src/repair/schema.ts), for the keywords the generator uses.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, unknown>;

/** mulberry32: a seeded generator, so a failing case can be replayed by its seed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    chance: (p: number) => next() < p,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}
type Random = ReturnType<typeof random>;

/** Names that collide under every rule: case, word style, prefixes, leading underscores. */
const NAMES = [
  'user_name',
  'userName',
  'max_results',
  'max_tokens',
  'maxResults',
  'query',
  'q',
  'count',
  'id',
  '_id',
  'tags',
  'flag',
  'limit',
  'lim',
  'a',
  'A',
];

interface Profile {
  depth: number;
  /** How often a generated value is bent the way models bend them. */
  mutate: number;
  /** additionalProperties: false on every object. */
  closed: boolean;
  /** Optional fields as anyOf [T, null], and two-branch oneOfs. */
  combinators: boolean;
}

function schemaOf(r: Random, p: Profile, depth: number): Schema {
  const roll = r.int(0, depth > 0 ? 9 : 5);
  if (p.combinators && r.chance(0.15)) {
    return r.chance(0.7)
      ? { anyOf: [schemaOf(r, p, depth - 1), { type: 'null' }], title: 'optional' }
      : { oneOf: [schemaOf(r, p, depth - 1), schemaOf(r, p, depth - 1)] };
  }
  switch (roll) {
    case 0:
      return r.chance(0.3) ? { type: 'string', maxLength: r.int(0, 3) } : { type: 'string' };
    case 1:
      return r.chance(0.3) ? { type: 'number', minimum: -1, maximum: 10 } : { type: 'number' };
    case 2:
      return r.chance(0.3) ? { type: 'integer', enum: [1, 2, 5] } : { type: 'integer' };
    case 3:
      return { type: 'boolean' };
    case 4:
      return {
        type: r.pick([
          ['string', 'number'],
          ['integer', 'null'],
          ['boolean', 'array'],
        ]),
      };
    case 5:
      return r.chance(0.5) ? {} : { type: 'null' };
    case 6:
    case 7: {
      const array: Schema = { type: 'array', items: schemaOf(r, p, depth - 1) };
      if (r.chance(0.3)) array.minItems = r.int(0, 2);
      if (r.chance(0.3)) array.maxItems = r.int(0, 3);
      return array;
    }
    default: {
      const properties: Schema = {};
      for (let i = r.int(1, 4); i > 0; i--) properties[r.pick(NAMES)] = schemaOf(r, p, depth - 1);
      const object: Schema = { type: 'object', properties };
      const required = Object.keys(properties).filter(() => r.chance(0.5));
      if (required.length > 0) object.required = required;
      if (p.closed) object.additionalProperties = false;
      else if (r.chance(0.3))
        object.additionalProperties = r.chance(0.5) ? true : schemaOf(r, p, 0);
      return object;
    }
  }
}

function valueOf(r: Random, p: Profile, schema: unknown, depth: number): Json {
  const s = (schema ?? {}) as Schema;
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
    const branches = (s.anyOf ?? s.oneOf) as unknown[];
    return valueOf(r, p, r.pick(branches), depth);
  }
  const type = Array.isArray(s.type) ? r.pick(s.type as string[]) : (s.type as string | undefined);
  let value: Json;
  switch (type) {
    case 'string':
      value = r.pick(['', 'x', 'ab', '5', 'true', 'Oslo']);
      break;
    case 'number':
      value = r.pick([0, 1.5, -1, 5, 10, 11]);
      break;
    case 'integer':
      value = r.pick(Array.isArray(s.enum) ? [...(s.enum as number[]), 3] : [0, 1, 5, -7]);
      break;
    case 'boolean':
      value = r.chance(0.5);
      break;
    case 'null':
      value = null;
      break;
    case 'array':
      value = Array.from({ length: r.int(0, 3) }, () => valueOf(r, p, s.items, depth + 1));
      break;
    case 'object': {
      const properties = (s.properties ?? {}) as Schema;
      const out: Record<string, Json> = {};
      for (const [name, sub] of Object.entries(properties)) {
        if (r.chance(0.8)) out[name] = valueOf(r, p, sub, depth + 1);
      }
      value = out;
      break;
    }
    default:
      value = r.pick([null, 'x', 3, true, [], {}]);
  }
  return r.chance(p.mutate) ? bend(r, value) : value;
}

/** What models do to arguments: names restyled or cut, numbers and booleans quoted, lists of one unwrapped. */
function bend(r: Random, value: Json): Json {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length === 1 && r.chance(0.7) ? value[0]! : value;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) out[restyle(r, key)] = item;
    if (r.chance(0.2)) out[r.pick(NAMES)] = r.pick(['7', 'false', 'x', 2]);
    return out;
  }
  return r.chance(0.2) ? r.pick(['5', '5.5', 'yes', 'true', '0x10', ' 1']) : value;
}

function restyle(r: Random, name: string): string {
  switch (r.int(0, 5)) {
    case 0:
      return name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    case 1:
      return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    case 2:
      return name.toUpperCase();
    case 3:
      return name.slice(0, Math.max(1, name.length - r.int(1, 5)));
    default:
      return name;
  }
}

/** The reference validator: the keywords schemaOf writes, by the book. */
function valid(schema: unknown, value: unknown): boolean {
  if (schema === true || schema === undefined) return true;
  if (schema === false) return false;
  const s = schema as Schema;
  if (s.type !== undefined) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
    if (!types.some((t) => isA(t, value))) return false;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return false;
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) return false;
    if (typeof s.maximum === 'number' && value > s.maximum) return false;
  }
  if (typeof value === 'string' && typeof s.maxLength === 'number') {
    if ([...value].length > s.maxLength) return false;
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) return false;
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) return false;
    if (!value.every((item) => valid(s.items, item))) return false;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Schema;
    if (Array.isArray(s.required) && !s.required.every((k: string) => Object.hasOwn(object, k))) {
      return false;
    }
    for (const [key, item] of Object.entries(object)) {
      const sub = Object.hasOwn(properties, key) ? properties[key] : s.additionalProperties;
      if (!valid(sub, item)) return false;
    }
  }
  if (Array.isArray(s.anyOf) && !s.anyOf.some((b) => valid(b, value))) return false;
  if (Array.isArray(s.oneOf) && s.oneOf.filter((b) => valid(b, value)).length !== 1) return false;
  return true;
}

function isA(type: string, value: unknown): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'null') return value === null;
  if (type === 'array') return Array.isArray(value);
  if (type === 'object')
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  return typeof value === type;
}

/** The value at a JSON Pointer, or a unique miss. */
const MISSING = Symbol('missing');
function at(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  let here = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (here === null || typeof here !== 'object' || !Object.hasOwn(here, token)) return MISSING;
    here = (here as Record<string, unknown>)[token];
  }
  return here;
}

const PROFILES: Array<[string, Profile]> = [
  [
    'flat tools of scalars, bent often',
    { depth: 1, mutate: 0.5, closed: false, combinators: false },
  ],
  ['nested objects and lists', { depth: 3, mutate: 0.3, closed: false, combinators: false }],
  [
    'closed objects (additionalProperties: false)',
    { depth: 2, mutate: 0.4, closed: true, combinators: false },
  ],
  ['optional fields and oneOf', { depth: 2, mutate: 0.4, closed: false, combinators: true }],
  [
    'arguments as generated, rarely bent',
    { depth: 3, mutate: 0.05, closed: false, combinators: true },
  ],
];

/** More with REPAIR_FUZZ_CASES=N, to hunt locally. */
const CASES = Number(process.env.REPAIR_FUZZ_CASES ?? 600);

describe('argument repair, fuzzed', () => {
  it.each(PROFILES)('%s', (_, profile) => {
    let repairedCalls = 0;
    let madeValid = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const r = random(seed * 7919 + profile.depth);
      const schema = { ...schemaOf(r, profile, profile.depth), type: 'object' } as Schema;
      if (schema.properties === undefined)
        schema.properties = { [r.pick(NAMES)]: schemaOf(r, profile, 0) };
      const args = valueOf(r, profile, schema, 0);
      const sent = JSON.stringify(args);
      const context = `seed ${seed}: ${JSON.stringify(schema)} ${sent}`;

      const first = repairArguments(schema, args);
      expect(JSON.stringify(args), context).toBe(sent);
      expect(first.args === args, context).toBe(first.repairs.length === 0);
      if (valid(schema, args)) expect(valid(schema, first.args), context).toBe(true);
      else if (valid(schema, first.args)) madeValid++;

      const second = repairArguments(schema, first.args);
      expect(second.repairs, context).toEqual([]);
      expect(second.args, context).toBe(first.args);

      for (const repair of first.repairs) {
        const here = at(first.args, repair.path);
        expect(here, `${context} ${repair.path}`).not.toBe(MISSING);
        if (repair.kind !== 'rename' && repair.kind !== 'prefix') {
          expect(here, context).toEqual(repair.after);
        }
      }
      if (first.repairs.length > 0) repairedCalls++;
    }
    // Not a vacuous run: bent arguments were repaired, and some came out valid.
    if (profile.mutate >= 0.3) {
      expect(repairedCalls).toBeGreaterThan(CASES / 20);
      expect(madeValid).toBeGreaterThan(0);
    }
  });

  it('any JSON at all as a schema, or as arguments, never throws', () => {
    const junk = (r: Random, depth: number): unknown => {
      const keys = [
        'type',
        'properties',
        'items',
        'required',
        'anyOf',
        'oneOf',
        'allOf',
        'enum',
        'additionalProperties',
        'minimum',
        'maxItems',
        'const',
        '$ref',
        'x',
        'userName',
      ];
      switch (r.int(0, depth > 0 ? 7 : 4)) {
        case 0:
          return null;
        case 1:
          return r.chance(0.5);
        case 2:
          return r.pick([0, -1, 1.5, 1e308, 2 ** 53]);
        case 3:
          return r.pick(['', 'object', 'array', 'number', '5', 'true']);
        case 4:
          return r.pick([[], {}]);
        case 5:
          return Array.from({ length: r.int(0, 3) }, () => junk(r, depth - 1));
        default:
          return Object.fromEntries(
            Array.from({ length: r.int(0, 4) }, () => [r.pick(keys), junk(r, depth - 1)]),
          );
      }
    };
    for (let seed = 1; seed <= CASES * 5; seed++) {
      const r = random(seed);
      const schema = junk(r, 4);
      const args = junk(r, 4);
      const context = `seed ${seed}: ${JSON.stringify(schema)} ${JSON.stringify(args)}`;
      const first = repairArguments(schema, args);
      expect(repairArguments(schema, first.args).repairs, context).toEqual([]);
    }
  });
});
