import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, ROOT } from './errors.js';
import { parseConfig } from './resolve.js';
import type { TetherConfig } from './types.js';

export const DEFAULT_CONFIG_FILE = 'tether.config.json';

export interface LoadOptions {
  /** Path to the config file; relative to `cwd`. Default `tether.config.json`. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: TetherConfig;
  /** False when nothing configures the hub (no file, no MCP_ENDPOINT): the CLI runs its demo. */
  configured: boolean;
}

/**
 * Read, expand and validate the config. A file named explicitly must exist; the default file
 * may be absent, which yields an empty config so a fresh clone can start the demo.
 */
export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const file = resolve(options.cwd ?? process.cwd(), options.file ?? DEFAULT_CONFIG_FILE);
  const text = await readConfigText(file, options.file !== undefined);
  const config = parseConfig(text, {
    ...(text !== undefined && { file }),
    env: options.env ?? process.env,
  });
  return { config, configured: text !== undefined || config.endpoints.length > 0 };
}

async function readConfigText(file: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    const message =
      code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(error)})`;
    throw new ConfigError([{ file, path: ROOT, message }]);
  }
}
