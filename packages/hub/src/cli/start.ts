import { randomBytes } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
// What every start needs, and only that: the hub, the store's driver and the API are loaded
// below (dynamic imports), while the file's servers boot.
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import type { TetherConfig } from '../config/types.js';
import type { Demo } from '../demo/demo.js';
import type { Hub } from '../hub.js';
import type { RunningServer } from '../http/server.js';
import { createLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { registerSecrets, secretsOfUrl } from '../log/redact.js';
import { loadKey, openStore, withEncryptedSecrets } from '../store/index.js';

export interface StartOptions {
  config?: string;
  demo?: boolean;
  host?: string;
  port?: number;
  /** For tests: where logs go and how to read the environment. */
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How often the demo's simulated device calls a tool. */
  demoCallEveryMs?: number;
  /** Where a generated admin token is shown (default stderr): never the logs. */
  tell?: (line: string) => void;
}

export interface RunningHub {
  hub: Hub;
  api: RunningServer;
  demo?: Demo;
  stop(): Promise<void>;
}

/** Loads the configuration (or the demo), starts the hub and its API, and watches the file. */
export async function startHub(options: StartOptions = {}): Promise<RunningHub> {
  const logger = options.logger ?? createLogger();
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  // When each step ended, in ms since the process started (logged at debug level).
  const marks: Record<string, number> = {};
  const mark = (step: string) => void (marks[step] = Math.round(performance.now()));
  // The process's own secrets are masked wherever they would appear in a log or an answer.
  const forgetSecrets = registerSecrets([
    env.TETHER_ADMIN_TOKEN,
    env.TETHER_SECRET,
    ...secretsOfUrl(env.DATABASE_URL ?? ''),
    ...secretsOfUrl(env.REDIS_URL ?? ''),
  ]);
  const { config: loaded, configured } = await loadConfig({
    ...(options.config ? { file: options.config } : {}),
    env,
    cwd,
  });
  let demo: Demo | undefined;
  let config = loaded;
  if (options.demo || !configured) {
    // Only the demo needs the simulator (and the testkit behind it).
    const { startDemo } = await import('../demo/demo.js');
    demo = await startDemo(loaded, logger, options.demoCallEveryMs);
    config = demo.config;
  }
  // Flags win over the file, now and after every reload.
  const withFlags = (c: TetherConfig) => {
    if (options.host) c.hub.host = options.host;
    if (options.port !== undefined) c.hub.port = options.port;
    return c;
  };
  withFlags(config);

  // A cluster shares its state in PostgreSQL; a SQLite file is one machine's, so Redis leases
  // over it would coordinate instances that cannot see each other's state.
  if (env.REDIS_URL && !env.DATABASE_URL)
    throw new ConfigError([
      {
        path: 'REDIS_URL',
        message:
          'several instances share their state in PostgreSQL: set DATABASE_URL to a postgres:// URL too, or unset REDIS_URL to run alone on SQLite',
      },
    ]);
  const instance =
    env.TETHER_INSTANCE?.trim() ||
    `${(env.HOSTNAME ?? hostname()).slice(0, 24)}-${randomBytes(3).toString('hex')}`;
  mark('config');

  // The file's servers start now, before the store opens and the hub loads: their children boot
  // meanwhile, and the hub takes them over (hub/upstreams.ts, startEarly). Those it does not
  // take (the start failed before it got to them) are stopped.
  const early = (await import('../hub/upstreams.js')).startEarly(config.servers, {
    logger,
    settings: config.hub,
  });
  try {
    // SQLite under TETHER_HOME (default ~/.tether) unless DATABASE_URL names PostgreSQL.
    const home = env.TETHER_HOME ?? join(homedir(), '.tether');
    const [raw, { Hub }] = await Promise.all([
      openStore({ ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}), home }),
      import('../hub.js'),
    ]);
    // Endpoint URLs carry tokens, server configs carry credentials: encrypted before they are
    // stored.
    const store = withEncryptedSecrets(
      raw,
      loadKey({
        ...(env.TETHER_SECRET ? { secret: env.TETHER_SECRET } : {}),
        file: join(home, 'secret.key'),
      }),
    );
    await store.migrate();
    mark('store');
    // Several instances: Redis leases decide who serves which endpoint (docs/architecture.md,
    // "Cluster"). Loaded only then, so a single node never pays for the Redis client.
    const coordination =
      env.REDIS_URL && env.DATABASE_URL
        ? await (
            await import('../coord/connect.js')
          ).connectCluster({
            url: env.REDIS_URL,
            instance,
            prefix: config.hub.cluster.keyPrefix,
            ttlMs: config.hub.cluster.leaseTtlMs,
            logger,
          })
        : undefined;
    const hub = new Hub(config, {
      logger,
      store,
      instance,
      ...(coordination && { ownership: coordination.ownership, cluster: coordination.cluster }),
    });
    // The hub dials its endpoints at once and resolves once its servers are up; the API (hono,
    // prom-client, the dashboard) is loaded only then, so its loading never delays a handshake.
    await hub.start();
    mark('hub');
    const [{ createApi }, { listen }, { Auth }, { isLoopback }, { McpHttp }] = await Promise.all([
      import('../http/api.js'),
      import('../http/server.js'),
      import('../http/auth.js'),
      import('../http/door.js'),
      import('../mcp/http.js'),
    ]);
    const auth = new Auth({
      token: adminToken(
        config.hub.host,
        isLoopback(config.hub.host),
        env,
        logger,
        options.tell ?? ((line) => process.stderr.write(`${line}\n`)),
      ),
    });
    // Its own logger, and closed at stop: /mcp sessions (and their calls) end with the hub.
    const mcp = new McpHttp(hub, { logger: logger.child({ part: 'mcp' }) });
    const api = await listen(
      createApi(hub, { auth, mcp, logger }),
      config.hub.host,
      config.hub.port,
    );
    mark('api');
    logger.info({ url: api.url }, `API listening on ${api.url}`);
    logger.debug({ ms: marks }, 'started (ms since the process started, at the end of each step)');

    const file = config.file;
    const { watchConfig } = await import('../config/watch.js');
    const stopWatching =
      file && !demo
        ? watchConfig(
            file,
            (next) =>
              void hub
                .apply(withFlags(next))
                .catch((error: Error) =>
                  logger.error({ err: error }, 'could not apply the new configuration'),
                ),
            (error) =>
              logger.error(
                error instanceof ConfigError ? { issues: error.issues } : { err: error },
                `configuration not applied: ${error.message}`,
              ),
            { env, current: config },
          )
        : () => {};

    if (demo) {
      // The client commands find the hub at 127.0.0.1:8765 by themselves; elsewhere they need --url.
      const at = api.url === 'http://127.0.0.1:8765' ? '' : ` --url ${api.url}`;
      logger.info(
        `Demo running: a simulated Xiaozhi endpoint at ${demo.simulator.url('demo-token').replace(/token=.*/, 'token=***')} ` +
          `with the bundled sample tool server. Try: npx tether status${at} · npx tether tools${at} · ` +
          `npx tether call${at} sample__add --args '{"a":2,"b":3}' · curl ${api.url}/api/endpoints`,
      );
    } else if (file) {
      logger.info(`Configuration: ${resolve(file)} (changes apply while running)`);
    }

    return {
      hub,
      api,
      ...(demo ? { demo } : {}),
      async stop() {
        stopWatching();
        await mcp.close();
        await hub.stop();
        await coordination?.close();
        await api.close();
        await store.close();
        await demo?.stop();
        forgetSecrets();
      },
    };
  } finally {
    await early.release();
  }
}

