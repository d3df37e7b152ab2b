import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeMcpCore } from './fake-server.js';
import type { ToolChange } from './fake-server.js';
import { HttpError, SessionTable, replyError } from './http-sessions.js';
import type { FakeSession } from './http-sessions.js';
import type { FakeMcpOptions } from './options.js';
import { SseRouter } from './sse-router.js';
import type { SseSession } from './sse-router.js';
import { StreamableRouter } from './streamable-router.js';
import type { StreamableSession } from './streamable-router.js';

export interface FakeHttpServerOptions extends FakeMcpOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Streamable HTTP at `/mcp` (default) or legacy SSE at `/sse`. */
  transport?: 'http' | 'sse';
}

export interface FakeHttpServerHooks {
  /** Replaces the in-process crash (destroy every socket, stop listening); the CLI exits instead. */
  onCrash?: () => void;
  onToolCall?: (tool: string) => void;
}

export interface FakeHttpServer {
  /** What a client connects to: `http://HOST:PORT/mcp`, or `…/sse` for SSE. */
  url: string;
  /** Every existing session id now gets 404; in-flight answers are still delivered. */
  expireSessions(): void;
  changeTools(change: ToolChange): void;
  calls: Map<string, number>;
  cancelled: Map<string, number>;
  /** Sessions currently open (expired ones excluded). */
  sessionCount(): number;
  close(): Promise<void>;
}

interface Router {
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

type Sessions = Pick<SessionTable<FakeSession>, 'expireAll' | 'closeAll' | 'size'>;

function makeRouter(
  kind: 'http' | 'sse',
  core: FakeMcpCore,
  ttlMs: number | undefined,
): { router: Router; sessions: Sessions } {
  if (kind === 'sse') {
    const sessions = new SessionTable<SseSession>(ttlMs);
    return { router: new SseRouter(core, sessions), sessions };
  }
  const sessions = new SessionTable<StreamableSession>(ttlMs);
  return { router: new StreamableRouter(core, sessions), sessions };
}

/**
 * Serves the fake over HTTP on loopback. States: listening → crashed → closed, or listening →
 * closed; close() is the one teardown path from either and may be called more than once.
 */
export async function startFakeHttpServer(
  options: FakeHttpServerOptions = {},
  hooks: FakeHttpServerHooks = {},
): Promise<FakeHttpServer> {
  let state: 'listening' | 'crashed' | 'closed' = 'listening';
  // The hooks run only once requests arrive, after `sessions` and `crash` exist.
  const core = new FakeMcpCore(options, {
    onToolCall: hooks.onToolCall,
    onCrash: hooks.onCrash ?? (() => crash()),
    expireSessions: () => sessions.expireAll(),
  });
  const { router, sessions } = makeRouter(options.transport ?? 'http', core, options.sessionTtlMs);

  const http = createServer((req, res) => {
    router.handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) replyError(res, error.status, error.message);
      else replyError(res, 500, `Internal error: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { address, port } = http.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  const stopListening = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    return stopped;
  };

  // A dying process answers nothing: sockets are cut mid-stream, the port stops accepting.
  const crash = (): void => {
    if (state !== 'listening') return;
    state = 'crashed';
    void stopListening();
    void sessions.closeAll();
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    state = 'closed';
    closing ??= (async () => {
      await sessions.closeAll();
      await stopListening();
    })();
    return closing;
  };

  return {
    url: `http://${address}:${port}${router.path}`,
    expireSessions: () => sessions.expireAll(),
    changeTools: (change) => core.changeTools(change),
    calls: core.calls,
    cancelled: core.cancelled,
    sessionCount: () => sessions.size,
    close,
  };
}
