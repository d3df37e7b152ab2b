import type { IncomingMessage, ServerResponse } from 'node:http';

/** One MCP session of an HTTP fake, whatever its transport. */
export interface FakeSession {
  /** Close as soon as no request of this session is waiting for its answer. */
  drain(): void;
  /** Close now; in-flight requests are aborted. */
  close(): Promise<void>;
}

/**
 * Live sessions by id, plus the expired ones still finishing their last answer. An expired session
 * id is unknown from then on, so its next request gets 404, the spec's signal to re-initialise.
 * TTL is checked when a request arrives, so there is no timer to own.
 */
export class SessionTable<S extends FakeSession> {
  private readonly live = new Map<string, { session: S; createdAt: number }>();
  private readonly draining = new Set<S>();

  constructor(
    private readonly ttlMs: number | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  add(id: string, session: S): void {
    this.live.set(id, { session, createdAt: this.now() });
  }

  /** The live session, or undefined when the id is unknown or has just outlived its TTL. */
  get(id: string): S | undefined {
    const entry = this.live.get(id);
    if (entry === undefined) return undefined;
    if (this.ttlMs !== undefined && this.ttlMs > 0 && this.now() - entry.createdAt >= this.ttlMs) {
      this.expire(id, entry.session);
      return undefined;
    }
    return entry.session;
  }

  /** A session that closed (by itself, a DELETE, or a drain) leaves the table. */
  forget(id: string | undefined, session: S): void {
    if (id !== undefined && this.live.get(id)?.session === session) this.live.delete(id);
    this.draining.delete(session);
  }

  get size(): number {
    return this.live.size;
  }

  expireAll(): void {
    for (const [id, { session }] of [...this.live]) this.expire(id, session);
  }

  async closeAll(): Promise<void> {
    const sessions = [...[...this.live.values()].map((e) => e.session), ...this.draining];
    this.live.clear();
    this.draining.clear();
    await Promise.all(sessions.map((s) => s.close()));
  }

  private expire(id: string, session: S): void {
    this.live.delete(id);
    this.draining.add(session);
    session.drain();
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Answers an HTTP error the way the SDK's own transport does: a JSON-RPC error body. */
export function replyError(
  res: ServerResponse,
  status: number,
  message: string,
  code = -32000,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

export async function readJsonBody(
  req: IncomingMessage,
  limit = 4 * 1024 * 1024,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'Parse error: body is not JSON');
  }
}
