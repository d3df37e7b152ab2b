import { connect } from 'node:net';

export type ServiceKind = 'postgres' | 'redis';

const DEFAULTS: Record<ServiceKind, { env: string; url: string; port: number }> = {
  postgres: { env: 'DATABASE_URL', url: 'postgres://postgres@127.0.0.1:5432/test', port: 5432 },
  redis: { env: 'REDIS_URL', url: 'redis://127.0.0.1:6379', port: 6379 },
};

/** True when a TCP connection to the URL's host and port opens within the timeout. */
export function reachable(url: string, defaultPort: number, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port) || defaultPort });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The URL of a service a test needs (`DATABASE_URL`, `REDIS_URL`, or the local default).
 * Outside CI an unreachable service yields `undefined` so the test can skip; under `CI=true`
 * it throws, because CI must never skip these tests silently.
 */
export async function requireService(
  kind: ServiceKind,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const spec = DEFAULTS[kind];
  const url = env[spec.env] || spec.url;
  if (await reachable(url, spec.port)) return url;
  if (env.CI === 'true' || env.CI === '1') {
    throw new Error(
      `${kind} is required when CI=true, but ${url} is unreachable (set ${spec.env})`,
    );
  }
  return undefined;
}
