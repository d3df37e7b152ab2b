/**
 * The part of JSON Schema (draft-07 and 2020-12) argument repair can decide, and a validator
 * for it that answers true, false, or undefined when it cannot tell. Everything here reads the
 * schema and the value, never changes them, and charges its work to a Budget, because both
 * come from outside: the schema from an upstream server, the value from a model.
 */

/** The work one repair may do, in steps (a schema node visited, a key compared…). */
export class Budget {
  constructor(private steps: number) {}

  take(steps = 1): void {
    this.steps -= steps;
    if (this.steps < 0) throw EXHAUSTED;
  }
}

/** Thrown by Budget.take when the budget is spent; caught where the repair started. */
export const EXHAUSTED: unique symbol = Symbol('repair budget exhausted');

/** How deep repair and validation walk; deeper, a value passes through untouched. */
export const MAX_DEPTH = 32;

export type SchemaObject = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A keyword of a schema node. Own properties only: a schema is data from outside, and a
 * missing `items` must not find something on Object.prototype.
 */
export function kw(schema: SchemaObject, name: string): unknown {
  return Object.hasOwn(schema, name) ? schema[name] : undefined;
}

/**
 * Keywords that make a node undecidable for repair: references (the target is elsewhere, and
 * following them is how hostile schemas loop), conditionals, properties matched by pattern or
 * evaluated by siblings, negation, tuples. A node with any of them is passed through untouched,
 * and so is everything below it.
 */
const OPAQUE: ReadonlySet<string> = new Set([
  '$ref',
  '$dynamicRef',
  '$recursiveRef',
  'patternProperties',
  'propertyNames',
  'dependencies',
  'dependentSchemas',
  'dependentRequired',
  'unevaluatedProperties',
  'unevaluatedItems',
  'if',
  'then',
  'else',
  'not',
  'prefixItems',
  'additionalItems',
  'contains',
  'minContains',
  'maxContains',
]);

export function isOpaque(schema: SchemaObject): boolean {
  // A node has a handful of keywords: look each up, rather than every opaque one in the node.
  for (const key of Object.keys(schema)) {
    if (OPAQUE.has(key) || (key === 'items' && Array.isArray(schema[key]))) return true;
  }
  return false;
}

/** Keywords that say nothing about which values are valid. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'format',
  'contentEncoding',
  'contentMediaType',
  '$comment',
  '$id',
  '$schema',
  '$anchor',
  '$defs',
  'definitions',
]);

export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

const TYPES: ReadonlySet<unknown> = new Set<JsonType>([
  'null',
  'boolean',
  'integer',
  'number',
  'string',
  'array',
  'object',
]);

/**
 * The node's `type` as a list; undefined when it has none (any type), null when it is not a
 * type this code knows (the node is then undecidable).
 */
export function typesOf(schema: SchemaObject): readonly JsonType[] | undefined | null {
  const type = kw(schema, 'type');
  if (type === undefined) return undefined;
  const list = Array.isArray(type) ? type : [type];
  return list.length > 0 && list.every((t) => TYPES.has(t)) ? (list as JsonType[]) : null;
}

export function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
  }
}

/**
 * For a node that is only a combinator (`anyOf`, `oneOf` or `allOf`, plus annotations), the one
 * branch that can hold `value`: allOf of one schema, or anyOf/oneOf where every other branch is
 * `false` or admits only null (an optional field, as pydantic and zod write it) and the value
 * is not null. Undefined for any node that is not such a combinator, or has more than one
 * plausible branch.
 */
export function soleBranch(schema: SchemaObject, value: unknown): unknown {
  let found: { op: string; branches: unknown } | undefined;
  for (const key of Object.keys(schema)) {
    if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') {
      if (found !== undefined) return undefined;
      found = { op: key, branches: schema[key] };
    } else if (!ANNOTATIONS.has(key) && !key.startsWith('x-')) return undefined;
  }
  if (found === undefined || !Array.isArray(found.branches)) return undefined;
  const branches: unknown[] = found.branches;
  if (found.op === 'allOf') return branches.length === 1 ? branches[0] : undefined;
  const plausible = branches.filter(
    (branch) => branch !== false && !(value !== null && admitsOnlyNull(branch)),
  );
  return plausible.length === 1 ? plausible[0] : undefined;
}

