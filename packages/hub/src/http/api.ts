import { Hono } from 'hono';
import { z } from 'zod';
import type { Hub } from '../hub.js';
import { UpstreamError } from '../upstream/types.js';

const CallBody = z.object({
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).optional(),
});

/** `?before=&limit=` for paged reads; bad values fall back to the defaults. */
function pageQuery(
  before: string | undefined,
  limit: string | undefined,
): { before?: number; limit?: number } {
  const b = Number(before);
  const l = Number(limit);
  return {
    ...(before !== undefined && Number.isInteger(b) && b > 0 ? { before: b } : {}),
    ...(limit !== undefined && Number.isInteger(l) && l > 0 ? { limit: Math.min(l, 500) } : {}),
  };
}

/** One error shape for every route: `{ error: { code, message } }`. */
function failure(code: string, message: string) {
  return { error: { code, message } };
}

/**
 * The minimal API the CLI needs (the dashboard issue completes it). Reads are cheap snapshots
 * of the supervisors' own state: there is no second copy to drift.
 */
export function createApi(hub: Hub, instance: string = hub.instance): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ ok: true }));

  // Ready when the hub has started and its store (if any) answers.
  app.get('/readyz', async (c) => {
    if (!hub.running) return c.json(failure('NOT_READY', 'the hub is starting or stopping'), 503);
    try {
      await hub.store?.status.list();
    } catch (error) {
      return c.json(failure('STORE_UNAVAILABLE', (error as Error).message), 503);
    }
    return c.json({ ok: true, endpoints: hub.endpoints().length });
  });

  app.get('/api/endpoints/:id/health', (c) => {
    const endpoint = hub.endpoints().find((e) => e.name === c.req.param('id'));
    return endpoint
      ? c.json(endpoint.health)
      : c.json(failure('NOT_FOUND', `no endpoint ${c.req.param('id')}`), 404);
  });

  app.get('/api/endpoints/:id/timeline', async (c) => {
    const store = hub.store;
    if (!store) return c.json(failure('NO_STORE', 'this hub runs without a store'), 503);
    const page = await store.timeline.page(
      c.req.param('id'),
      pageQuery(c.req.query('before'), c.req.query('limit')),
    );
    return c.json(page);
  });

  app.get('/api/calls', async (c) => {
    const store = hub.store;
    if (!store) return c.json(failure('NO_STORE', 'this hub runs without a store'), 503);
    const endpointId = c.req.query('endpoint');
    const tool = c.req.query('tool');
    const page = await store.toolCalls.page({
      ...pageQuery(c.req.query('before'), c.req.query('limit')),
      ...(endpointId ? { endpointId } : {}),
      ...(tool ? { tool } : {}),
    });
    return c.json(page);
  });

  app.get('/api/endpoints', (c) =>
    c.json(
      hub.endpoints().map((e) => ({
        id: e.name,
        name: e.name,
        url: e.url,
        enabled: e.enabled,
        state: e.enabled ? e.state : 'disabled',
        since: new Date(e.since).toISOString(),
        lastClose: e.lastClose && { ...e.lastClose, at: new Date(e.lastClose.at).toISOString() },
        lastError: e.lastError,
        attempts: e.attempts,
        nextRetryAt: e.nextRetryAt === null ? null : new Date(e.nextRetryAt).toISOString(),
        health: e.health.score,
        owner: instance,
        tools: e.tools,
        callsInFlight: e.callsInFlight,
      })),
    ),
  );

  app.get('/api/servers', (c) => c.json(hub.servers()));

  app.get('/api/tools', (c) =>
    c.json(
      hub.tools().map((t) => ({
        name: t.name,
        server: t.server,
        tool: t.tool,
        description: t.definition.description ?? null,
        inputSchema: t.definition.inputSchema,
        endpoints: t.endpoints,
      })),
    ),
  );

  app.post('/api/tools/call', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(
        failure('BAD_REQUEST', 'the body must be JSON: {"name": "...", "arguments": {...}}'),
        400,
      );
    }
    const parsed = CallBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return c.json(
        failure('BAD_REQUEST', `${issue.path.join('.') || 'body'}: ${issue.message}`),
        400,
      );
    }
    const started = Date.now();
    try {
      const result = await hub.callTool(parsed.data.name, parsed.data.arguments, {
        signal: c.req.raw.signal,
      });
      return c.json({ result, ms: Date.now() - started });
    } catch (error) {
      if (error instanceof UpstreamError) {
        const status =
          error.code === 'UPSTREAM_UNKNOWN_TOOL'
            ? 404
            : error.code === 'UPSTREAM_TIMEOUT'
              ? 504
              : 502;
        return c.json(failure(error.code, error.message), status);
      }
      return c.json(failure('INTERNAL', (error as Error).message), 500);
    }
  });

  app.post('/api/endpoints/:id/retry', (c) =>
    hub.retry(c.req.param('id'))
      ? c.json({ ok: true })
      : c.json(failure('NOT_FOUND', `no endpoint ${c.req.param('id')}`), 404),
  );

  app.notFound((c) => c.json(failure('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => c.json(failure('INTERNAL', error.message), 500));
  return app;
}
