import { fileURLToPath } from 'node:url';
import { EndpointSimulator } from '@tether/testkit';
import type { TetherConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';

/** The sample server's compiled entry; the same path from src/demo (tests) and dist/demo. */
export const sampleServerPath = fileURLToPath(
  new URL('../../dist/demo/sample-server.js', import.meta.url),
);

const DEVICE_CALLS: Array<[string, () => Record<string, unknown>]> = [
  ['sample__add', () => ({ a: roll(100), b: roll(100) })],
  ['sample__multiply', () => ({ a: roll(12), b: roll(12) })],
  ['sample__now', () => ({})],
  ['sample__roll_dice', () => ({ sides: 20 })],
  ['sample__note_add', () => ({ text: `demo note ${roll(1000)}` })],
  ['sample__notes_list', () => ({})],
];

function roll(n: number): number {
  return 1 + Math.floor(Math.random() * n);
}

export interface Demo {
  config: TetherConfig;
  simulator: EndpointSimulator;
  stop(): Promise<void>;
}

/**
 * `npm start` with no configuration: the endpoint simulator plays a Xiaozhi endpoint, the
 * bundled sample server provides tools, and a simulated device calls one now and then.
 */
export async function startDemo(
  base: TetherConfig,
  logger: Logger,
  callEveryMs = 8_000,
): Promise<Demo> {
  const simulator = await EndpointSimulator.start({ jsonRpcPing: { intervalMs: 30_000 } });
  const config: TetherConfig = {
    ...base,
    endpoints: [
      {
        name: 'demo-device',
        url: simulator.url('demo-token'),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      },
    ],
    servers: [
      {
        name: 'sample',
        type: 'stdio',
        command: process.execPath,
        args: [sampleServerPath],
        env: {},
        enabled: true,
      },
    ],
  };
  let turn = 0;
  const timer = setInterval(() => {
    const [tool, args] = DEVICE_CALLS[turn++ % DEVICE_CALLS.length]!;
    simulator
      .callTool(tool, args(), { token: 'demo-token' })
      .then((outcome) => {
        if (!outcome.ok)
          return logger.warn(
            { tool },
            `demo device call to ${tool} failed: ${outcome.error.message}`,
          );
        const shown = JSON.stringify(
          (outcome.result as { content?: unknown }).content ?? outcome.result,
        );
        logger.info({ tool, ms: outcome.ms }, `demo device called ${tool}: ${shown.slice(0, 120)}`);
      })
      .catch((error: Error) => logger.warn({ tool }, `demo device call failed: ${error.message}`));
  }, callEveryMs);
  timer.unref();
  return {
    config,
    simulator,
    stop: async () => {
      clearInterval(timer);
      await simulator.close();
    },
  };
}
