import { nameKey, pointerToken } from './names.js';
import {
  Budget,
  EXHAUSTED,
  MAX_DEPTH,
  hasCombinator,
  hasType,
  isOpaque,
  isRecord,
  kw,
  soleBranch,
  typesOf,
  validates,
} from './schema.js';
import type { SchemaObject } from './schema.js';
import type { ArgumentRepair } from './types.js';

/**
 * Argument repair (docs/architecture.md, "Argument repair"): the mistakes models make in a
 * tool's arguments that the tool's own schema settles beyond doubt — a name in the wrong case
 * or word style, a cut-off name, a number or boolean sent as a string, one value where a list
 * is wanted — fixed before the call goes upstream. Anything the schema does not settle is left
 * exactly as the model sent it, so the upstream's own error reaches the model.
 *
 * Pure: no I/O, the inputs are never changed (unchanged parts of the result are the input's
 * own objects), and the work is bounded for hostile schemas and arguments.
 */

export interface RepairResult {
  /** The arguments to send: `args` itself (the same object) when nothing was repaired. */
  args: unknown;
  /** Every change, in the order the arguments were walked; empty when nothing was repaired. */
  repairs: ArgumentRepair[];
}

/** Limits on one repair; the defaults suit any real tool. */
export interface RepairLimits {
  /** Steps of work (nodes visited, names compared) before giving up on the whole call. */
  maxSteps?: number;
  /** An object with more keys, or a schema with more properties, has no names repaired. */
  maxKeys?: number;
}

const DEFAULT_STEPS = 50_000;
const DEFAULT_KEYS = 512;
/** Names longer than this are never matched (a model's name is short; a hostile one is not). */
const MAX_NAME = 128;
/** The shortest cut-off name completed: `max` for `max_results`, never `m` or `ma`. */
const MIN_PREFIX = 3;
/** `"5"`, `"-2.5e3"`: JSON's own number syntax, nothing else (no hex, +, spaces, 05, NaN). */
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGRAL_LITERAL = /^-?\d+$/;

/**
 * Repairs `args` against `schema` (a tool's inputSchema, draft-07 or 2020-12). Never throws
 * for any schema or arguments; past its limits it repairs nothing.
 */
export function repairArguments(
  schema: unknown,
  args: unknown,
  limits: RepairLimits = {},
): RepairResult {
  const walk = new Walk(
    new Budget(limits.maxSteps ?? DEFAULT_STEPS),
    limits.maxKeys ?? DEFAULT_KEYS,
  );
  try {
    const result = walk.value(schema, args, '', 0);
    return result.value === args
      ? { args, repairs: [] }
      : { args: result.value, repairs: result.repairs };
  } catch (error) {
    // A spent budget means a schema or arguments no real tool has: send them as they came.
    if (error === EXHAUSTED) return { args, repairs: [] };
    throw error;
  }
}

/**
 * repairArguments for the call path, where arguments are what MCP has them: an object, or
 * none. A repair that would make them anything else (a schema whose root wants a list) is not
 * made.
 */
export function repairToolArguments(
  inputSchema: unknown,
  args: Record<string, unknown> | undefined,
  limits?: RepairLimits,
): { args: Record<string, unknown> | undefined; repairs: ArgumentRepair[] } {
  const result = repairArguments(inputSchema, args, limits);
  return isRecord(result.args)
    ? { args: result.args as Record<string, unknown>, repairs: result.repairs }
    : { args, repairs: [] };
}

/**
 * The call path's one step: when repair is on, the repaired arguments and the repairs added to
 * the call's log meta (kept as it came when nothing was repaired); when off, both as they came.
 */
export function repairCall<M extends { repairs?: ArgumentRepair[] }>(
  on: boolean,
  inputSchema: unknown,
  args: Record<string, unknown> | undefined,
  meta: M | undefined,
): { args: Record<string, unknown> | undefined; meta: M | undefined } {
  if (!on) return { args, meta };
  const repaired = repairToolArguments(inputSchema, args);
  if (repaired.repairs.length === 0) return { args: repaired.args, meta };
  return { args: repaired.args, meta: { ...meta, repairs: repaired.repairs } as M };
}

interface Repaired {
  value: unknown;
  repairs: ArgumentRepair[];
}

const unchanged = (value: unknown): Repaired => ({ value, repairs: [] });