function admitsOnlyNull(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  const types = typesOf(schema);
  return (types?.length === 1 && types[0] === 'null') || kw(schema, 'const') === null;
}

export function hasCombinator(schema: SchemaObject): boolean {
  return ['anyOf', 'oneOf', 'allOf'].some((name) => Object.hasOwn(schema, name));
}

/** Equality of JSON values, as `enum`, `const` and `uniqueItems` mean it. */
export function jsonEqual(a: unknown, b: unknown, budget: Budget): boolean {
  budget.take();
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => jsonEqual(item, other[i], budget));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key], budget))
  );
}

/** true, false, or undefined: this code cannot tell. */
export type Verdict = boolean | undefined;

/** All of the verdicts: false if any is false, else undefined if any is undefined. */
function all(verdicts: Iterable<Verdict>): Verdict {
  let result: Verdict = true;
  for (const verdict of verdicts) {
    if (verdict === false) return false;
    if (verdict === undefined) result = undefined;
  }
  return result;
}

/**
 * Whether `value` is valid against `schema`, for the decidable part of JSON Schema. `pattern`
 * is not run (a schema's regular expression over a model's string is a ReDoS waiting to
 * happen) and `format` is an annotation, as 2020-12 has it by default.
 */
export function validates(schema: unknown, value: unknown, budget: Budget, depth = 0): Verdict {
  budget.take();
  if (schema === true || schema === undefined) return true;
  if (schema === false) return false;
  if (!isRecord(schema) || depth > MAX_DEPTH || isOpaque(schema)) return undefined;
  const types = typesOf(schema);
  if (types === null) return undefined;
  if (types !== undefined && !types.some((type) => hasType(value, type))) return false;
  return all(checks(schema, value, budget, depth));
}

function* checks(schema: SchemaObject, value: unknown, budget: Budget, depth: number) {
  const values = kw(schema, 'enum');
  if (values !== undefined) {
    yield Array.isArray(values) ? values.some((v) => jsonEqual(v, value, budget)) : undefined;
  }
  if (Object.hasOwn(schema, 'const')) yield jsonEqual(kw(schema, 'const'), value, budget);
  if (typeof value === 'number') yield numberChecks(schema, value);
  if (typeof value === 'string') yield stringChecks(schema, value);
  if (Array.isArray(value)) yield arrayChecks(schema, value, budget, depth);
  if (isRecord(value)) yield objectChecks(schema, value, budget, depth);
  for (const op of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = kw(schema, op);
    if (branches === undefined) continue;
    if (!Array.isArray(branches) || branches.length === 0) {
      yield undefined;
      continue;
    }
    const verdicts = branches.map((branch) => validates(branch, value, budget, depth + 1));
    if (op === 'allOf') {
      yield all(verdicts);
      continue;
    }
    const passed = verdicts.filter((v) => v === true).length;
    const unknown = verdicts.includes(undefined);
    if (op === 'anyOf') yield passed > 0 ? true : unknown ? undefined : false;
    else yield passed > 1 ? false : unknown ? undefined : passed === 1;
  }
}

/** A bound keyword's number, or undefined when absent; NaN (undecidable) when not a number. */
function bound(schema: SchemaObject, name: string): number | undefined {
  const value = kw(schema, name);
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value : NaN;
}

