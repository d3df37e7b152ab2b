import { describe, expect, it } from 'vitest';
import { diffConfig, isEmptyDiff, parseConfig } from '../../src/config/index.js';

const config = (document: object) => parseConfig(JSON.stringify(document), { env: {} });

const base = {
  endpoints: [
    { name: 'home', url: 'wss://a.test/mcp' },
    { name: 'office', url: 'wss://b.test/mcp' },
  ],
  mcpServers: {
    calc: { command: 'node', args: ['calc.js'] },
    weather: { url: 'https://w.test/mcp', headers: { Authorization: 'Bearer 1' } },
  },
};

describe('diffConfig: a reload touches only what changed', () => {
  it('an identical config changes nothing', () => {
    const diff = diffConfig(config(base), config(base));
    expect(diff).toEqual({
      endpoints: { added: [], removed: [], changed: [], unchanged: ['home', 'office'] },
      servers: {
        added: [],
        removed: [],
        changed: [],
        unchanged: ['calc', 'weather'],
        retooled: [],
      },
      hubChanged: false,
    });
    expect(isEmptyDiff(diff)).toBe(true);
  });

  it('added, removed and changed endpoints and servers are told apart by name', () => {
    const next = config({
      endpoints: [
        { name: 'home', url: 'wss://a.test/mcp', tools: { exclude: ['calc__*'] } },
        { name: 'garage', url: 'wss://c.test/mcp' },
      ],
      mcpServers: {
        calc: { command: 'node', args: ['calc.js'] },
        // A nested change (a header) counts as a change.
        weather: { url: 'https://w.test/mcp', headers: { Authorization: 'Bearer 2' } },
        notes: { command: 'notes' },
      },
    });
    const diff = diffConfig(config(base), next);
    expect(diff).toEqual({
      endpoints: { added: ['garage'], removed: ['office'], changed: ['home'], unchanged: [] },
      servers: {
        added: ['notes'],
        removed: [],
        changed: ['weather'],
        unchanged: ['calc'],
        retooled: [],
      },
      hubChanged: false,
    });
    expect(isEmptyDiff(diff)).toBe(false);
  });

  it('a change of hub settings is flagged on its own', () => {
    const diff = diffConfig(config(base), config({ ...base, hub: { callTimeoutMs: 10_000 } }));
    expect(diff.hubChanged).toBe(true);
    expect(diff.endpoints.changed).toEqual([]);
    expect(diff.servers.changed).toEqual([]);
  });
});
