import { chmodSync, mkdirSync, statSync } from 'node:fs';

/**
 * A folder only its owner can enter, whether it was just created or already there (mkdir's
 * mode applies only to a new folder, and then through the umask). A folder of someone else's
 * is left alone: changing it is not ours to do.
 */
export function ownerOnlyDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stat = statSync(path);
  if (process.getuid?.() === stat.uid && (stat.mode & 0o077) !== 0) chmodSync(path, 0o700);
}
