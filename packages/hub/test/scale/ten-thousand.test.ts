// One instance with 10,000 endpoints in its configuration file (issue #13): `tether start`
// provisions every one into SQLite within the parameter limits, and its API reports every one
// ready, each with a single socket at the endpoint. No timing is asserted here (`npm run bench`
// measures it). The hub is its own process, as in use: one process holding both ends of 10,000
// sockets would meet the open-files limit. It runs after the main suite, alone
// (vitest.cluster.config.ts), as it needs the whole machine; it runs the built dist.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator, waitUntil } from '@tether/testkit';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const COUNT = 10_000;
const bin = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Listed {
  id: string;
  state: string;
}

describe('one instance with 10,000 endpoints in its configuration file', () => {
  it('starts and reports all 10,000 ready, one socket each at the endpoint', async () => {
    const sim = await EndpointSimulator.start({ maxFrames: 1_000 });
    cleanups.push(() => sim.close());
    const home = mkdtempSync(join(tmpdir(), 'tether-10k-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const config = join(home, 'tether.config.json');
    const names = Array.from({ length: COUNT }, (_, i) => `ep-${i}`);
    writeFileSync(
      config,
      JSON.stringify({ endpoints: names.map((name) => ({ name, url: sim.url(name) })) }),
    );
    const port = await freePort();
    let output = '';
    const child = spawn(
      process.execPath,
      [bin, 'start', '--config', config, '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TETHER_HOME: home, DATABASE_URL: '', REDIS_URL: '' },
      },
    );
    // What the hub said, for the failure message (the last few kilobytes only).
    const keep = (chunk: Buffer) => (output = (output + String(chunk)).slice(-4_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    cleanups.push(() => child.kill('SIGKILL'));

    let listed: Listed[] = [];
    const read = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/endpoints`);
        if (res.ok) listed = (await res.json()) as Listed[];
      } catch {
        // Not listening yet.
      }
      return listed;
    };
    await waitUntil(async () => (await read()).length === COUNT, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      what: `the hub to list ${COUNT} endpoints`,
    }).catch((error: Error) => {
      throw new Error(`${error.message}; it listed ${listed.length}; it said:\n${output}`);
    });
    expect(new Set(listed.map((e) => e.id))).toEqual(new Set(names));

    const ready = () => listed.filter((e) => e.state === 'ready').length;
    await waitUntil(async () => (await read()) && ready() === COUNT, {
      timeoutMs: 240_000,
      intervalMs: 2_000,
      what: `every endpoint ready`,
    }).catch((error: Error) => {
      throw new Error(`${error.message}; ${ready()} were; the hub said:\n${output}`);
    });
    const atTheEndpoint = sim.sockets().filter((s) => s.kind === 'provider' && s.state === 'ready');
    expect(new Set(atTheEndpoint.map((s) => s.token))).toEqual(new Set(names));
    expect(names.filter((name) => sim.accounting(name).maxOpen > 1)).toEqual([]);
  }, 400_000);
});
