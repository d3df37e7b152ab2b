// A stand-in for the hub's HTTP API, for looking at the dashboard without a hub: serves dist/,
// canned data shaped like @tether/protocol's views, and an SSE stream of HubEvents.
//
//   node packages/dashboard/test/mock-server.mjs [--port 8765] [--token SECRET] [--live]
//
// --token turns the login on; --live keeps an endpoint flapping and calls flowing, for a demo.
// Tests import startMockServer() and drive the state themselves (transition, emit).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

const iso = (ms) => new Date(ms).toISOString();

function seed(now) {
  const endpoint = (patch) => ({
    url: 'wss://api.xiaozhi.me/mcp/?token=eyJh***',
    enabled: true,
    source: 'api',
    state: 'ready',
    since: iso(now - 2 * 3600_000 - 5 * 60_000),
    lastClose: null,
    lastError: null,
    attempts: 0,
    nextRetryAt: null,
    health: 100,
    owner: 'hub-a1b2',
    tools: 5,
    callsInFlight: 0,
    ...patch,
    id: patch.name,
  });
  const endpoints = [
    endpoint({
      name: 'living-room',
      source: 'file',
      health: 96,
      lastClose: { code: 1006, reason: '', at: iso(now - 2 * 3600_000 - 5 * 60_000) },
    }),
    endpoint({
      name: 'kitchen',
      source: 'env',
      url: 'wss://xiaozhi.local:8004/mcp/?token=abcd***',
      state: 'backoff',
      since: iso(now - 40_000),
      lastClose: { code: 1001, reason: 'server restart', at: iso(now - 40_000) },
      attempts: 3,
      nextRetryAt: iso(now + 8_000),
      health: 61,
      tools: 0,
    }),
    endpoint({
      name: 'lab',
      state: 'parked',
      since: iso(now - 15 * 60_000),
      lastClose: { code: 4004, reason: 'token expired', at: iso(now - 16 * 60_000) },
      lastError: 'connect ECONNREFUSED 10.0.0.7:443',
      attempts: 12,
      nextRetryAt: iso(now + 4 * 60_000),
      health: 12,
      tools: 0,
    }),
    endpoint({ name: 'spare', enabled: false, state: 'disabled', health: null, tools: 0 }),
  ];
  const servers = [
    {
      id: 'calc',
      name: 'calc',
      type: 'stdio',
      source: 'file',
      enabled: true,
      state: 'ready',
      since: iso(now - 3 * 3600_000),
      tools: 2,
      restarts: 0,
      lastError: null,
      stderrTail: ['calc: listening on stdio'],
      target: 'node calc.js',
      health: null,
    },
    {
      id: 'weather',
      name: 'weather',
      type: 'http',
      source: 'file',
      enabled: true,
      state: 'restarting',
      since: iso(now - 20_000),
      tools: 1,
      restarts: 3,
      lastError: 'HTTP 502 from https://example.test/mcp',
      stderrTail: [],
      target: 'https://example.test/mcp (headers: Authorization)',
      health: null,
    },
    {
      id: 'notes',
      name: 'notes',
      type: 'stdio',
      source: 'api',
      enabled: true,
      state: 'ready',
      since: iso(now - 50 * 60_000),
      tools: 3,
      restarts: 1,
      lastError: null,
      stderrTail: [
        'notes: opening /var/lib/notes/notes.db',
        'notes: warning: 2 notes without a title',
        'notes: ready',
      ],
      target: 'npx -y @example/notes-mcp --db /var/lib/notes/notes.db',
      health: null,
    },
  ];
  const tool = (server, name, description, inputSchema) => ({
    name: `${server}__${name}`,
    server,
    tool: name,
    description,
    inputSchema,
  });
  const tools = [
    tool('calc', 'add', 'Adds two numbers.', {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    }),
    tool('calc', 'multiply', 'Multiplies two numbers.', {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    }),
    tool('weather', 'forecast', 'Forecast for a city, today and tomorrow.', {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer', default: 2 } },
      required: ['city'],
    }),
    tool('notes', 'read', 'Reads a note by title.', {
      type: 'object',
      properties: { title: { type: 'string' } },
      required: ['title'],
    }),
    tool('notes', 'write', 'Writes a note.', {
      type: 'object',
      properties: { title: { type: 'string' }, body: { type: 'string' } },
      required: ['title', 'body'],
    }),
    tool('notes', 'delete', 'Deletes a note.', {
      type: 'object',
      properties: { title: { type: 'string' } },
      required: ['title'],
    }),
  ];
  const off = new Map([['living-room', new Set(['notes__delete'])]]);

  const timeline = new Map();
  let timelineId = 0;
  const states = ['connecting', 'open', 'ready', 'backoff'];
  for (const e of endpoints) {
    const items = [];
    for (let i = 0; i < 45; i++) {
      const from = states[i % 4];
      const to = states[(i + 1) % 4];
      items.push({
        id: ++timelineId,
        at: iso(now - (45 - i) * 7 * 60_000),
        from,
        to,
        cause: to === 'backoff' ? 'closed' : to === 'ready' ? 'handshake' : 'attempt',
        code: to === 'backoff' ? 1006 : null,
        reason: to === 'backoff' ? '' : null,
        detectedBy: to === 'backoff' ? (i % 8 === 3 ? 'heartbeat' : 'close') : null,
        instance: 'hub-a1b2',
      });
    }
    timeline.set(e.id, items);
  }

  const calls = [];
  const outcomes = ['ok', 'ok', 'ok', 'ok', 'error', 'ok', 'timeout', 'ok', 'dropped', 'ok'];
  for (let i = 0; i < 120; i++) {
    const t = tools[i % tools.length];
    const outcome = outcomes[i % outcomes.length];
    calls.push({
      id: i + 1,
      endpointId: i % 7 === 0 ? null : endpoints[i % 2].id,
      tool: t.name,
      server: t.server,
      at: iso(now - (120 - i) * 45_000),
      durationMs: outcome === 'timeout' ? 10_000 : 3 + ((i * 37) % 900),
      outcome,
      argsBytes: 20 + ((i * 13) % 200),
      resultBytes: outcome === 'ok' ? 40 + ((i * 91) % 4000) : 0,
      error:
        outcome === 'error'
          ? 'division by zero'
          : outcome === 'timeout'
            ? 'no answer in 10 s'
            : outcome === 'dropped'
              ? 'socket closed (1006) before the result'
              : null,
    });
  }
  // The newest two: one from an MCP client, one an endpoint made through the router with
  // repaired arguments, as the hub's call log keeps them (meta).
  Object.assign(calls[119], {
    endpointId: null,
    outcome: 'ok',
    error: null,
    meta: { via: 'mcp', client: 'Cursor 1.2' },
  });
  Object.assign(calls[118], {
    endpointId: endpoints[0].id,
    outcome: 'ok',
    error: null,
    meta: {
      via: 'router',
      query: '天气',
      found: ['weather__forecast', 'weather__now'],
      repairs: [{ path: '/city_name', kind: 'rename', before: 'cityName', after: 'city_name' }],
    },
  });
  return { endpoints, servers, tools, off, timeline, timelineId, calls, callId: calls.length };
}

