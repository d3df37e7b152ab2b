import { describe, expect, it } from 'vitest';
import { buildCatalog, catalogFor } from '../../src/catalog/catalog.js';
import { exposedNames } from '../../src/catalog/names.js';

const tool = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  inputSchema: { type: 'object' },
  ...extra,
});

describe('tool names', () => {
  it('names tools server__tool and keeps only [A-Za-z0-9_-], at most 64 characters', () => {
    const [a, b] = exposedNames([
      { server: 'home assistant', tool: 'light.turn_on' },
      { server: 'x'.repeat(50), tool: 'y'.repeat(50) },
    ]);
    expect(a).toBe('home_assistant__light_turn_on');
    expect(b).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(b).toHaveLength(64);
  });

  it('answers a collision the same way whatever order the servers come in', () => {
    const pairs = [
      { server: 'notes', tool: 'a.b' },
      { server: 'notes', tool: 'a_b' },
      { server: 'calc', tool: 'add' },
    ];
    const forward = exposedNames(pairs);
    const backward = exposedNames([...pairs].reverse()).reverse();
    expect(forward).toEqual(backward);
    expect(new Set(forward).size).toBe(3);
    expect(forward[2]).toBe('calc__add');
    for (const name of forward) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it('keeps names distinct when truncation makes long names collide', () => {
    const long = 'z'.repeat(70);
    const names = exposedNames([
      { server: 's', tool: `${long}1` },
      { server: 's', tool: `${long}2` },
    ]);
    expect(names[0]).not.toBe(names[1]);
    expect(names.every((n) => n.length <= 64)).toBe(true);
  });
});

describe('catalog', () => {
  it('aggregates every server, sorted by exposed name, schemas passed through untouched', () => {
    const schema = {
      type: 'object',
      properties: { q: { type: 'string', pattern: '^x', $ref: '#/defs/q' } },
      $defs: {},
    };
    const catalog = buildCatalog([
      {
        server: 'web',
        tools: [tool('search', { inputSchema: schema, annotations: { readOnlyHint: true } })],
      },
      { server: 'calc', tools: [tool('sub'), tool('add', { description: 'adds' })] },
    ]);
    expect(catalog.map((e) => e.name)).toEqual(['calc__add', 'calc__sub', 'web__search']);
    const search = catalog[2]!;
    expect(search.definition.inputSchema).toBe(schema);
    expect(search.definition).toMatchObject({
      name: 'web__search',
      annotations: { readOnlyHint: true },
    });
    expect(search).toMatchObject({ server: 'web', tool: 'search' });
  });

  it('applies description overrides', () => {
    const [entry] = buildCatalog([
      {
        server: 'calc',
        tools: [tool('add', { description: 'old' })],
        descriptions: { add: 'Adds two numbers' },
      },
    ]);
    expect(entry!.definition.description).toBe('Adds two numbers');
  });

  it('gives each endpoint its servers and its include/exclude globs', () => {
    const catalog = buildCatalog([
      { server: 'files', tools: [tool('read'), tool('delete'), tool('delete_all')] },
      { server: 'calc', tools: [tool('add')] },
    ]);
    const names = (entries: { name: string }[]) => entries.map((e) => e.name);
    expect(
      names(catalogFor(catalog, { tools: { include: ['*'], exclude: ['files__delete*'] } })),
    ).toEqual(['calc__add', 'files__read']);
    expect(
      names(catalogFor(catalog, { tools: { include: ['*'], exclude: [] }, servers: ['calc'] })),
    ).toEqual(['calc__add']);
  });
});
