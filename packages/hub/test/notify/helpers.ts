import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger.js';
import type { Logger } from '../../src/log/logger.js';
import type { Post } from '../../src/notify/index.js';

export interface Received {
  method: string;
  /** Path and query, as the request line had them. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers one request; 'hang' never answers. */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  url: string;
  requests: Received[];
  /** TCP connections accepted so far: a refused target must not even be connected to. */
  readonly connections: number;
  /** Answers for the next requests, in order; after them every request gets 200 "ok". */
  replies: Reply[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1, port 0, that records every request. Loopback is private:
 * a channel that delivers here needs `allowPrivate: true`.
 */
export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const replies: Reply[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const reply = replies.shift() ?? { status: 200, body: 'ok' };
      if (reply === 'hang') return;
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? '');
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook/SECRET-PATH-TOKEN`,
    requests,
    get connections() {
      return connections;
    },
    replies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL where nothing listens: connections are refused at once. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/hook/REFUSED-TOKEN`;
}

/** A logger whose JSON lines the test can read. */
export function capturedLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ destination, pretty: false, level: 'debug' });
  return {
    logger,
    lines: () =>
      text
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A post that records what would be sent and answers 200 at once. */
export function recordingPost(): {
  post: Post;
  sent: Array<{ url: string; body: Record<string, unknown> }>;
} {
  const sent: Array<{ url: string; body: Record<string, unknown> }> = [];
  const post: Post = (request) => {
    sent.push({ url: request.url, body: JSON.parse(request.body) as Record<string, unknown> });
    return Promise.resolve({ status: 200, retryAfter: null, body: 'ok' });
  };
  return { post, sent };
}

/** Lets resolved promises run (post fakes answer in microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
