import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenStoreOptions } from '../../src/store/index.js';

const storeModule = fileURLToPath(new URL('../../src/store/index.ts', import.meta.url));

/**
 * A stand-in hub: writes an endpoint, its status and a timeline entry, says "ready", then waits
 * to be killed. It never closes the store, so nothing gets a chance to checkpoint or flush.
 */
const script = `
import { openStore } from ${JSON.stringify(storeModule)};
const { options, id } = JSON.parse(process.env.STORE_TEST);
const store = await openStore(options);
await store.migrate();
await store.endpoints.put({ id, name: id, url: 'wss://x.test/mcp', enabled: true, source: 'api',
  tools: { include: [], exclude: [] }, servers: null, overrides: {} });
await store.status.write({ endpointId: id, state: 'ready', since: 1, lastCloseCode: null,
  lastCloseReason: null, lastCloseAt: null, lastError: null, attempts: 0, nextRetryAt: null,
  health: 1, owner: 'doomed', fence: 5, updatedAt: 1 });
await store.timeline.append({ endpointId: id, at: 1, from: 'open', to: 'ready', cause: 'ready',
  code: null, reason: null, detectedBy: null, instance: 'doomed' });
process.stdout.write('ready\\n');
setInterval(() => {}, 60_000);
`;

/** Runs the stand-in in its own process and SIGKILLs it once its writes have returned. */
export async function writeThenKill9(options: OpenStoreOptions, id: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-store-kill-'));
  const file = join(dir, 'doomed.mts');
  writeFileSync(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, STORE_TEST: JSON.stringify({ options, id }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      void exited.then(() => reject(new Error(`the writer exited early: ${stderr}`)));
    });
    child.kill('SIGKILL');
    const signal = await exited;
    if (signal !== 'SIGKILL') throw new Error(`the writer ended with ${String(signal)}`);
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}
