/**
 * The "try a tool" form: arguments are typed as JSON and checked here before anything is sent,
 * so a typo is reported next to the textarea rather than as an upstream error.
 */
export type ArgsCheck =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; problem: 'json'; detail: string }
  | { ok: false; problem: 'object' }
  | { ok: false; problem: 'required'; missing: string[] };

export function checkArguments(text: string, schema: Record<string, unknown> = {}): ArgsCheck {
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { ok: false, problem: 'json', detail: (error as Error).message };
    }
  }
  if (!isRecord(value)) return { ok: false, problem: 'object' };
  const missing = required(schema).filter((name) => !(name in value));
  if (missing.length > 0) return { ok: false, problem: 'required', missing };
  return { ok: true, value };
}

/**
 * A starting point for a tool's arguments: every required property (or, when none is, every
 * property) with its default, first enum value or an empty value of its type.
 */
export function argumentsTemplate(schema: Record<string, unknown>): string {
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const wanted = required(schema);
  const names = wanted.length > 0 ? wanted : Object.keys(properties);
  const template: Record<string, unknown> = {};
  for (const name of names) {
    const property = properties[name];
    template[name] = isRecord(property) ? placeholder(property) : null;
  }
  return names.length === 0 ? '{}' : JSON.stringify(template, null, 2);
}

function placeholder(property: Record<string, unknown>): unknown {
  if ('default' in property) return property.default;
  if (Array.isArray(property.enum) && property.enum.length > 0) return property.enum[0];
  const type = Array.isArray(property.type) ? property.type[0] : property.type;
  switch (type) {
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return null;
  }
}

function required(schema: Record<string, unknown>): string[] {
  return Array.isArray(schema.required)
    ? schema.required.filter((x): x is string => typeof x === 'string')
    : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
