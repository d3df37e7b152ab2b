import { describe, expect, it } from 'vitest';
import { absentEntry, buildCatalog, catalogFor } from '../../src/catalog/catalog.js';
import { RESERVED_NAMES } from '../../src/catalog/names.js';
import { RESULT_TOOL } from '../../src/endpoint/jobs.js';

const tool = (name: string) => ({ name, inputSchema: { type: 'object' } });
const names = (servers: Parameters<typeof buildCatalog>[0]) =>
  buildCatalog(servers).map((e) => e.name);
const VALID = /^[A-Za-z0-9_-]{1,64}$/;

describe('toolPrefix: what the served names start with', () => {
  it('is the server name by default, as before', () => {
    expect(names([{ server: 'weather', tools: [tool('forecast')] }])).toEqual([
      'weather__forecast',
    ]);
  });

  it('is the prefix a server sets, and the tool still runs on its own server', () => {
    const [entry] = buildCatalog([{ server: 'weather', prefix: 'wx', tools: [tool('forecast')] }]);
    expect(entry).toMatchObject({
      name: 'wx__forecast',
      server: 'weather',
      tool: 'forecast',
      definition: { name: 'wx__forecast' },
    });
  });

  it('is nothing with "": the tool keeps its own name, sanitised', () => {
    expect(
      names([{ server: 'home assistant', prefix: '', tools: [tool('light.turn_on'), tool('x')] }]),
    ).toEqual(['light_turn_on', 'x']);
  });

  it('gives colliding names a hash each, whatever order the servers came up in', () => {
    const servers = [
      { server: 'bing', prefix: '', tools: [tool('search')] },
      { server: 'google', prefix: '', tools: [tool('search')] },
      // Two prefixes that meet: `web__search` both ways.
      { server: 'web', tools: [tool('search')] },
      { server: 'other', prefix: 'web', tools: [tool('search')] },
    ];
    const forward = buildCatalog(servers);
    const backward = buildCatalog([...servers].reverse());
    expect(forward).toEqual(backward);
    const byServer = Object.fromEntries(forward.map((e) => [e.server, e.name]));
    expect(byServer['bing']).toMatch(/^search_[0-9a-f]{6}$/);
    expect(byServer['google']).toMatch(/^search_[0-9a-f]{6}$/);
    expect(byServer['bing']).not.toBe(byServer['google']);
    expect(byServer['web']).toMatch(/^web__search_[0-9a-f]{6}$/);
    expect(byServer['other']).toMatch(/^web__search_[0-9a-f]{6}$/);
    for (const e of forward) expect(e.name).toMatch(VALID);
  });

  it("never serves a server's tool under one of Tether's own names", () => {
    expect(RESERVED_NAMES.has(RESULT_TOOL.name)).toBe(true);
    const served = names([
      { server: 'tether', tools: [tool('result')] },
      { server: 'x', prefix: '', tools: [tool('tether__find_tools'), tool('tether__call_tool')] },
    ]);
    for (const name of served) {
      expect(RESERVED_NAMES.has(name)).toBe(false);
      expect(name).toMatch(VALID);
    }
    expect(served).toHaveLength(3);
  });

  it('keeps long prefixed names at most 64 characters', () => {
    const [entry] = buildCatalog([
      { server: 's', prefix: 'p'.repeat(61), tools: [tool('t'.repeat(30))] },
    ]);
    expect(entry!.name).toMatch(VALID);
    expect(entry!.name).toHaveLength(64);
  });
});

describe('include and exclude globs match the names as served', () => {
  const catalog = buildCatalog([
    { server: 'weather', prefix: 'wx', tools: [tool('forecast'), tool('alerts')] },
    { server: 'calc', prefix: '', tools: [tool('add')] },
  ]);
  const filter = (include: string[], exclude: string[] = []) =>
    catalogFor(catalog, { tools: { include, exclude } }).map((e) => e.name);

  it('selects a prefixed server by its prefix, not by its name', () => {
    expect(filter(['wx__*'])).toEqual(['wx__alerts', 'wx__forecast']);
    expect(filter(['weather__*'])).toEqual([]);
    expect(filter(['*'], ['wx__alerts'])).toEqual(['add', 'wx__forecast']);
    expect(filter(['add'])).toEqual(['add']);
  });
});

describe('a call to a tool of a server that is down', () => {
  it('is still recognised by its prefixed name, and not when the server has no prefix', () => {
    const down = [
      { server: 'weather', prefix: 'wx', tools: [], ready: false },
      { server: 'calc', prefix: '', tools: [], ready: false },
    ];
    expect(absentEntry('wx__forecast', down)).toMatchObject({
      server: 'weather',
      tool: 'forecast',
    });
    expect(absentEntry('weather__forecast', down)).toBeUndefined();
    expect(absentEntry('add', down)).toBeUndefined();
    const listedBefore = [{ server: 'weather', prefix: 'wx', tools: [tool('f')], ready: false }];
    expect(absentEntry('wx__f', listedBefore)).toMatchObject({ server: 'weather', tool: 'f' });
  });
});
