import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The dashboard's build, next to the hub in the workspace (packages/dashboard/dist). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url));

/**
 * The dashboard's files, read once (createApi does it at the dashboard's first request): only
 * the names listed then are served, so no path a client sends ever reaches the file system.
 */
export function dashboardFiles(dir = DASHBOARD_DIR): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(`/${name}`, { type, body: readFileSync(join(dir, name)) });
  }
  return files;
}