function numberChecks(schema: SchemaObject, value: number): Verdict {
  const verdicts: Verdict[] = [];
  const limit = (name: string, ok: (b: number) => boolean) => {
    const b = bound(schema, name);
    if (b !== undefined) verdicts.push(Number.isNaN(b) ? undefined : ok(b));
  };
  // draft-04 spelled exclusive bounds as booleans beside minimum/maximum.
  const exclusiveMin = kw(schema, 'exclusiveMinimum') === true;
  const exclusiveMax = kw(schema, 'exclusiveMaximum') === true;
  limit('minimum', (b) => (exclusiveMin ? value > b : value >= b));
  limit('maximum', (b) => (exclusiveMax ? value < b : value <= b));
  if (typeof kw(schema, 'exclusiveMinimum') !== 'boolean')
    limit('exclusiveMinimum', (b) => value > b);
  if (typeof kw(schema, 'exclusiveMaximum') !== 'boolean')
    limit('exclusiveMaximum', (b) => value < b);
  const step = bound(schema, 'multipleOf');
  if (step !== undefined) {
    if (Number.isNaN(step) || step <= 0) verdicts.push(undefined);
    else if (Number.isInteger(value) && Number.isInteger(step)) verdicts.push(value % step === 0);
    // Binary fractions make 0.3 % 0.1 unequal to 0; validators disagree, so do not decide.
    else verdicts.push(Number.isInteger(value / step) ? true : undefined);
  }
  return all(verdicts);
}

function stringChecks(schema: SchemaObject, value: string): Verdict {
  const verdicts: Verdict[] = [];
  const min = bound(schema, 'minLength');
  const max = bound(schema, 'maxLength');
  if (min !== undefined || max !== undefined) {
    // Lengths count code points, not UTF-16 units.
    let length = 0;
    for (const _ of value) length++;
    if (min !== undefined) verdicts.push(Number.isNaN(min) ? undefined : length >= min);
    if (max !== undefined) verdicts.push(Number.isNaN(max) ? undefined : length <= max);
  }
  if (Object.hasOwn(schema, 'pattern')) verdicts.push(undefined);
  return all(verdicts);
}

function arrayChecks(
  schema: SchemaObject,
  value: readonly unknown[],
  budget: Budget,
  depth: number,
): Verdict {
  const verdicts: Verdict[] = [];
  const min = bound(schema, 'minItems');
  const max = bound(schema, 'maxItems');
  if (min !== undefined) verdicts.push(Number.isNaN(min) ? undefined : value.length >= min);
  if (max !== undefined) verdicts.push(Number.isNaN(max) ? undefined : value.length <= max);
  if (kw(schema, 'uniqueItems') === true) {
    budget.take(value.length);
    verdicts.push(
      value.every((item, i) => value.slice(0, i).every((other) => !jsonEqual(item, other, budget))),
    );
  }
  const items = kw(schema, 'items');
  if (items !== undefined) {
    for (const item of value) {
      const verdict = validates(items, item, budget, depth + 1);
      if (verdict === false) return false;
      verdicts.push(verdict);
    }
  }
  return all(verdicts);
}

function objectChecks(
  schema: SchemaObject,
  value: Readonly<Record<string, unknown>>,
  budget: Budget,
  depth: number,
): Verdict {
  const verdicts: Verdict[] = [];
  const keys = Object.keys(value);
  budget.take(keys.length);
  const required = kw(schema, 'required');
  if (required !== undefined) {
    verdicts.push(
      Array.isArray(required)
        ? required.every((name) => typeof name === 'string' && Object.hasOwn(value, name))
        : undefined,
    );
  }
  const min = bound(schema, 'minProperties');
  const max = bound(schema, 'maxProperties');
  if (min !== undefined) verdicts.push(Number.isNaN(min) ? undefined : keys.length >= min);
  if (max !== undefined) verdicts.push(Number.isNaN(max) ? undefined : keys.length <= max);
  const properties = kw(schema, 'properties');
  if (properties !== undefined && !isRecord(properties)) return undefined;
  const additional = kw(schema, 'additionalProperties');
  for (const key of keys) {
    const sub =
      properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : additional;
    const verdict = validates(sub, value[key], budget, depth + 1);
    if (verdict === false) return false;
    verdicts.push(verdict);
  }
  return all(verdicts);
}
