import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest } from '@modelcontextprotocol/server';
import type { McpServer } from '@modelcontextprotocol/server';
import type { FakeMcpCore } from './fake-server.js';
import { readJsonBody, replyError } from './http-sessions.js';
import type { FakeSession, SessionTable } from './http-sessions.js';

/** One stateful Streamable HTTP session: its own transport and McpServer. */
export class StreamableSession implements FakeSession {
  /** HTTP requests of this session still being answered (the GET stream counts too). */
  private active = 0;
  private closeWhenIdle = false;

  constructor(
    readonly transport: NodeStreamableHTTPServerTransport,
    private readonly server: McpServer,
  ) {}

  /** Counts `res` as in flight until it closes, finished or not. */
  track(res: ServerResponse): void {
    this.active++;
    res.once('close', () => {
      this.active--;
      if (this.closeWhenIdle && this.active === 0) void this.close();
    });
  }

  drain(): void {
    this.closeWhenIdle = true;
    // The standalone GET stream never finishes by itself; a drained session ends it now and
    // closes once its POSTs have been answered.
    this.transport.closeStandaloneSSEStream();
    if (this.active === 0) void this.close();
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/**
 * Streamable HTTP at `/mcp`, stateful:
 *
 *   POST initialize (no session id)  ─▶ new session; answer carries Mcp-Session-Id
 *   POST/GET/DELETE with a known id  ─▶ that session's transport
 *   any request with an unknown id   ─▶ 404 (expired, TTL or never existed)
 *   anything else without an id      ─▶ 400
 */
export class StreamableRouter {
  readonly path = '/mcp';

  constructor(
    private readonly core: FakeMcpCore,
    private readonly sessions: SessionTable<StreamableSession>,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (session === undefined) {
        replyError(res, 404, 'Session not found', -32001);
        return;
      }
      session.track(res);
      await session.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST') {
      replyError(res, 400, 'Bad Request: Mcp-Session-Id header is required');
      return;
    }
    const body = await readJsonBody(req);
    if (!isInitializeRequest(body)) {
      replyError(res, 400, 'Bad Request: No valid session ID provided');
      return;
    }
    await this.initialize(req, res, body);
  }

  private async initialize(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
  ): Promise<void> {
    const { server, release } = this.core.createServer();
    // The id must be known before the answer leaves, or the client's next request could race it.
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => this.sessions.add(id, session),
    });
    const session = new StreamableSession(transport, server);
    transport.onclose = () => {
      this.sessions.forget(transport.sessionId, session);
      release();
    };
    await server.connect(transport);
    session.track(res);
    res.once('close', () => {
      // A failed initialize never got an id, so nothing else would ever close it.
      if (transport.sessionId === undefined) void session.close();
    });
    await transport.handleRequest(req, res, body);
  }
}
