import { lstatSync, realpathSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { diffConfig, isEmptyDiff } from './diff.js';
import type { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import type { TetherConfig } from './types.js';

export interface WatchOptions {
  env?: NodeJS.ProcessEnv;
  /** Quiet period after the last file event before reloading. Default 200 ms. */
  debounceMs?: number;
  /** The config in force now; a reload that resolves to the same thing is not reported. */
  current?: TetherConfig;
}

/**
 * Reload `file` when it changes and hand over the new config. A file that fails to load is
 * reported through `onError` and the caller keeps the old config; a later good save applies.
 *
 * The directory is watched, not the file: editors save by writing a temp file and renaming it
 * over the original, which replaces the inode a file watch would be stuck on. When the path is
 * a symlink, the folder of the file it points to is watched too: a save there (`tether config
 * set` renames into the target's folder, cli/config-file.ts) never touches the link's folder.
 * The target is looked up again after each event on the link, so a link pointed elsewhere is
 * followed. Returns stop(), which closes the watchers, clears the timer and drops any reload
 * still in flight.
 */
export function watchConfig(
  file: string,
  onChange: (config: TetherConfig) => void,
  onError: (error: ConfigError | Error) => void,
  options: WatchOptions = {},
): () => void {
  const path = resolve(file);
  const name = basename(path);
  const debounceMs = options.debounceMs ?? 200;
  let current = options.current;
  let timer: NodeJS.Timeout | undefined;
  let loading = false;
  let again = false;
  let stopped = false;

  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
    timer.unref();
  };

  // One reload at a time: an event during a reload queues one more, so the last save wins.
  const reload = async (): Promise<void> => {
    timer = undefined;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    let next: TetherConfig | undefined;
    try {
      next = (await loadConfig({ file: path, ...(options.env && { env: options.env }) })).config;
    } catch (error) {
      if (!stopped) onError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      loading = false;
      if (again && !stopped) {
        again = false;
        schedule();
      }
    }
    if (stopped || next === undefined) return;
    if (current !== undefined && isEmptyDiff(diffConfig(current, next))) return;
    current = next;
    onChange(next);
  };

  const open = (dir: string, names: readonly string[], onEvent: () => void): FSWatcher => {
    const watcher = watch(dir, { persistent: false }, (_event, filename) => {
      // Some platforms omit the name; then any change in the directory may be ours.
      if (filename === null || names.includes(filename)) onEvent();
    });
    watcher.on('error', (error) => {
      if (!stopped) onError(error);
    });
    return watcher;
  };

  // The file a symlink at `path` points to, and the watcher of its folder; none for a plain file.
  let target: { file: string; watcher: FSWatcher } | undefined;
  const follow = (): void => {
    if (stopped) return;
    let next: string | undefined;
    try {
      next = lstatSync(path).isSymbolicLink() ? realpathSync(path) : undefined;
    } catch {
      // Gone, or a dangling link: the link's folder still tells when it is back.
      next = undefined;
    }
    if (next === target?.file) return;
    // A link beside its target (same folder, two names) gets a second watcher of that folder:
    // its events are the target's, and the debounce makes one reload of both.
    target?.watcher.close();
    target = undefined;
    if (next === undefined) return;
    const file = next;
    try {
      target = { file, watcher: open(dirname(file), [basename(file)], schedule) };
    } catch (error) {
      onError(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const watcher = open(dirname(path), [name], () => {
    follow();
    schedule();
  });
  follow();

  return () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    timer = undefined;
    watcher.close();
    target?.watcher.close();
    target = undefined;
  };
}
