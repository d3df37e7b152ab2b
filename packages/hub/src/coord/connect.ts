import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { RedisCluster } from './cluster.js';
import { RedisOwnership } from './redis-ownership.js';

export interface ClusterConnection {
  ownership: RedisOwnership;
  cluster: RedisCluster;
  /** After the hub stopped (leases released, membership left): closes both connections. */
  close(): Promise<void>;
}

/**
 * The Redis side of a cluster member: two connections (commands, and subscriptions, which
 * cannot share one), the leases and the cluster port over them.
 *
 * A link that goes silent (a cut cable, a paused Redis) is noticed by `socketTimeout`: a
 * command unanswered that long destroys the socket, fails what was waiting and reconnects, so
 * no answer is ever matched to the wrong command and nothing waits forever. The leases do not
 * depend on it: they are given up at their own deadline whatever the connection does.
 */
export async function connectCluster(options: {
  url: string;
  instance: string;
  prefix: string;
  ttlMs: number;
  logger: Logger;
}): Promise<ClusterConnection> {
  const logger = options.logger.child({ part: 'cluster' });
  const redis = new Redis(options.url, {
    connectionName: `tether:${options.instance}`,
    socketTimeout: Math.max(500, Math.floor(options.ttlMs / 4)),
    // Reconnect quickly and keep trying: a cluster member without Redis serves nothing.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    maxRetriesPerRequest: 2,
  });
  const subscriber = redis.duplicate({ connectionName: `tether:${options.instance}:sub` });
  let down = false;
  for (const [name, client] of [
    ['commands', redis],
    ['subscriptions', subscriber],
  ] as const) {
    client.on('error', (error: Error) => {
      if (!down)
        logger.warn({ err: error, connection: name }, `Redis unreachable: ${error.message}`);
      down = true;
    });
    client.on('ready', () => {
      if (down) logger.info({ connection: name }, 'Redis reachable again');
      down = false;
    });
  }
  const ownership = new RedisOwnership({
    redis,
    instance: options.instance,
    prefix: options.prefix,
    ttlMs: options.ttlMs,
    logger,
  });
  const cluster = new RedisCluster({
    redis,
    subscriber,
    instance: options.instance,
    prefix: options.prefix,
    ttlMs: options.ttlMs,
    logger,
  });
  // Not awaited: the hub starts (and answers its API) while Redis is still out of reach.
  void cluster
    .start()
    .catch((error: Error) =>
      logger.warn({ err: error }, 'could not join the cluster yet; retrying'),
    );
  return {
    ownership,
    cluster,
    async close() {
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
