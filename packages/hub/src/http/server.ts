import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * How long a client may take and how many it may be. A client that trickles its headers or its
 * body (slowloris) is cut off rather than holding a connection forever, and past the
 * connection cap new sockets are refused at once instead of piling up. Event streams are
 * responses, not requests: these bounds do not cut them.
 */
export interface ConnectionLimits {
  /** The whole header block must arrive within this. Default 10 s. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. Default 30 s. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** Open connections at once. Default 512. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
};

/** Serves the API on host:port (port 0 picks one) and resolves once listening. */
export function listen(
  app: Hono,
  host: string,
  port: number,
  limits: Partial<ConnectionLimits> = {},
): Promise<RunningServer> {
  const l = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        hostname: host,
        port,
        serverOptions: {
          headersTimeout: l.headersTimeoutMs,
          requestTimeout: l.requestTimeoutMs,
          keepAliveTimeout: l.keepAliveTimeoutMs,
          // Node checks the two timeouts above this often; a fraction of the shorter one.
          connectionsCheckingInterval: Math.max(50, Math.min(l.headersTimeoutMs, 30_000) / 4),
          maxHeaderSize: 16 * 1024,
        },
      },
      (info: AddressInfo) => {
        const shown = host.includes(':') ? `[${host}]` : host;
        resolve({
          host,
          port: info.port,
          url: `http://${shown}:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        });
      },
    ) as Server;
    server.maxConnections = l.maxConnections;
    server.maxHeadersCount = 100;
    server.once('error', reject);
  });
}
