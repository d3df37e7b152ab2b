import type * as NodeFsPromises from 'node:fs/promises';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeAtomically } from '../../src/cli/config-file.js';

/**
 * node:fs/promises as it is, except that a text holding FULL fills the disk halfway through
 * being written (ENOSPC, whichever way it is written), and that flushes and renames are
 * recorded in the order they happen.
 */
const FULL = 'FILL-THE-DISK';
const calls = vi.hoisted(() => [] as string[]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFsPromises>();
  const enospc = () =>
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const halfThenFull = async (write: (text: string) => Promise<void>, data: unknown) => {
    const text = String(data);
    if (!text.includes(FULL)) return write(text);
    await write(text.slice(0, text.length / 2));
    throw enospc();
  };
  const writeFile = ((path: Parameters<typeof fs.writeFile>[0], data: unknown, options?: never) =>
    halfThenFull((t) => fs.writeFile(path, t, options), data)) as typeof fs.writeFile;
  const open = (async (...args: Parameters<typeof fs.open>) => {
    const handle = await fs.open(...args);
    const write = handle.writeFile.bind(handle);
    const sync = handle.sync.bind(handle);
    handle.writeFile = ((data: unknown) => halfThenFull((t) => write(t), data)) as never;
    handle.sync = () => {
      calls.push(`sync ${String(args[0])}`);
      return sync();
    };
    return handle;
  }) as typeof fs.open;
  const rename = (async (from: string, to: string) => {
    calls.push(`rename ${from}`);
    return fs.rename(from, to);
  }) as typeof fs.rename;
  const mocked = { ...fs, writeFile, open, rename };
  return { ...mocked, default: mocked };
});

function folder(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-write-'));
  const file = join(dir, 'tether.config.json');
  writeFileSync(file, '{ "hub": { "port": 8765 } }\n');
  return { dir, file };
}

describe('saving the config file', () => {
  it('leaves the old file and no stray temp file beside it when the disk is full', async () => {
    const { dir, file } = folder();
    await expect(writeAtomically(file, `{ "note": "${FULL}" }\n`)).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(readdirSync(dir)).toEqual(['tether.config.json']);
    expect(readFileSync(file, 'utf8')).toBe('{ "hub": { "port": 8765 } }\n');
  });

  it('puts the new text on disk before it replaces the old file, so a crash cannot leave it empty', async () => {
    const { dir, file } = folder();
    calls.length = 0;
    await writeAtomically(file, '{ "hub": { "port": 9000 } }\n');
    expect(readFileSync(file, 'utf8')).toBe('{ "hub": { "port": 9000 } }\n');
    expect(readdirSync(dir)).toEqual(['tether.config.json']);
    expect(calls).toHaveLength(2);
    const [synced, renamed] = calls;
    expect(synced).toMatch(/^sync .*\.tmp$/);
    expect(renamed).toBe(`rename ${synced!.slice('sync '.length)}`);
  });
});
