import { describe, expect, it } from 'vitest';
import { ServerInputSchema } from '@tether/protocol';
import { parseConfig } from '../../src/config/index.js';

const config = (server: object) =>
  parseConfig(JSON.stringify({ mcpServers: { calc: { command: 'node', ...server } } }), {
    env: {},
  });

describe('a server’s pingIntervalMs', () => {
  it('is read from the file, 0 switching pings off', () => {
    expect(config({ pingIntervalMs: 5000 }).servers[0]).toMatchObject({ pingIntervalMs: 5000 });
    expect(config({ pingIntervalMs: 0 }).servers[0]).toMatchObject({ pingIntervalMs: 0 });
    expect(config({}).servers[0]).not.toHaveProperty('pingIntervalMs');
  });

  it('under a second is refused, in the file and through the API', () => {
    expect(() => config({ pingIntervalMs: 200 })).toThrow(
      /pingIntervalMs: must be 0 \(never ping\) or at least 1000, got 200/,
    );
    expect(() => config({ pingIntervalMs: -1 })).toThrow(/pingIntervalMs/);
    const input = { name: 'calc', type: 'stdio', command: 'node' };
    expect(ServerInputSchema.safeParse({ ...input, pingIntervalMs: 200 }).success).toBe(false);
    expect(ServerInputSchema.parse({ ...input, pingIntervalMs: 2000 })).toMatchObject({
      pingIntervalMs: 2000,
    });
  });
});
