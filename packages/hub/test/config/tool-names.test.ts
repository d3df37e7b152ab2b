import { describe, expect, it } from 'vitest';
import { diffConfig, isEmptyDiff, parseConfig } from '../../src/config/index.js';
import type { ConfigError } from '../../src/config/index.js';

const config = (document: object) => parseConfig(JSON.stringify(document), { env: {} });

/** The issues of a refused document, as `PATH: MESSAGE`. */
function refused(document: object): string[] {
  try {
    config(document);
  } catch (error) {
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the document to be refused');
}

const endpoint = { name: 'home', url: 'wss://a.test/mcp' };

describe('toolPrefix in a server definition', () => {
  it('is read as written, "" included, and absent when not given (the server name applies)', () => {
    const { servers } = config({
      mcpServers: {
        weather: { command: 'w', toolPrefix: 'wx' },
        calc: { command: 'c', toolPrefix: '' },
        notes: { command: 'n' },
      },
    });
    expect(servers.map((s) => [s.name, s.toolPrefix])).toEqual([
      ['weather', 'wx'],
      ['calc', ''],
      ['notes', undefined],
    ]);
    expect('toolPrefix' in servers[2]!).toBe(false);
  });

  it('is refused, at its path, when it could not begin a valid tool name', () => {
    expect(
      refused({
        mcpServers: {
          a: { command: 'a', toolPrefix: 'home assistant' },
          b: { command: 'b', toolPrefix: 'x'.repeat(62) },
          c: { command: 'c', toolPrefix: 'wx__' },
          d: { command: 'd', toolPrefix: 7 },
        },
      }),
    ).toEqual([
      'mcpServers.a.toolPrefix: may hold only letters, digits, "_" and "-" (it begins every tool name)',
      'mcpServers.b.toolPrefix: must be at most 61 characters (names are at most 64)',
      'mcpServers.c.toolPrefix: must not end with "__": Tether puts "__" between prefix and tool',
      'mcpServers.d.toolPrefix: must be a string, got number 7',
    ]);
  });

  it('is suggested for a near miss of its spelling', () => {
    expect(refused({ mcpServers: { a: { command: 'a', toolprefix: 'x' } } })).toEqual([
      'mcpServers.a.toolprefix: unknown key (did you mean "toolPrefix"?)',
    ]);
  });
});

describe('tools.budget and tools.pinned on an endpoint', () => {
  it('are read beside include and exclude, and absent when not given', () => {
    const { endpoints } = config({
      endpoints: [
        { ...endpoint, tools: { budget: 20, pinned: ['calc__add', 'music__*'] } },
        { name: 'office', url: 'wss://b.test/mcp' },
      ],
    });
    expect(endpoints[0]!.tools).toEqual({
      include: ['*'],
      exclude: [],
      budget: 20,
      pinned: ['calc__add', 'music__*'],
    });
    expect(endpoints[1]!.tools).toEqual({ include: ['*'], exclude: [] });
  });

  it('refuses a budget that is not a whole number of at least 1, and an empty pinned entry', () => {
    expect(
      refused({
        endpoints: [
          { ...endpoint, tools: { budget: 0 } },
          { name: 'b', url: 'wss://b.test/mcp', tools: { budget: 2.5, pinned: ['', 3] } },
          { name: 'c', url: 'wss://c.test/mcp', tools: { budgte: 5 } },
        ],
      }),
    ).toEqual([
      'endpoints[0].tools.budget: must be a whole number >= 1, got 0',
      'endpoints[1].tools.budget: must be a whole number >= 1, got 2.5',
      'endpoints[1].tools.pinned[1]: must be a string, got number 3',
      'endpoints[2].tools.budgte: unknown key (did you mean "budget"?)',
    ]);
  });
});

describe('tools.repairArguments', () => {
  it('is off unless set, and must be true or false', () => {
    expect(config({ endpoints: [endpoint] }).endpoints[0]!.tools.repairArguments).toBeUndefined();
    expect(
      config({ endpoints: [{ ...endpoint, tools: { repairArguments: true } }] }).endpoints[0]!.tools
        .repairArguments,
    ).toBe(true);
    expect(refused({ endpoints: [{ ...endpoint, tools: { repairArguments: 'yes' } }] })).toEqual([
      'endpoints[0].tools.repairArguments: must be true or false, got string "yes"',
    ]);
  });
});

describe('a reload that changes how tools are named', () => {
  const before = { endpoints: [endpoint], mcpServers: { weather: { command: 'w' } } };

  it('says the server was retooled, not changed: it keeps running, the catalog changes', () => {
    const diff = diffConfig(
      config(before),
      config({ ...before, mcpServers: { weather: { command: 'w', toolPrefix: 'wx' } } }),
    );
    expect(diff.servers).toEqual({
      added: [],
      removed: [],
      changed: [],
      unchanged: [],
      retooled: ['weather'],
    });
    expect(isEmptyDiff(diff)).toBe(false);
  });

  it('counts new descriptions as a retooling too, and a new command with a prefix as a change', () => {
    const described = diffConfig(
      config(before),
      config({ ...before, mcpServers: { weather: { command: 'w', descriptions: { f: 'F' } } } }),
    );
    expect(described.servers.retooled).toEqual(['weather']);
    const moved = diffConfig(
      config(before),
      config({ ...before, mcpServers: { weather: { command: 'w2', toolPrefix: 'wx' } } }),
    );
    expect(moved.servers).toMatchObject({ changed: ['weather'], retooled: [] });
  });

  it('treats a budget change as a change of the endpoint (its tool set), not of a server', () => {
    const diff = diffConfig(
      config(before),
      config({ ...before, endpoints: [{ ...endpoint, tools: { budget: 10 } }] }),
    );
    expect(diff.endpoints.changed).toEqual(['home']);
    expect(diff.servers.retooled).toEqual([]);
  });
});