/**
 * Starts the mock hub. Returns its URL, its data (mutable), and the levers tests pull:
 * `transition(id, state, patch)` moves an endpoint as a supervisor would, `emit(event)` sends
 * any HubEvent, `close()` stops everything.
 */
export async function startMockServer(options = {}) {
  const data = seed(Date.now());
  const clients = new Set();
  const timers = new Set();
  const token = options.token;
  const sessions = new Set();
  let wrongLogins = 0;

  const later = (ms, fn) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const emit = (event) => {
    const frame = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  const endpointById = (id) => data.endpoints.find((e) => e.id === id);
  const toolViews = () =>
    data.tools.map((t) => ({
      ...t,
      endpoints: data.endpoints
        .filter((e) => e.state === 'ready' && !(data.off.get(e.id)?.has(t.name) ?? false))
        .map((e) => e.id),
    }));

  const transition = (id, to, patch = {}) => {
    const e = endpointById(id);
    if (!e) return;
    const from = e.state;
    const now = Date.now();
    Object.assign(e, { state: to, since: iso(now) }, patch);
    if (to === 'ready') Object.assign(e, { attempts: 0, nextRetryAt: null, lastError: null });
    const items = data.timeline.get(id) ?? [];
    items.push({
      id: ++data.timelineId,
      at: iso(now),
      from,
      to,
      cause: patch.lastClose ? 'closed' : to === 'ready' ? 'handshake' : 'operator',
      code: patch.lastClose?.code ?? null,
      reason: patch.lastClose?.reason ?? null,
      detectedBy: patch.lastClose ? 'close' : null,
      instance: 'hub-a1b2',
    });
    data.timeline.set(id, items);
    emit({ type: 'endpoint', endpoint: e });
  };
  const reconnect = (id) => {
    transition(id, 'connecting', { nextRetryAt: null });
    later(250, () => transition(id, 'open'));
    later(500, () => transition(id, 'ready', { tools: 5 }));
  };
  const logCall = (call) => {
    const entry = { id: ++data.callId, ...call };
    data.calls.push(entry);
    const { id: _id, ...event } = entry;
    emit({ type: 'call', call: event });
  };

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res, status, code, message) => send(res, status, { error: { code, message } });
  const readBody = async (req) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return undefined;
    }
  };
  const page = (items, url) => {
    const before = Number(url.searchParams.get('before')) || Infinity;
    const limit = Math.min(Number(url.searchParams.get('limit')) || 50, 500);
    const older = items.filter((i) => i.id < before).sort((a, b) => b.id - a.id);
    const slice = older.slice(0, limit);
    return { items: slice, next: older.length > limit ? slice[slice.length - 1].id : null };
  };
  const authed = (req) =>
    !token ||
    req.headers.authorization === `Bearer ${token}` ||
    (req.headers.cookie ?? '')
      .split(/;\s*/)
      .some((c) => sessions.has(c.replace('tether_session=', '')));

  async function api(req, res, url) {
    const path = url.pathname;
    const method = req.method;
    if (path === '/api/session' && method === 'GET')
      return send(res, 200, { authRequired: Boolean(token), authenticated: authed(req) });
    if (path === '/api/login' && method === 'POST') {
      const body = await readBody(req);
      if (wrongLogins >= 5)
        return fail(res, 429, 'TOO_MANY_ATTEMPTS', 'too many login attempts; wait a minute');
      if (token && body?.token !== token) {
        wrongLogins++;
        return fail(res, 401, 'UNAUTHORIZED', 'wrong token');
      }
      const session = String(Math.random()).slice(2);
      sessions.add(session);
      return send(
        res,
        200,
        { ok: true },
        {
          'set-cookie': `tether_session=${session}; HttpOnly; SameSite=Strict; Path=/`,
        },
      );
    }
    if (path === '/api/logout' && method === 'POST')
      return send(res, 200, { ok: true }, { 'set-cookie': 'tether_session=; Max-Age=0; Path=/' });
    if (!authed(req))
      return fail(
        res,
        401,
        'UNAUTHORIZED',
        'an admin token is required (Authorization: Bearer …, or log in)',
      );

    if (path === '/api/events' && method === 'GET') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write(': hello\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (path === '/api/endpoints' && method === 'GET') return send(res, 200, data.endpoints);
    if (path === '/api/endpoints' && method === 'POST') {
      const body = await readBody(req);
      if (
        !body ||
        !/^[A-Za-z0-9_.-]{1,64}$/.test(body.name ?? '') ||
        !/^wss?:\/\//.test(body.url ?? '')
      )
        return fail(
          res,
          400,
          'BAD_REQUEST',
          'name: letters, digits, _ . - only; url: must be a ws:// or wss:// URL',
        );
      if (endpointById(body.name))
        return fail(res, 409, 'CONFLICT', `endpoint ${body.name} exists`);
      const view = {
        id: body.name,
        name: body.name,
        url: body.url.replace(/(token=)([^&]{0,4})[^&]*/, '$1$2***'),
        enabled: body.enabled !== false,
        source: 'api',
        state: body.enabled === false ? 'disabled' : 'connecting',
        since: iso(Date.now()),
        lastClose: null,
        lastError: null,
        attempts: 1,
        nextRetryAt: null,
        health: null,
        owner: 'hub-a1b2',
        tools: 0,
        callsInFlight: 0,
      };
      data.endpoints.push(view);
      data.timeline.set(view.id, []);
      emit({ type: 'endpoint', endpoint: view });
      if (view.enabled) later(400, () => transition(view.id, 'ready', { tools: 5 }));
      return send(res, 201, view);
    }
    let m = path.match(/^\/api\/endpoints\/([^/]+)(?:\/(.+))?$/);
    if (m) {
      const id = decodeURIComponent(m[1]);
      const rest = m[2] ?? '';
      const e = endpointById(id);
      if (!e) return fail(res, 404, 'NOT_FOUND', `no endpoint ${id}`);
      if (rest === '' && method === 'PUT') {
        const body = await readBody(req);
        if (e.source !== 'api')
          return fail(
            res,
            409,
            'READ_ONLY',
            `endpoint ${id} comes from the ${e.source === 'env' ? 'environment' : 'config file'}`,
          );
        if (!/^wss?:\/\//.test(body?.url ?? ''))
          return fail(res, 400, 'BAD_REQUEST', 'url: must be a ws:// or wss:// URL');
        Object.assign(e, {
          enabled: body.enabled !== false,
          url: body.url.replace(/(token=)([^&]{0,4})[^&]*/, '$1$2***'),
        });
        emit({ type: 'endpoint', endpoint: e });
        return send(res, 200, e);
      }
      if (rest === '' && method === 'DELETE') {
        if (e.source !== 'api')
          return fail(
            res,
            409,
            'READ_ONLY',
            `endpoint ${id} comes from the ${e.source === 'env' ? 'environment' : 'config file'}; edit it there`,
          );
        data.endpoints = data.endpoints.filter((x) => x !== e);
        emit({ type: 'endpoint-removed', id });
        return send(res, 200, { ok: true });
      }
      if (rest === 'retry' && method === 'POST') {
        reconnect(id);
        return send(res, 200, { ok: true });
      }
      if ((rest === 'enable' || rest === 'disable') && method === 'POST') {
        e.enabled = rest === 'enable';
        if (e.enabled) reconnect(id);
        else transition(id, 'disabled', { nextRetryAt: null, tools: 0 });
        return send(res, 200, { ok: true });
      }
      if (rest === 'uptime' && method === 'GET') return send(res, 200, uptimeOf(id, url));
      if (rest === 'tools' && method === 'GET')
        return send(
          res,
          200,
          data.tools.map((t) => ({
            name: t.name,
            server: t.server,
            enabled: !(data.off.get(id)?.has(t.name) ?? false),
          })),
        );
      const tm = rest.match(/^tools\/(.+)$/);
      if (tm && method === 'PUT') {
        const body = await readBody(req);
        if (typeof body?.enabled !== 'boolean')
          return fail(res, 400, 'BAD_REQUEST', 'enabled: expected boolean');
        const name = decodeURIComponent(tm[1]);
        if (!data.tools.some((t) => t.name === name))
          return fail(res, 404, 'NOT_FOUND', `no tool ${name}`);
        const off = data.off.get(id) ?? new Set();
        if (body.enabled) off.delete(name);
        else off.add(name);
        data.off.set(id, off);
        emit({ type: 'tools' });
        if (e.enabled) later(100, () => reconnect(id));
        return send(
          res,
          200,
          data.tools.map((t) => ({ name: t.name, server: t.server, enabled: !off.has(t.name) })),
        );
      }
      if (rest === 'timeline' && method === 'GET')
        return send(res, 200, page(data.timeline.get(id) ?? [], url));
      if (rest === 'health' && method === 'GET')
        return send(res, 200, {
          score: e.health ?? 0,
          uptime: (e.health ?? 0) / 100,
          flaps: e.state === 'ready' ? 1 : 6,
          failures: e.attempts,
          handshakeMs: e.state === 'disabled' ? null : 142,
          windowMs: 3600_000,
        });
    }
    if (path === '/api/servers' && method === 'GET') return send(res, 200, data.servers);
    if (path === '/api/servers' && method === 'POST') {
      const body = await readBody(req);
      if (!body || !/^[A-Za-z0-9_-]{1,64}$/.test(body.name ?? ''))
        return fail(res, 400, 'BAD_REQUEST', 'name: invalid');
      const view = {
        id: body.name,
        name: body.name,
        type: body.type,
        source: 'api',
        enabled: body.enabled !== false,
        state: 'starting',
        since: iso(Date.now()),
        tools: 0,
        restarts: 0,
        lastError: null,
        stderrTail: [],
        target: body.type === 'stdio' ? [body.command, ...(body.args ?? [])].join(' ') : body.url,
        health: null,
      };
      data.servers.push(view);
      emit({ type: 'server', server: view });
      later(300, () => {
        Object.assign(view, { state: 'ready', since: iso(Date.now()), tools: 1 });
        emit({ type: 'server', server: view });
      });
      return send(res, 201, view);
    }
    m = path.match(/^\/api\/servers\/([^/]+)$/);
    if (m) {
      const id = decodeURIComponent(m[1]);
      const s = data.servers.find((x) => x.id === id);
      if (!s) return fail(res, 404, 'NOT_FOUND', `no server ${id}`);
      if (s.source !== 'api')
        return fail(
          res,
          409,
          'READ_ONLY',
          `server ${id} comes from the config file; edit it there`,
        );
      if (method === 'DELETE') {
        data.servers = data.servers.filter((x) => x !== s);
        emit({ type: 'tools' });
        return send(res, 200, { ok: true });
      }
      if (method === 'PUT') {
        const body = await readBody(req);
        Object.assign(s, {
          type: body.type,
          enabled: body.enabled !== false,
          target: body.type === 'stdio' ? [body.command, ...(body.args ?? [])].join(' ') : body.url,
        });
        emit({ type: 'server', server: s });
        return send(res, 200, s);
      }
    }
    if (path === '/api/tools' && method === 'GET') return send(res, 200, toolViews());
    if (path === '/api/tools/stats' && method === 'GET') {
      // A hub computing a day of figures takes a while; tests say how long.
      if (options.statsDelayMs) await new Promise((r) => later(options.statsDelayMs, r));
      return send(res, 200, toolStats());
    }
    if (path === '/api/tools/call' && method === 'POST') {
      const body = await readBody(req);
      const t = data.tools.find((x) => x.name === body?.name);
      if (!t) return fail(res, 404, 'UPSTREAM_UNKNOWN_TOOL', `no tool ${body?.name}`);
      const args = body.arguments ?? {};
      const ms = 3 + Math.round(Math.random() * 40);
      const text =
        t.tool === 'add'
          ? String(Number(args.a) + Number(args.b))
          : t.tool === 'multiply'
            ? String(Number(args.a) * Number(args.b))
            : `${t.tool}: ok`;
      logCall({
        endpointId: null,
        tool: t.name,
        server: t.server,
        at: iso(Date.now()),
        durationMs: ms,
        outcome: 'ok',
        argsBytes: JSON.stringify(args).length,
        resultBytes: text.length + 30,
        error: null,
      });
      return send(res, 200, { result: { content: [{ type: 'text', text }] }, ms });
    }
    if (path === '/api/mcp/sessions' && method === 'GET') {
      const at = new Date(Date.now() - 120_000).toISOString();
      return send(res, 200, [
        {
          id: 'a1',
          client: { name: 'Cursor', version: '1.2' },
          endpoint: null,
          createdAt: at,
          lastActivityAt: at,
          callsInFlight: 1,
          streams: 1,
        },
        {
          id: 'b2',
          client: { name: 'claude-ai', version: '0.1.0' },
          endpoint: 'kitchen',
          createdAt: at,
          lastActivityAt: at,
          callsInFlight: 0,
          streams: 0,
        },
      ]);
    }
    if (path === '/api/calls' && method === 'GET') {
      const endpoint = url.searchParams.get('endpoint');
      const tool = url.searchParams.get('tool');
      const items = data.calls.filter(
        (c) => (!endpoint || c.endpointId === endpoint) && (!tool || c.tool === tool),
      );
      return send(res, 200, page(items, url));
    }
    return fail(res, 404, 'NOT_FOUND', `no route ${method} ${path}`);
  }

  /** A day of quarter hours (or what was asked): ready, one short loss, one outage. */
  function uptimeOf(id, url) {
    const buckets = Number(url.searchParams.get('buckets') ?? 96);
    const hours = Number(url.searchParams.get('hours') ?? 24);
    const bucketMs = (hours * 3_600_000) / buckets;
    const now = Date.now();
    const from = Math.floor(now / bucketMs) * bucketMs - (buckets - 1) * bucketMs;
    const loss = { cause: 'heartbeat', code: null, detectedBy: 'heartbeat', count: 1 };
    const close = { cause: 'close', code: 1006, detectedBy: 'close frame', count: 2 };
    const list = Array.from({ length: buckets }, (_, i) => {
      const start = from + i * bucketMs;
      const end = Math.min(start + bucketMs, now);
      const level = i === buckets - 20 ? 'down' : i === buckets - 40 ? 'degraded' : 'ready';
      const downMs = level === 'down' ? 6 * 60_000 : 0;
      const degradedMs = level === 'down' ? 60_000 : level === 'degraded' ? 20_000 : 0;
      return {
        start: iso(start),
        end: iso(end),
        level,
        readyMs: end - start - downMs - degradedMs,
        degradedMs,
        downMs,
        disabledMs: 0,
        unknownMs: 0,
        reconnects: level === 'down' ? 1 : level === 'degraded' ? 2 : 0,
        causes: level === 'down' ? [loss] : level === 'degraded' ? [close] : [],
      };
    });
    const sum = (key) => list.reduce((a, b) => a + b[key], 0);
    const known = sum('readyMs') + sum('degradedMs') + sum('downMs');
    return {
      endpoint: id,
      from: iso(from),
      to: iso(now),
      bucketMs,
      downAfterMs: 60_000,
      buckets: list,
      totals: {
        readyMs: sum('readyMs'),
        degradedMs: sum('degradedMs'),
        downMs: sum('downMs'),
        disabledMs: 0,
        unknownMs: 0,
        reconnects: 3,
        uptime: sum('readyMs') / known,
      },
      causes: [close, loss],
      truncated: false,
    };
  }

  /** The logged calls per tool, over the hours the log covers. */
  function toolStats() {
    const now = Date.now();
    const from = Math.floor(now / 3_600_000) * 3_600_000 - 23 * 3_600_000;
    const tools = data.tools.map((t) => {
      const calls = data.calls.filter((c) => c.tool === t.name);
      const perHour = new Array(24).fill(0);
      for (const c of calls)
        perHour[Math.max(0, Math.min(23, Math.floor((Date.parse(c.at) - from) / 3_600_000)))]++;
      const durations = calls.map((c) => c.durationMs).sort((a, b) => a - b);
      const rank = (p) =>
        durations.length ? durations[Math.ceil(p * durations.length) - 1] : null;
      const errors = calls.filter((c) => c.outcome === 'error' || c.outcome === 'timeout').length;
      return {
        name: t.name,
        server: t.server,
        calls: calls.length,
        errors,
        errorRate: calls.length ? errors / calls.length : null,
        p50Ms: rank(0.5),
        p95Ms: rank(0.95),
        // As if the hub's log had been pruned below the day for the seeded calc__add.
        latency: t.name === 'calc__add' ? 'estimated' : 'exact',
        perHour,
        usageCount: calls.length * 7,
        lastUsedAt: calls[0]?.at ?? null,
      };
    });
    return { from: iso(from), to: iso(now), hours: 24, tools, truncated: false };
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname.startsWith('/api/')) return await api(req, res, url);
      const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const type = TYPES[extname(name)];
      const body =
        type && !name.includes('/') ? await readFile(`${DIST}${name}`).catch(() => null) : null;
      if (body) {
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
        return res.end(body);
      }
      res.writeHead(200, { 'content-type': TYPES['.html'] });
      res.end(await readFile(`${DIST}index.html`));
    } catch (error) {
      fail(res, 500, 'INTERNAL', error.message);
    }
  });
  await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address();

  if (options.live) {
    const flap = setInterval(() => {
      const e = endpointById('kitchen');
      if (!e?.enabled) return;
      if (e.state === 'ready')
        transition('kitchen', 'backoff', {
          lastClose: { code: 1006, reason: '', at: iso(Date.now()) },
          attempts: 1,
          nextRetryAt: iso(Date.now() + 4000),
        });
      else reconnect('kitchen');
    }, 6000);
    const traffic = setInterval(() => {
      const t = data.tools[Math.floor(Math.random() * data.tools.length)];
      logCall({
        endpointId: 'living-room',
        tool: t.name,
        server: t.server,
        at: iso(Date.now()),
        durationMs: 2 + Math.round(Math.random() * 300),
        outcome: Math.random() < 0.9 ? 'ok' : 'error',
        argsBytes: 42,
        resultBytes: 310,
        error: null,
      });
    }, 2500);
    timers.add(flap);
    timers.add(traffic);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    data,
    emit,
    transition,
    logCall,
    /** Drops every SSE connection, as a restarting hub would. */
    dropStreams() {
      for (const res of clients) res.destroy();
      clients.clear();
    },
    async close() {
      for (const timer of timers) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      for (const res of clients) res.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const at = process.argv.indexOf(name);
    return at === -1 ? undefined : process.argv[at + 1];
  };
  const mock = await startMockServer({
    port: Number(arg('--port') ?? 8765),
    token: arg('--token'),
    live: process.argv.includes('--live'),
  });
  console.log(`mock hub on ${mock.url}${arg('--token') ? ' (login required)' : ''}`);
  const stop = () => void mock.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
