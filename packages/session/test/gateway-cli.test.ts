import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cleanup } from './helpers.js';
import { recordingClient, settle } from './helpers.js';
import { startCountingUpstream } from './fixtures/counting-upstream.js';
import { closesOf, parsed } from './gateway-helpers.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The built CLI (npm test builds first), as a person runs it.
const bin = fileURLToPath(new URL('../../hub/bin/tether.js', import.meta.url));

describe('tether session-gateway', () => {
  it('starts, prints the URL clients dial (with the real port), relays, and stops on SIGTERM', async () => {
    const upstream = await startCountingUpstream();
    cleanups.push(() => upstream.close());
    const child = spawn(
      process.execPath,
      [bin, 'session-gateway', '--listen', '127.0.0.1:0', '--upstream', `${upstream.url}/base`],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TETHER_LOG_LEVEL: 'info' } },
    );
    cleanups.push(() => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    await settle('the listening line', () => stdout.includes('\n'), 15_000).catch((error) => {
      throw new Error(`${(error as Error).message}; stderr: ${stderr}`);
    });
    const first = stdout.split('\n')[0]!;
    const url = /^session gateway on (ws:\/\/127\.0\.0\.1:(\d+)\/) → /.exec(first);
    expect(url, first).not.toBeNull();
    expect(Number(url![2])).toBeGreaterThan(0);
    expect(first).toContain(`${upstream.url}/base`);

    const { client, received } = recordingClient(cleanups, `${url![1]}chat?token=s3cret`);
    const closes = closesOf(client);
    await client.connect();
    await settle('the greeting', () => received.length === 1);
    expect(parsed(received)).toEqual([
      { type: 'greeting', connection: 1, path: '/base/chat?token=s3cret' },
    ]);
    await settle('the start in the log', () => stdout.includes('session started'));
    const started = stdout
      .split('\n')
      .filter((line) => line.includes('session started'))
      .map((line) => JSON.parse(line) as { upstream: string; session: string });
    expect(started).toEqual([
      expect.objectContaining({ upstream: `${upstream.url}/base/chat?token=***` }),
    ]);
    expect(stdout).not.toContain('s3cret');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await settle('the upstream closed', () => upstream.closes.length === 1);
    expect(upstream.closes[0]).toMatchObject({ code: 1001, reason: 'gateway going away' });
    await settle('the client told', () => closes.length >= 1);
    expect(closes[0]!.code).toBe(1001);
  });
});
