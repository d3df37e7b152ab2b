import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { isAlive } from './helpers.js';

const upstreamModule = fileURLToPath(new URL('../../src/upstream/index.ts', import.meta.url));
const loggerModule = fileURLToPath(new URL('../../src/log/logger.ts', import.meta.url));

/**
 * A stand-in hub: starts one stdio upstream whose `sh` leaves a `sleep` in the group, prints
 * the pids, and exits without stopping anything.
 */
const hubScript = `
import { Upstream } from ${JSON.stringify(upstreamModule)};
import { silentLogger } from ${JSON.stringify(loggerModule)};
const [command, ...args] = JSON.parse(process.env.FAKE);
const script = 'sleep 300 & echo "$!" >&2; exec "$0" "$@"';
const upstream = new Upstream(
  { name: 'f', type: 'stdio', enabled: true, command: 'sh', args: ['-c', script, command, ...args], env: {} },
  { logger: silentLogger() },
);
await upstream.start();
const { pid, stderrTail, state } = upstream.status;
console.log(JSON.stringify({ pid, sleeper: Number(stderrTail[0]), state }));
process.exit(0);
`;

describe('the hub process', () => {
  it('takes its servers, and whatever they started, with it when it exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-hub-exit-'));
    const file = join(dir, 'hub.mts');
    writeFileSync(file, hubScript);
    const { command, args } = fakeStdioServerParams();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, FAKE: JSON.stringify([command, ...args]) },
      timeout: 15_000,
    });
    const { pid, sleeper, state } = JSON.parse(stdout) as Record<string, unknown>;
    expect(state).toBe('ready');
    expect(typeof pid).toBe('number');
    expect(sleeper).toBeGreaterThan(0);
    await waitUntil(() => !isAlive(pid as number) && !isAlive(sleeper as number), {
      timeoutMs: 2000,
      what: 'the server and its grandchild to die',
    });
  });
});
