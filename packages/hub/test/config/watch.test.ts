import type * as NodeFs from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, watchConfig } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/index.js';
import { put, tempDir } from './helpers.js';

// Pass-through fs.watch that records whether each watcher was closed.
const watchers = vi.hoisted(() => [] as Array<{ closed: boolean }>);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  const watch = ((...args: Parameters<typeof fs.watch>) => {
    const watcher = fs.watch(...args);
    const record = { closed: false };
    watchers.push(record);
    const close = watcher.close.bind(watcher);
    watcher.close = () => {
      record.closed = true;
      close();
    };
    return watcher;
  }) as typeof fs.watch;
  return { ...fs, watch, default: { ...fs, watch } };
});

const WAIT = { timeout: 5_000, interval: 20 };
const endpointFile = (url: string) => JSON.stringify({ endpoints: [{ name: 'home', url }] });

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function watched(initial: string) {
  const dir = await tempDir();
  const file = await put(dir, 'tether.config.json', initial);
  const { config } = await loadConfig({ file, env: {} });
  const changes: TetherConfig[] = [];
  const errors: Error[] = [];
  const stop = watchConfig(
    file,
    (c) => changes.push(c),
    (e) => errors.push(e),
    {
      env: {},
      debounceMs: 50,
      current: config,
    },
  );
  stops.push(stop);
  return { dir, file, changes, errors, stop };
}

describe('watchConfig: edits apply without a restart', () => {
  it('applies a change, survives a broken save, then applies the fix', async () => {
    const { file, changes, errors } = await watched(endpointFile('wss://a.test/mcp'));

    await writeFile(file, endpointFile('wss://b.test/mcp'));
    await vi.waitFor(() => expect(changes).toHaveLength(1), WAIT);
    expect(changes[0]?.endpoints[0]?.url).toBe('wss://b.test/mcp');

    await writeFile(file, '{ "endpoints": [ { "name": "home", "url": "https://oops" } ] }');
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toBeInstanceOf(ConfigError);
    expect(errors[0]?.message).toBe(
      `${file}: endpoints[0].url: must start with ws:// or wss:// (found https://)`,
    );
    expect(changes).toHaveLength(1);

    await writeFile(file, endpointFile('wss://c.test/mcp'));
    await vi.waitFor(() => expect(changes).toHaveLength(2), WAIT);
    expect(changes[1]?.endpoints[0]?.url).toBe('wss://c.test/mcp');
  });

  it('follows an editor that saves by renaming a temp file over the original', async () => {
    const { dir, file, changes } = await watched(endpointFile('wss://a.test/mcp'));
    const temp = join(dir, '.tether.config.json.swp');
    await writeFile(temp, endpointFile('wss://renamed.test/mcp'));
    await rename(temp, file);
    await vi.waitFor(
      () => expect(changes.at(-1)?.endpoints[0]?.url).toBe('wss://renamed.test/mcp'),
      WAIT,
    );
  });

  it('a save that changes nothing (same content, touched) is not reported', async () => {
    const { dir, file, changes, errors } = await watched(endpointFile('wss://a.test/mcp'));
    await writeFile(file, endpointFile('wss://a.test/mcp'));
    await writeFile(file, `${endpointFile('wss://a.test/mcp')}\n`);
    // Other files in the same folder are not ours.
    await put(dir, 'other.json', '{ broken');
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toEqual([]);
    expect(errors).toEqual([]);
    // Still watching: a real change comes through, once.
    await writeFile(file, endpointFile('wss://b.test/mcp'));
    await vi.waitFor(() => expect(changes).toHaveLength(1), WAIT);
  });

  it('after stop() nothing is reported and the watcher is closed', async () => {
    const opened = watchers.length;
    const { file, changes, errors, stop } = await watched(endpointFile('wss://a.test/mcp'));
    const watcher = watchers[opened];
    expect(watcher?.closed).toBe(false);
    // Stop while a reload is pending: the timer must not fire into a stopped watch.
    await writeFile(file, endpointFile('wss://b.test/mcp'));
    stop();
    stop();
    expect(watcher?.closed).toBe(true);
    await writeFile(file, endpointFile('wss://c.test/mcp'));
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toEqual([]);
    expect(errors).toEqual([]);
  });
});
