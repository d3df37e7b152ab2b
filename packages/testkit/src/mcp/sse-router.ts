import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/server';
import type { FakeMcpCore } from './fake-server.js';
import { readJsonBody, replyError } from './http-sessions.js';
import type { FakeSession, SessionTable } from './http-sessions.js';
import { SseServerTransport } from './sse-server-transport.js';

export class SseSession implements FakeSession {
  constructor(
    readonly transport: SseServerTransport,
    private readonly server: McpServer,
  ) {}

  drain(): void {
    void this.transport.drain();
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** Legacy HTTP+SSE: GET `/sse` opens a session, POST `/messages?sessionId=…` feeds it. */
export class SseRouter {
  readonly path = '/sse';

  constructor(
    private readonly core: FakeMcpCore,
    private readonly sessions: SessionTable<SseSession>,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === this.path) {
      await this.open(res);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/messages') {
      const session = this.sessions.get(url.searchParams.get('sessionId') ?? '');
      if (session === undefined) {
        replyError(res, 404, 'Session not found', -32001);
        return;
      }
      const body = await readJsonBody(req);
      try {
        session.transport.deliver(body);
      } catch (error) {
        replyError(res, 400, `Invalid message: ${(error as Error).message}`);
        return;
      }
      res.writeHead(202, { 'content-type': 'text/plain' }).end('Accepted');
      return;
    }
    replyError(res, 404, 'Not found');
  }

  private async open(res: ServerResponse): Promise<void> {
    const id = randomUUID();
    const { server, release } = this.core.createServer();
    const transport = new SseServerTransport(id, res, `/messages?sessionId=${id}`);
    const session = new SseSession(transport, server);
    transport.onclose = () => {
      this.sessions.forget(id, session);
      release();
    };
    this.sessions.add(id, session);
    await server.connect(transport);
  }
}
