import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/tether.js', import.meta.url).pathname;
const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

describe('tether --version', () => {
  it('prints the installed version, with -V too', async () => {
    for (const flag of ['--version', '-V']) {
      const { stdout } = await promisify(execFile)(process.execPath, [bin, flag], {
        timeout: 15_000,
      });
      expect(stdout.trim()).toBe(version);
    }
  });
});
