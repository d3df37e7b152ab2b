import { EndpointInputSchema, ServerInputSchema } from '@tether/protocol';
import type { EndpointInput, ServerInput } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { lines, list, pairs, splitCommand } from '../src/forms.js';
import { argumentsTemplate, checkArguments } from '../src/tool-args.js';
import { endpointProblems, serverProblems } from '../src/validate.js';

describe('form validation agrees with the shared schemas', () => {
  const fields = (issues: Array<{ path: PropertyKey[] }>) =>
    [...new Set(issues.map((i) => String(i.path[0])))].sort();

  it('for endpoints', () => {
    const cases: EndpointInput[] = [
      { name: 'living-room', url: 'wss://api.xiaozhi.me/mcp/?token=x' },
      { name: 'a.b_c-1', url: 'ws://127.0.0.1:8004/mcp' },
      { name: '', url: 'wss://x' },
      { name: 'x'.repeat(64), url: 'wss://x' },
      { name: 'x'.repeat(65), url: 'wss://x' },
      { name: 'living room', url: 'wss://x' },
      { name: '客厅', url: 'wss://x' },
      { name: 'ok', url: 'https://x' },
      { name: 'ok', url: '' },
      { name: 'bad name', url: 'http://x' },
    ];
    for (const input of cases) {
      const parsed = EndpointInputSchema.safeParse(input);
      const expected = parsed.success ? [] : fields(parsed.error.issues);
      expect(endpointProblems(input).sort(), JSON.stringify(input)).toEqual(expected);
    }
  });

  it('for servers', () => {
    const cases: ServerInput[] = [
      { name: 'calc', type: 'stdio', command: 'node', args: ['calc.js'] },
      { name: 'calc', type: 'stdio', command: '' },
      { name: 'a.b', type: 'stdio', command: 'node' },
      { name: 'x'.repeat(65), type: 'stdio', command: 'node' },
      { name: 'weather', type: 'http', url: 'https://example.test/mcp' },
      { name: 'weather', type: 'sse', url: 'http://127.0.0.1:3000/sse' },
      { name: 'weather', type: 'http', url: 'ftp://example.test' },
      { name: '', type: 'sse', url: '' },
    ];
    for (const input of cases) {
      // The union reports issues per branch; the branch that the type selects is the verdict.
      const branch =
        input.type === 'stdio' ? ServerInputSchema.options[0] : ServerInputSchema.options[1];
      const parsed = branch.safeParse(input);
      const expected = parsed.success ? [] : fields(parsed.error.issues);
      expect(serverProblems(input).sort(), JSON.stringify(input)).toEqual(expected);
      expect(ServerInputSchema.safeParse(input).success).toBe(parsed.success);
    }
  });
});

describe('form parsers', () => {
  it('splits lists and lines', () => {
    expect(list('calc__*, notes__read\n weather__* ,')).toEqual([
      'calc__*',
      'notes__read',
      'weather__*',
    ]);
    expect(list('')).toEqual([]);
    expect(lines(' --db \n\n/var/notes.db ')).toEqual(['--db', '/var/notes.db']);
  });

  it('reads KEY=value and Name: value lines, naming the first bad one', () => {
    expect(pairs('A=1\n\nB = two=2', '=')).toEqual({ ok: true, value: { A: '1', B: 'two=2' } });
    expect(pairs('Authorization: Bearer x:y', ':')).toEqual({
      ok: true,
      value: { Authorization: 'Bearer x:y' },
    });
    expect(pairs('A=1\nnope', '=')).toEqual({ ok: false, line: 2 });
    expect(pairs('=1', '=')).toEqual({ ok: false, line: 1 });
  });

  it('splits a shown command line', () => {
    expect(splitCommand('node  calc.js --x 1')).toEqual({
      command: 'node',
      args: ['calc.js', '--x', '1'],
    });
    expect(splitCommand('')).toEqual({ command: '', args: [] });
  });
});

describe('tool arguments', () => {
  const schema = {
    type: 'object',
    properties: {
      city: { type: 'string' },
      days: { type: 'integer', default: 2 },
      units: { enum: ['metric', 'imperial'] },
    },
    required: ['city', 'units'],
  };

  it('accepts an object, and empty text as {}', () => {
    expect(checkArguments('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(checkArguments('  ')).toEqual({ ok: true, value: {} });
  });

  it('refuses bad JSON, non-objects and missing required properties', () => {
    expect(checkArguments('{a: 1}')).toMatchObject({ ok: false, problem: 'json' });
    expect(checkArguments('[1]')).toEqual({ ok: false, problem: 'object' });
    expect(checkArguments('null')).toEqual({ ok: false, problem: 'object' });
    expect(checkArguments('"x"')).toEqual({ ok: false, problem: 'object' });
    expect(checkArguments('{"city": "Hangzhou"}', schema)).toEqual({
      ok: false,
      problem: 'required',
      missing: ['units'],
    });
  });

  it('templates required properties, or every property when none is required', () => {
    expect(JSON.parse(argumentsTemplate(schema))).toEqual({ city: '', units: 'metric' });
    const { required: _, ...optional } = schema;
    expect(JSON.parse(argumentsTemplate(optional))).toEqual({ city: '', days: 2, units: 'metric' });
    expect(argumentsTemplate({ type: 'object' })).toBe('{}');
    expect(argumentsTemplate({})).toBe('{}');
  });
});
