import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ToolCallEntry } from '../../src/store/types.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two endpoints on one fake server: `fixes` has argument repair on, `plain` does not. */
async function started() {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const { command, args } = fakeStdioServerParams();
  const endpoint = (name: string, repairArguments: boolean) => ({
    name,
    url: sim.url(name),
    enabled: true,
    tools: { include: ['*'], exclude: [], repairArguments },
    source: 'file' as const,
  });
  const config: TetherConfig = {
    endpoints: [endpoint('fixes', true), endpoint('plain', false)],
    servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
    hub: { ...DEFAULT_HUB, port: 0, earlyReplyMs: 0 },
    notifications: [],
  };
  const hub = new Hub(config, { logger: silentLogger() });
  cleanups.push(() => hub.stop());
  const calls: ToolCallEntry[] = [];
  hub.on('call', (entry) => void calls.push(entry));
  await hub.start();
  await sim.waitForReady({ token: 'fixes', timeoutMs: 10_000 });
  await sim.waitForReady({ token: 'plain', timeoutMs: 10_000 });
  return { sim, calls };
}

const result = (outcome: unknown) =>
  (outcome as { result: { content: Array<{ text: string }>; isError?: boolean } }).result;

describe('argument repair on an endpoint', () => {
  it('a model that writes {"A": "2", "b": "3"} gets 5 from a tool that wants numbers a and b, and the log says what was repaired', async () => {
    const { sim, calls } = await started();
    const outcome = await sim.callTool('fake__add', { A: '2', b: '3' }, { token: 'fixes' });
    expect(result(outcome).content[0]!.text).toBe('5');
    await waitUntil(() => calls.some((c) => c.endpointId === 'fixes'), { what: 'the log row' });
    expect(calls.find((c) => c.endpointId === 'fixes')).toMatchObject({
      tool: 'fake__add',
      outcome: 'ok',
      meta: {
        repairs: expect.arrayContaining([
          { path: '/a', kind: 'rename', before: 'A', after: 'a' },
          { path: '/b', kind: 'number', before: '3', after: 3 },
        ]),
      },
    });
  });

  it('is off unless asked: the same arguments reach the tool as sent, and its own error reaches the model', async () => {
    const { sim, calls } = await started();
    const outcome = await sim.callTool('fake__add', { A: '2', b: '3' }, { token: 'plain' });
    expect(result(outcome).isError).toBe(true);
    await waitUntil(() => calls.some((c) => c.endpointId === 'plain'), { what: 'the log row' });
    expect(calls.find((c) => c.endpointId === 'plain')?.meta?.repairs).toBeUndefined();
  });

  it('leaves arguments that already fit untouched and logs no repair', async () => {
    const { sim, calls } = await started();
    const outcome = await sim.callTool('fake__add', { a: 2, b: 3 }, { token: 'fixes' });
    expect(result(outcome).content[0]!.text).toBe('5');
    await waitUntil(() => calls.some((c) => c.endpointId === 'fixes'), { what: 'the log row' });
    expect(calls.find((c) => c.endpointId === 'fixes')?.meta).toBeUndefined();
  });
});