/** Runs until SIGINT/SIGTERM, then shuts down within 5 s (sockets closed with 1001, children reaped). */
export async function runStart(options: StartOptions): Promise<void> {
  const logger = options.logger ?? createLogger();
  // The endpoints are served before the start is over (the API listens last): a signal from
  // then on is a shutdown, carried out once the start is done, within the same 5 s.
  const running = startHub({ ...options, logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 5 s; exiting anyway');
      process.exit(1);
    }, 5_000);
    force.unref();
    running
      .then((hub) => hub.stop())
      .then(
        () => process.exit(0),
        (error: Error) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await running;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`tether: the configuration is invalid; nothing was started.\n${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * The admin token: TETHER_ADMIN_TOKEN when set (then required even on loopback). Bound beyond
 * loopback without one, a token is generated and shown once on the terminal, never in the logs
 * (which are often shipped elsewhere), so the hub never listens on a network with no login.
 */
function adminToken(
  host: string,
  loopback: boolean,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  tell: (line: string) => void,
): string | undefined {
  if (env.TETHER_ADMIN_TOKEN) return env.TETHER_ADMIN_TOKEN;
  if (loopback) return undefined;
  const token = randomBytes(24).toString('base64url');
  registerSecrets([token]);
  logger.warn(
    `bound to ${host}: the API and dashboard need an admin token; one was generated and printed on the terminal (set TETHER_ADMIN_TOKEN to choose one)`,
  );
  tell(`tether: admin token for this run: ${token}`);
  return token;
}
