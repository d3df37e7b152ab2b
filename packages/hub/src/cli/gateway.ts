import { SessionGateway, describeLoss } from '@tether/session/gateway';
import { createLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { registerSecrets, secretsOfUrl } from '../log/redact.js';

export interface GatewayCommandOptions {
  upstream: string;
  listen: string;
  forwardHeaders?: string;
  maxSessions?: number;
  maxFrame?: number;
  connectTimeout?: number;
  resumeWindow?: number;
  heartbeat?: number;
  pingInterval?: number;
  upstreamPingInterval?: number;
  replayMessages?: number;
  replayBytes?: number;
  /** For tests: where the logs go. */
  logger?: Logger;
}

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT`; the host defaults to loopback. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65_535)
    throw new Error(`--listen wants HOST:PORT (or :PORT), not ${JSON.stringify(text)}`);
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

/**
 * `tether session-gateway`: resumable sessions in front of a WebSocket server that cannot
 * change (docs/session-gateway.md). One line says where clients dial; the log has every
 * session's start, resume and end, with the upstream URL's query values masked.
 */
export async function runSessionGateway(options: GatewayCommandOptions): Promise<SessionGateway> {
  const logger = options.logger ?? createLogger();
  registerSecrets(secretsOfUrl(options.upstream));
  const { host, port } = parseListen(options.listen);
  const replay = {
    ...(options.replayMessages !== undefined && { maxMessages: options.replayMessages }),
    ...(options.replayBytes !== undefined && { maxBytes: options.replayBytes }),
  };
  const gateway = await SessionGateway.start({
    upstream: options.upstream,
    host,
    port,
    ...(options.forwardHeaders !== undefined && {
      forwardHeaders: options.forwardHeaders.split(','),
    }),
    ...(options.maxSessions !== undefined && { maxSessions: options.maxSessions }),
    ...(options.maxFrame !== undefined && { maxFrameBytes: options.maxFrame }),
    ...(options.connectTimeout !== undefined && { connectTimeoutMs: options.connectTimeout }),
    ...(options.upstreamPingInterval !== undefined && {
      upstreamPingIntervalMs: options.upstreamPingInterval,
    }),
    session: {
      ...(options.resumeWindow !== undefined && { resumeWindowMs: options.resumeWindow }),
      ...(options.heartbeat !== undefined && { heartbeatMs: options.heartbeat }),
      ...(options.pingInterval !== undefined && { pingIntervalMs: options.pingInterval }),
      ...(Object.keys(replay).length > 0 && { replay }),
    },
  });
  gateway.on('start', ({ sessionId, upstream }) =>
    logger.info({ session: sessionId, upstream }, 'session started'),
  );
  gateway.on('resume', ({ sessionId, upstream, replayed, missed }) =>
    logger.info({ session: sessionId, upstream, replayed, missed }, 'session resumed'),
  );
  gateway.on('upstream-lost', ({ sessionId, upstream, loss }) =>
    logger.warn(
      { session: sessionId, upstream, loss },
      `${describeLoss(loss)}; the session ends once its client has what the upstream sent`,
    ),
  );
  gateway.on('end', ({ sessionId, upstream, why, loss, delivered, dropped }) =>
    logger.info(
      { session: sessionId, upstream, why, ...(loss && { loss, delivered }), dropped },
      loss ? `session ended: ${describeLoss(loss)}` : `session ended: ${why}`,
    ),
  );
  gateway.on('refused', ({ code, reason, upstream }) =>
    logger.warn({ code, ...(upstream && { upstream }) }, `client refused: ${reason}`),
  );
  gateway.on('error', (error, context) =>
    // A client's broken socket is the client's business; anything else is ours.
    context === 'client socket'
      ? logger.debug({ err: error }, context)
      : logger.warn({ err: error }, context),
  );
  console.log(
    `session gateway on ${gateway.url} → ${gateway.upstream} (the client's path and query are carried)`,
  );
  return gateway;
}
