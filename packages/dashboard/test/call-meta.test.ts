import { describe, expect, it } from 'vitest';
import { callDoor, repairLine } from '../src/call-meta.js';
import { translator } from '../src/i18n.js';

const en = translator('en');
const zh = translator('zh-CN');

describe('the call log says where a call came from', () => {
  it('names the MCP client that made an /mcp call, in both languages', () => {
    const call = { endpointId: null, meta: { via: 'mcp' as const, client: 'Cursor 1.2' } };
    expect(callDoor(call, en)).toBe('MCP: Cursor 1.2');
    expect(callDoor(call, zh)).toBe('MCP：Cursor 1.2');
    expect(callDoor({ endpointId: null, meta: { via: 'mcp' as const } }, en)).toBe('MCP client');
  });

  it('says API for a call from the API or tether call, and nothing for an endpoint’s call', () => {
    expect(callDoor({ endpointId: null }, en)).toBe('API');
    expect(callDoor({ endpointId: null, meta: { via: 'api' as const } }, en)).toBe('API');
    expect(callDoor({ endpointId: 'e1', meta: { via: 'router' as const } }, en)).toBeNull();
  });

  it('shows a repair as path, before → after and the rule', () => {
    expect(
      repairLine({ path: '/user_name', kind: 'rename', before: 'userName', after: 'user_name' }),
    ).toBe('/user_name: userName → user_name (rename)');
    expect(repairLine({ path: '/count', kind: 'number', before: '5', after: 5 })).toBe(
      '/count: "5" → 5 (number)',
    );
    expect(repairLine({ path: '/tags', kind: 'wrap', before: 'a', after: ['a'] })).toBe(
      '/tags: "a" → ["a"] (wrap)',
    );
  });
});
