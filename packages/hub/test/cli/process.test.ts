import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub } from './harness.js';
import type { TestHub } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ADMIN = 'admin-token-of-the-process-test';

/**
 * `tether ARGS…` as a process, from the sources through tsx (the build may be older than them),
 * the sibling packages resolved to their sources as vitest resolves them.
 */
function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      {
        cwd: ROOT,
        timeout: 20_000,
        env: {
          PATH: process.env.PATH,
          TSX_TSCONFIG_PATH: `${ROOT}tsconfig.tests.json`,
          NO_COLOR: '1',
          ...env,
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('tether as a process', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ adminToken: ADMIN });
  });
  afterAll(() => hub.stop());

  it('exits 4 with a JSON error on stderr and nothing on stdout when the token is missing, and 0 with it', async () => {
    const [refused, listed, tools] = await Promise.all([
      run(['endpoint', 'list', '--json', '--url', hub.url]),
      run(['endpoint', 'list', '--json'], { TETHER_URL: hub.url, TETHER_ADMIN_TOKEN: ADMIN }),
      // The older client commands share the handling: `tether tools` too.
      run(['tools', '--json', '--url', hub.url]),
    ]);
    expect(refused).toMatchObject({ code: 4, stdout: '' });
    expect(JSON.parse(refused.stderr)).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message: 'this hub needs its admin token: set TETHER_ADMIN_TOKEN or pass --token',
      },
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((e) => e.name)).toEqual([
      'living-room',
    ]);
    expect(tools).toMatchObject({ code: 4, stdout: '' });
    expect(JSON.parse(tools.stderr)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('imports an xiaozhi-client file with Chinese names and disabled tools into excludes the hub will match', async () => {
    const file = fileURLToPath(
      new URL('../fixtures/import/xiaozhi/xiaozhi.config.json', import.meta.url),
    );
    const imported = await run(['import', file]);
    expect(imported.code, imported.stderr).toBe(0);
    const config = JSON.parse(imported.stdout) as {
      mcpServers: Record<string, { cwd?: string; headers?: Record<string, string> }>;
      endpoints: Array<{ tools?: { exclude?: string[] } }>;
    };
    expect(Object.keys(config.mcpServers)).toContain('gaode_ditu');
    expect(config.mcpServers.gaode_ditu?.headers?.Authorization).toMatch(/^Bearer /);
    expect(config.endpoints[0]?.tools?.exclude).toEqual(
      expect.arrayContaining(['gaode_ditu__echo', 'calculator__clear_memory']),
    );
    // The key is in the config (as the source had it), never in the notes on stderr.
    expect(imported.stderr).not.toContain('ms-5f1c2a9e');
  });

  it('lists the new commands in its help', async () => {
    const help = await run(['--help']);
    for (const command of ['endpoint', 'server', 'tool', 'config', 'service'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    const server = await run(['server', 'add', '--help']);
    expect(server.stdout).toContain('tether server add calc -- node /home/me/calc.js');
  });
});
