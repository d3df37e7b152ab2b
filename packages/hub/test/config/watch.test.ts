import type * as NodeFs from 'node:fs';
import { rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeAtomically } from '../../src/cli/config-file.js';
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

async function watched(initial: string, at?: string) {
  const dir = await tempDir();
  const file = at ?? (await put(dir, 'tether.config.json', initial));
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

describe('watchConfig: a config that is a symlink', () => {
  /** A config in its own folder, and a link to it in another, as dotfile managers lay them out. */
  async function linked(url: string) {
    const real = await put(await tempDir(), 'tether.config.json', endpointFile(url));
    const link = join(await tempDir(), 'tether.config.json');
    await symlink(real, link);
    return { real, link, ...(await watched('', link)) };
  }

  it('applies a save made through the link, which lands in the folder of the file it points to', async () => {
    const { link, changes } = await linked('wss://a.test/mcp');
    // `tether config set` renames a temp file into the target's folder, not the link's.
    await writeAtomically(link, endpointFile('wss://b.test/mcp'));
    await vi.waitFor(
      () => expect(changes.at(-1)?.endpoints[0]?.url).toBe('wss://b.test/mcp'),
      WAIT,
    );
  });

  it('follows the link when it is pointed at another file, and stops listening to the old one', async () => {
    const { real, link, changes } = await linked('wss://a.test/mcp');
    const other = await put(await tempDir(), 'elsewhere.json', endpointFile('wss://c.test/mcp'));
    // Re-pointed in one step, as `ln -sfn` or a dotfile manager does it.
    const temp = `${link}.new`;
    await symlink(other, temp);
    await rename(temp, link);
    await vi.waitFor(
      () => expect(changes.at(-1)?.endpoints[0]?.url).toBe('wss://c.test/mcp'),
      WAIT,
    );

    await writeAtomically(link, endpointFile('wss://d.test/mcp'));
    await vi.waitFor(
      () => expect(changes.at(-1)?.endpoints[0]?.url).toBe('wss://d.test/mcp'),
      WAIT,
    );
    const seen = changes.length;
    // The file it used to point to is not the config any more.
    await writeAtomically(real, endpointFile('wss://old.test/mcp'));
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toHaveLength(seen);
  });

  it("after stop() the watcher of the target's folder is closed too", async () => {
    const opened = watchers.length;
    const { link, changes, stop } = await linked('wss://a.test/mcp');
    expect(watchers.length - opened).toBe(2);
    stop();
    expect(watchers.slice(opened).every((w) => w.closed)).toBe(true);
    await writeAtomically(link, endpointFile('wss://b.test/mcp'));
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toEqual([]);
  });
});
