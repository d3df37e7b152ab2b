import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The dashboard's build: the dist/ folder of @tether/dashboard, a dependency of the hub, found
 * as Node finds any package (the workspace's link in the repository, node_modules once
 * installed). A path relative to this file would hold only in the repository's layout.
 */
export const DASHBOARD_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@tether/dashboard/package.json')),
  'dist',
);

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
