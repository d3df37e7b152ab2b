import { Hono } from 'hono';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { EndpointInputSchema, ServerInputSchema } from '@tether/protocol';
import type { ServerConfig } from '../config/types.js';
import type { HubPort } from '../hub/port.js';
import { secureHeaders } from 'hono/secure-headers';
import { silentLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';
import { McpHttp, rpcRefusal } from '../mcp/http.js';
import { Auth, sameOriginOnly, sameOriginWrites } from './auth.js';
import { clientKey, exceedsDepth, hostGuard, jsonBody, servedOverTls, sizeLimit } from './door.js';
import { answerError, failure } from './errors.js';
import { EventFeed } from './events.js';
import { toolStatsAnswer, uptimeAnswer } from './figures.js';
import { createMetrics } from './metrics.js';
import { endpointPage, endpointQuery, nextLink } from './paging.js';
import { dashboardFiles } from './static.js';
import { callItem, endpointView, endpointViews, mcpSessionItems, serverViews } from './views.js';

export interface ApiOptions {
  auth?: Auth;
  /** Where the dashboard's build is; default packages/dashboard/dist. */
  dashboardDir?: string;
  /**
   * Bytes an event stream may have waiting for a reader that does not read; past this the
   * stream is dropped (the browser reconnects and reloads). Default 1 MiB.
   */
  streamQueueBytes?: number;
  /** `/mcp`'s sessions; the caller closes it when the hub stops. Default: one of its own. */
  mcp?: McpHttp;
  logger?: Logger;
  /** The clock the uptime strip and the tool figures end at; default Date.now. */
  now?: () => number;
}

const CallBody = z.object({
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).optional(),
});
const LoginBody = z.object({ token: z.string().max(1_024) });
const ToggleBody = z.object({ enabled: z.boolean() });

/**
 * What the dashboard may load and do: its own files only, no framing (clickjacking), no
 * inline script. Styles set through the DOM (Preact's `style` props) are not inline styles.
 */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * The HTTP API. Reads are snapshots of the supervisors' own state — there is no second copy to
 * drift — and every change goes through the hub, which reconciles what runs.
 *
 * Every request passes the door first, in this order: Host allow-list, security headers,
 * same-origin writes, body size; then the token where one is required (docs/security.md).
 */
