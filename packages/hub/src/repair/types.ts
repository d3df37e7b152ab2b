/**
 * What argument repair changed in one call, as the call log keeps it (docs/architecture.md,
 * "Argument repair"). The type lives here, in the lowest layer of the hub, so the store can
 * name it without knowing anything else about repair.
 */

/** Which rule made the change. */
export type RepairKind = 'rename' | 'prefix' | 'number' | 'integer' | 'boolean' | 'wrap';

/**
 * One change to a model's arguments. `path` is a JSON Pointer (RFC 6901) to the value as the
 * tool receives it: for a rename or a prefix, the new property (`before` and `after` are the
 * names); for the others, the value (`before` as sent, `after` as passed on).
 */
export interface ArgumentRepair {
  path: string;
  kind: RepairKind;
  before: unknown;
  after: unknown;
}
