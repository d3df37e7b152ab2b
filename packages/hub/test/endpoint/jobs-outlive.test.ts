import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/types.js';
import { Hub } from '../../src/hub.js';
import { silentLogger } from '../../src/log/logger.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { command, args } = fakeStdioServerParams();

function textOf(answer: unknown): string {
  return JSON.stringify(answer);
}

describe('a call answered early', () => {
  it('hands its result over after its endpoint was switched off and on again', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const config: TetherConfig = {
      endpoints: [
        {
          name: 'home',
          url: sim.url('home'),
          enabled: true,
          tools: { include: ['*'], exclude: [] },
          source: 'file',
        },
      ],
      servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
      hub: { ...DEFAULT_HUB, port: 0, earlyReplyMs: 200, callTimeoutMs: 10_000 },
      notifications: [],
    };
    const hub = new Hub(config, { logger: silentLogger() });
    cleanups.push(() => hub.stop());
    await hub.start();
    await sim.waitForReady({ token: 'home', timeoutMs: 10_000 });

    const early = await sim.callTool(
      'fake__slow',
      { ms: 1_500, text: 'worth the wait' },
      { token: 'home', timeoutMs: 5_000 },
    );
    const job = /job\\?": \\?"([0-9a-f]+)/.exec(textOf(early))?.[1];
    expect(job, textOf(early)).toBeDefined();

    // A person switches the endpoint off while the job runs, and on again once it finished.
    await hub.setEnabled('home', false);
    await waitUntil(() => sim.sockets('home').every((s) => s.state === 'closed'), {
      timeoutMs: 5_000,
      what: 'the socket to close',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await hub.setEnabled('home', true);
    await waitUntil(() => sim.sockets('home').some((s) => s.state === 'ready'), {
      timeoutMs: 10_000,
      what: 'a new ready socket',
    });

    const result = await sim.callTool(
      'tether__result',
      { job },
      { token: 'home', timeoutMs: 5_000 },
    );
    expect(textOf(result)).toContain('worth the wait');
  });
});