/** A repair of a leaf, not yet chosen: the rules that apply must come to exactly one. */
interface Candidate {
  kind: ArgumentRepair['kind'];
  after: unknown;
  /** The repairs inside a wrapped value, at /path/0. */
  inner: ArgumentRepair[];
}

class Walk {
  constructor(
    private readonly budget: Budget,
    private readonly maxKeys: number,
  ) {}

  value(schema: unknown, value: unknown, path: string, depth: number): Repaired {
    this.budget.take();
    if (!isRecord(schema) || depth > MAX_DEPTH || isOpaque(schema)) return unchanged(value);
    // Arguments are JSON; anything else (undefined: no arguments at all) is not ours to touch.
    if (!isJson(value)) return unchanged(value);
    if (hasCombinator(schema)) {
      // Only a combinator with one plausible branch is followed: the others cannot hold the
      // value, so repairing it as that branch says cannot make another branch match instead.
      const branch = soleBranch(schema, value);
      return branch === undefined ? unchanged(value) : this.value(branch, value, path, depth + 1);
    }
    const types = typesOf(schema);
    if (types === null) return unchanged(value);
    if (isRecord(value) && (types === undefined || types.includes('object'))) {
      return this.object(schema, value, path, depth);
    }
    if (Array.isArray(value)) {
      return types === undefined || types.includes('array')
        ? this.array(schema, value, path, depth)
        : unchanged(value);
    }
    // A value of an allowed type is left alone, even when it breaks another keyword.
    if (types === undefined || types.some((type) => hasType(value, type))) return unchanged(value);
    return this.leaf(schema, types, value, path, depth);
  }

  /** A value of a type the node does not allow: a string for a number or boolean, or not a list. */
  private leaf(
    schema: SchemaObject,
    types: readonly string[],
    value: unknown,
    path: string,
    depth: number,
  ): Repaired {
    const candidates: Candidate[] = [];
    if (typeof value === 'string') {
      const number = parseNumber(value);
      if (number !== undefined && types.includes('number')) {
        candidates.push({ kind: 'number', after: number, inner: [] });
      } else if (
        number !== undefined &&
        types.includes('integer') &&
        Number.isSafeInteger(number)
      ) {
        candidates.push({ kind: 'integer', after: number, inner: [] });
      }
      if ((value === 'true' || value === 'false') && types.includes('boolean')) {
        candidates.push({ kind: 'boolean', after: value === 'true', inner: [] });
      }
    }
    // null is how a model says "none", not a list of one null.
    if (types.includes('array') && value !== null) {
      const item = this.value(kw(schema, 'items'), value, `${path}/0`, depth + 1);
      candidates.push({ kind: 'wrap', after: [item.value], inner: item.repairs });
    }
    // Each must leave a value the node does not reject (enum, bounds, maxItems…), and the
    // rules must agree on one: "5" where a number or a list of strings would do is neither.
    const fitting = candidates.filter(
      (c) => validates(schema, c.after, this.budget, depth) !== false,
    );
    if (fitting.length !== 1) return unchanged(value);
    const [chosen] = fitting as [Candidate];
    return {
      value: chosen.after,
      repairs: [{ path, kind: chosen.kind, before: value, after: chosen.after }, ...chosen.inner],
    };
  }

  private array(
    schema: SchemaObject,
    value: readonly unknown[],
    path: string,
    depth: number,
  ): Repaired {
    const items = kw(schema, 'items');
    if (!isRecord(items)) return unchanged(value);
    let changed = false;
    const repairs: ArgumentRepair[] = [];
    const out = value.map((item, i) => {
      const result = this.value(items, item, `${path}/${i}`, depth + 1);
      if (result.value !== item) changed = true;
      repairs.push(...result.repairs);
      return result.value;
    });
    return changed ? { value: out, repairs } : unchanged(value);
  }