export function createApi(hub: HubPort, options: ApiOptions = {}): Hono {
  const app = new Hono();
  const auth = options.auth ?? new Auth({ token: undefined });
  // The dashboard's files are read at its first request, not at start: a hub nobody opens in a
  // browser never holds them (static.ts: the names served are still those listed once).
  let files: ReturnType<typeof dashboardFiles> | undefined;
  const dashboard = () => (files ??= dashboardFiles(options.dashboardDir));
  // The OpenAPI document is built (zod to JSON Schema, every route) when first asked for.
  let openApi: Promise<Record<string, unknown>> | undefined;
  const openApiJson = () =>
    (openApi ??= import('./openapi.js').then(({ openApiDocument }) => openApiDocument()));
  const metrics = createMetrics(hub);
  const limits = () => hub.settings.limits;
  const feed = new EventFeed(hub, () => limits().sseClients);
  const trustProxy = () => hub.settings.trustProxy;
  const clientOf = (c: Context) => clientKey(c, trustProxy());
  const streamQueueBytes = options.streamQueueBytes ?? 2 ** 20;
  const read = jsonBody(() => limits().jsonDepth);
  const mcp = options.mcp ?? new McpHttp(hub, { logger: options.logger ?? silentLogger() });
  const now = options.now ?? Date.now;

  // Headers first, so that even a refusal at the door carries them.
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: CONTENT_SECURITY_POLICY,
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
      crossOriginResourcePolicy: 'same-origin',
      // The hub may be served over plain HTTP on a LAN; HSTS is the TLS proxy's business.
      strictTransportSecurity: false,
    }),
  );
  app.use(
    '*',
    hostGuard({ boundHost: hub.settings.host, allowedHosts: () => hub.settings.allowedHosts }),
  );
  app.use('*', sameOriginWrites());
  // Before the token is checked, anyone who can reach the hub may send a body: only a login's
  // worth. A client with the token (or no token needed) may send up to hub.limits.bodyBytes.
  app.use(
    '*',
    sizeLimit((c) => (auth.authenticated(c) ? limits().bodyBytes : limits().loginBodyBytes)),
  );
  app.onError((error, c) => answerError(c, error));
  app.notFound((c) => failure(c, 404, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    if (!hub.running) return failure(c, 503, 'NOT_READY', 'the hub is starting or stopping');
    try {
      await hub.store?.status.list();
    } catch (error) {
      return failure(c, 503, 'STORE_UNAVAILABLE', redact((error as Error).message));
    }
    return c.json({ ok: true, endpoints: hub.endpoints().length });
  });
  app.get('/api/openapi.json', async (c) => c.json(await openApiJson()));

  app.get('/api/session', (c) =>
    c.json({ authRequired: auth.required, authenticated: auth.authenticated(c) }),
  );
  app.post('/api/login', async (c) => {
    const input = await read(c, LoginBody);
    if (input instanceof Response) return input;
    const outcome = auth.login(clientOf(c), input.token);
    if (outcome === 'limited') {
      c.header('Retry-After', '60');
      return failure(c, 429, 'TOO_MANY_ATTEMPTS', 'too many login attempts; wait a minute');
    }
    if (outcome === 'wrong') return failure(c, 401, 'UNAUTHORIZED', 'wrong token');
    const cookie = auth.startSession();
    setCookie(c, cookie.name, cookie.value, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: cookie.maxAgeSeconds,
      ...(servedOverTls(c, trustProxy()) && { secure: true }),
    });
    return c.json({ ok: true });
  });
  app.post('/api/logout', (c) => {
    auth.endSession(c);
    deleteCookie(c, auth.cookieName, { path: '/' });
    return c.json({ ok: true });
  });

  // Everything below needs the admin token when one is required.
  app.use('/api/*', auth.guard(clientOf));
  app.use('/metrics', auth.guard(clientOf));
  // MCP clients: the API's token (Bearer, or the dashboard's cookie), and no other site's page.
  for (const path of ['/mcp', '/mcp/*']) {
    app.use(path, sameOriginOnly());
    app.use(path, auth.guard(clientOf));
  }

  // MCP Streamable HTTP (docs/mcp.md): every tool at /mcp, what one endpoint sees at
  // /mcp/<endpoint>. The body is read here, within the door's limits and nesting, and handed
  // to the session's transport parsed.
  const serveMcp = async (c: Context, scope: string | undefined) => {
    if (scope !== undefined && hub.servedTools(scope) === undefined)
      return failure(c, 404, 'NOT_FOUND', `no endpoint ${scope}`);
    let body: unknown;
    if (c.req.method === 'POST') {
      const text = await c.req.text();
      if (exceedsDepth(text, limits().jsonDepth))
        return rpcRefusal(400, -32600, `the body nests deeper than ${limits().jsonDepth} levels`);
      try {
        body = JSON.parse(text);
      } catch {
        return rpcRefusal(400, -32700, 'Parse error: the body must be JSON');
      }
    }
    return mcp.handle(c.req.raw, scope, body);
  };
  app.all('/mcp', (c) => serveMcp(c, undefined));
  app.all('/mcp/:endpoint', (c) => serveMcp(c, c.req.param('endpoint')));
  app.get('/api/mcp/sessions', (c) => c.json(mcpSessionItems(mcp)));

  app.get('/metrics', async (c) =>
    c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType }),
  );

  // Without a query, every endpoint in one array, as the dashboard and the CLI read it; with
  // ?limit=&after=&state=, one page in name order (paging.ts), the next announced in `Link`.
  app.get('/api/endpoints', (c) => {
    const query = endpointQuery(c);
    if (query === undefined) return c.json(endpointViews(hub));
    if (query instanceof Response) return query;
    const page = endpointPage(hub, query);
    c.header('X-Total-Count', String(page.total));
    if (page.after !== undefined) c.header('Link', nextLink(c.req.path, query, page.after));
    return c.json(page.items);
  });
  app.get('/api/endpoints/:id', (c) => {
    const view = endpointView(hub, c.req.param('id'));
    return view ? c.json(view) : failure(c, 404, 'NOT_FOUND', `no endpoint ${c.req.param('id')}`);
  });
  app.post('/api/endpoints', async (c) => {
    const input = await read(c, EndpointInputSchema);
    if (input instanceof Response) return input;
    await hub.saveEndpoint(input, true);
    return c.json(
      endpointViews(hub).find((e) => e.id === input.name),
      201,
    );
  });
  app.put('/api/endpoints/:id', async (c) => {
    const input = await read(c, EndpointInputSchema);
    if (input instanceof Response) return input;
    if (input.name !== c.req.param('id'))
      return failure(c, 400, 'BAD_REQUEST', 'the name cannot change; create a new endpoint');
    await hub.saveEndpoint(input, false);
    return c.json(endpointViews(hub).find((e) => e.id === input.name));
  });
  app.delete('/api/endpoints/:id', async (c) => {
    await hub.deleteEndpoint(c.req.param('id'));
    return c.json({ ok: true });
  });
  app.post('/api/endpoints/:id/retry', async (c) =>
    (await hub.retry(c.req.param('id')))
      ? c.json({ ok: true })
      : failure(c, 404, 'NOT_FOUND', `no endpoint ${c.req.param('id')}`),
  );
  app.post('/api/endpoints/:id/enable', async (c) => {
    await hub.setEnabled(c.req.param('id'), true);
    return c.json({ ok: true });
  });
  app.post('/api/endpoints/:id/disable', async (c) => {
    await hub.setEnabled(c.req.param('id'), false);
    return c.json({ ok: true });
  });
  app.get('/api/endpoints/:id/tools', (c) => c.json(hub.endpointTools(c.req.param('id'))));
  app.put('/api/endpoints/:id/tools/:tool', async (c) => {
    const input = await read(c, ToggleBody);
    if (input instanceof Response) return input;
    await hub.setTool(c.req.param('id'), c.req.param('tool'), input.enabled);
    return c.json(hub.endpointTools(c.req.param('id')));
  });
  app.get('/api/endpoints/:id/health', (c) => {
    const endpoint = hub.endpoints().find((e) => e.name === c.req.param('id'));
    return endpoint
      ? c.json(endpoint.health)
      : failure(c, 404, 'NOT_FOUND', `no endpoint ${c.req.param('id')}`);
  });
  app.get('/api/endpoints/:id/timeline', async (c) => {
    const store = hub.store;
    if (!store) return failure(c, 503, 'NO_STORE', 'this hub runs without a store');
    const page = await store.timeline.page(c.req.param('id'), pageQuery(c));
    return c.json({
      ...page,
      items: page.items.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    });
  });
  // The dashboard's pictures (http/figures.ts): from the shared store, so any instance answers.
  app.get('/api/endpoints/:id/uptime', (c) => uptimeAnswer(hub, c, now()));

  app.get('/api/servers', (c) => c.json(serverViews(hub, hub.fileServerNames())));
  app.post('/api/servers', async (c) => {
    const input = await read(c, ServerInputSchema);
    if (input instanceof Response) return input;
    await hub.saveServer(input as ServerConfig, true);
    return c.json(
      serverViews(hub, hub.fileServerNames()).find((s) => s.id === input.name),
      201,
    );
  });
  app.put('/api/servers/:id', async (c) => {
    const input = await read(c, ServerInputSchema);
    if (input instanceof Response) return input;
    if (input.name !== c.req.param('id'))
      return failure(c, 400, 'BAD_REQUEST', 'the name cannot change; create a new server');
    await hub.saveServer(input as ServerConfig, false);
    return c.json(serverViews(hub, hub.fileServerNames()).find((s) => s.id === input.name));
  });
  app.delete('/api/servers/:id', async (c) => {
    await hub.deleteServer(c.req.param('id'));
    return c.json({ ok: true });
  });
  app.post('/api/servers/:id/restart', async (c) => {
    const name = c.req.param('id');
    await hub.restartServer(name);
    return c.json(serverViews(hub, hub.fileServerNames()).find((s) => s.id === name));
  });

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
  app.get('/api/tools/stats', (c) => toolStatsAnswer(hub, c, now()));
  app.post('/api/tools/call', async (c) => {
    const input = await read(c, CallBody);
    if (input instanceof Response) return input;
    const started = Date.now();
    const result = await hub.callTool(
      input.name,
      input.arguments,
      { signal: c.req.raw.signal },
      { meta: { via: 'api' } },
    );
    return c.json({ result, ms: Date.now() - started });
  });

  app.get('/api/calls', async (c) => {
    const store = hub.store;
    if (!store) return failure(c, 503, 'NO_STORE', 'this hub runs without a store');
    const endpointId = c.req.query('endpoint');
    const tool = c.req.query('tool');
    const page = await store.toolCalls.page({
      ...pageQuery(c),
      ...(endpointId ? { endpointId } : {}),
      ...(tool ? { tool } : {}),
    });
    return c.json({ ...page, items: page.items.map(callItem) });
  });

  // The event stream: every change as it happens, so a page shows it within a second.
  app.get('/api/events', (c) => {
    if (feed.size >= limits().sseClients) {
      c.header('Retry-After', '5');
      return failure(
        c,
        503,
        'TOO_MANY_STREAMS',
        `${feed.size} event streams are open, the most this hub serves (hub.limits.sseClients)`,
      );
    }
    return streamSSE(c, async (stream) => {
      // Subscribed before anything is awaited, so an abort that comes early is not missed.
      const gone = new Promise<void>((resolve) => stream.onAbort(resolve));
      // Bytes handed to the stream and not yet taken by the socket: a reader that stops
      // reading makes them grow, and past the bound its connection is cut.
      let waiting = 0;
      const write = (frame: string) => {
        if (stream.aborted) return;
        waiting += frame.length;
        if (waiting > streamQueueBytes) {
          (
            c.env as { incoming?: { socket?: { destroy(): void } } } | undefined
          )?.incoming?.socket?.destroy();
          stream.abort();
          return;
        }
        void stream.write(frame).then(() => (waiting -= frame.length));
      };
      const unsubscribe = feed.subscribe(write);
      if (!unsubscribe) return;
      // A dropped stream is reopened by the browser after `retry` ms: one second, not its default.
      write('event: hello\ndata: {}\nretry: 1000\n\n');
      const keepalive = setInterval(() => write(': keepalive\n\n'), 15_000);
      await gone;
      clearInterval(keepalive);
      unsubscribe();
    });
  });

  // The dashboard: its own files, public (the page asks for a login when one is needed).
  app.get('*', (c) => {
    const files = dashboard();
    const file =
      files.get(c.req.path === '/' ? '/index.html' : c.req.path) ??
      (c.req.path.startsWith('/api/') ? undefined : files.get('/index.html'));
    if (!file) return failure(c, 404, 'NOT_FOUND', `no route GET ${c.req.path}`);
    return c.body(new Uint8Array(file.body), 200, {
      'content-type': file.type,
      'cache-control': 'no-cache',
    });
  });

  return app;
}

function pageQuery(c: Context): { before?: number; limit?: number } {
  const before = Number(c.req.query('before'));
  const limit = Number(c.req.query('limit'));
  return {
    ...(Number.isInteger(before) && before > 0 ? { before } : {}),
    ...(Number.isInteger(limit) && limit > 0 ? { limit: Math.min(limit, 500) } : {}),
  };
}
