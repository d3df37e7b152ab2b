import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requireService } from '../src/services.js';

let server: Server | undefined;
afterEach(
  () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('requireService', () => {
  it('hands back the URL of a reachable service', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await requireService('redis', { REDIS_URL: url })).toBe(url);
  });

  it('lets a developer skip when the service is down', async () => {
    const url = `postgres://127.0.0.1:${await freePort()}/test`;
    expect(await requireService('postgres', { DATABASE_URL: url })).toBeUndefined();
  });

  it('fails instead of skipping under CI=true', async () => {
    const url = `postgres://127.0.0.1:${await freePort()}/test`;
    await expect(requireService('postgres', { DATABASE_URL: url, CI: 'true' })).rejects.toThrow(
      /required when CI=true/,
    );
  });

  it.runIf(process.env.CI === 'true')(
    'reaches the PostgreSQL and Redis that CI provides',
    async () => {
      expect(await requireService('postgres')).toBeTruthy();
      expect(await requireService('redis')).toBeTruthy();
    },
  );
});