  private object(
    schema: SchemaObject,
    value: Readonly<Record<string, unknown>>,
    path: string,
    depth: number,
  ): Repaired {
    const properties = kw(schema, 'properties') ?? {};
    const additional = kw(schema, 'additionalProperties');
    const required = kw(schema, 'required');
    // A keyword not spelled as JSON Schema has it is a schema this code cannot read.
    if (
      !isRecord(properties) ||
      !(additional === undefined || typeof additional === 'boolean' || isRecord(additional)) ||
      !(required === undefined || Array.isArray(required))
    ) {
      return unchanged(value);
    }
    const keys = Object.keys(value);
    const names = Object.keys(properties);
    this.budget.take(keys.length + names.length);
    // Most calls name every property right: then there is nothing to match, and no cost.
    const unlisted = keys.some((key) => !Object.hasOwn(properties, key));
    const renames =
      unlisted && keys.length <= this.maxKeys && names.length <= this.maxKeys
        ? this.renames(schema, properties, names, value, keys)
        : new Map<string, Rename>();

    let changed = false;
    const repairs: ArgumentRepair[] = [];
    const entries: Array<[string, unknown]> = [];
    for (const key of keys) {
      const item = value[key];
      const rename = renames.get(key);
      if (rename !== undefined) {
        const to = `${path}/${pointerToken(rename.to)}`;
        const result = this.value(properties[rename.to], item, to, depth + 1);
        // Moving a value the object accepted where it was must leave it valid where it goes;
        // an object already rejected for the missing or forbidden name has nothing to lose.
        const rejected =
          rename.required ||
          additional === false ||
          validates(additional, item, this.budget, depth + 1) === false;
        if (
          rejected ||
          validates(properties[rename.to], result.value, this.budget, depth + 1) === true
        ) {
          changed = true;
          entries.push([rename.to, result.value]);
          repairs.push(
            { path: to, kind: rename.kind, before: key, after: rename.to },
            ...result.repairs,
          );
          continue;
        }
      }
      const sub = Object.hasOwn(properties, key) ? properties[key] : additional;
      const result = this.value(sub, item, `${path}/${pointerToken(key)}`, depth + 1);
      if (result.value !== item) changed = true;
      entries.push([key, result.value]);
      repairs.push(...result.repairs);
    }
    // fromEntries defines own properties, so a key named __proto__ stays a plain key.
    return changed ? { value: Object.fromEntries(entries), repairs } : unchanged(value);
  }

  /**
   * Which keys of the value take which property's name: a key the schema does not list, that
   * matches exactly one property by nameKey (else, at MIN_PREFIX or more, is the start of
   * exactly one), whose property is not already there, and that no other key claims.
   */
  private renames(
    schema: SchemaObject,
    properties: Readonly<Record<string, unknown>>,
    names: readonly string[],
    value: Readonly<Record<string, unknown>>,
    keys: readonly string[],
  ): Map<string, Rename> {
    const required = new Set(asStrings(kw(schema, 'required')));
    const byKey = new Map<string, string[]>();
    const nameKeys: Array<[string, string]> = [];
    for (const name of names) {
      if (name.length > MAX_NAME) continue;
      const key = nameKey(name);
      nameKeys.push([name, key]);
      byKey.set(key, [...(byKey.get(key) ?? []), name]);
    }
    const proposed = new Map<string, Rename>();
    const claims = new Map<string, number>();
    for (const key of keys) {
      if (Object.hasOwn(properties, key) || required.has(key) || key.length > MAX_NAME) continue;
      const wanted = nameKey(key);
      const same = byKey.get(wanted) ?? [];
      let to: string | undefined;
      let kind: Rename['kind'] = 'rename';
      if (same.length === 1) to = same[0];
      else if (same.length === 0 && wanted.length >= MIN_PREFIX) {
        this.budget.take(nameKeys.length);
        const starting = nameKeys.filter(([, k]) => k.startsWith(wanted));
        if (starting.length === 1) [to, kind] = [starting[0]![0], 'prefix'];
      }
      if (to === undefined || Object.hasOwn(value, to)) continue;
      proposed.set(key, { to, kind, required: required.has(to) });
      claims.set(to, (claims.get(to) ?? 0) + 1);
    }
    for (const [key, rename] of proposed) if (claims.get(rename.to)! > 1) proposed.delete(key);
    return proposed;
  }
}

interface Rename {
  to: string;
  kind: 'rename' | 'prefix';
  /** The property is required, so the object is invalid without this rename. */
  required: boolean;
}

function isJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'object':
      return true;
    case 'number':
      return Number.isFinite(value);
    default:
      return false;
  }
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * A string that is a JSON number as the model would have sent it unquoted, or undefined. An
 * integer literal beyond 2^53 is refused: the number would not be the one written.
 */
function parseNumber(text: string): number | undefined {
  if (text.length > 40 || !NUMBER.test(text)) return undefined;
  const number = Number(text);
  if (!Number.isFinite(number)) return undefined;
  if (INTEGRAL_LITERAL.test(text) && !Number.isSafeInteger(number)) return undefined;
  return number;
}
