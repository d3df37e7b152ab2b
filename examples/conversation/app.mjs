// The conversation server: one session per browser tab, keeping a conversation id, a language
// and the history, resumed after a pause or a reconnect. `server.mjs` runs it from the command
// line; the browser test starts it in-process.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { MemorySessionStore, RedisSessionStore, SessionServer } from '@tether/session/server';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

const GREETING = {
  en: (id) => `New conversation ${id}. Say something, or try "/count 20" then switch tabs.`,
  fr: (id) => `Nouvelle conversation ${id}. Dites quelque chose, ou essayez « /count 20 ».`,
  zh: (id) => `新对话 ${id}。说点什么，或者试试 "/count 20"。`,
};
const REPLY = {
  en: (n, text) => `(#${n}) You said: ${text}`,
  fr: (n, text) => `(n° ${n}) Vous avez dit : ${text}`,
  zh: (n, text) => `（第 ${n} 条）你说：${text}`,
};

/**
 * @param {{ port?: number, host?: string, redisUrl?: string, resumeWindowMs?: number,
 *   heartbeatMs?: number, pauseAfterMs?: number, detachAfterMs?: number,
 *   pingIntervalMs?: number, log?: (line: string) => void }} options
 */
export async function startConversationServer(options = {}) {
  const log = options.log ?? (() => {});
  // Bundled at start from the sources next to this file, so the page is always current.
  const bundle = await build({
    entryPoints: [here('./page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const pageJs = bundle.outputFiles[0].text;
  const html = await import('node:fs/promises').then((fs) => fs.readFile(here('./index.html')));

  const store = options.redisUrl
    ? await RedisSessionStore.connect({ redis: options.redisUrl, prefix: 'conversation:' })
    : new MemorySessionStore();
  let connections = 0;
  /** Streams in progress: they keep going while the client is away, into the replay buffer. */
  const streams = new Map();

  const http = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname === '/') return send(res, 200, 'text/html; charset=utf-8', html);
    if (pathname === '/page.js') return send(res, 200, 'text/javascript; charset=utf-8', pageJs);
    if (pathname === '/stats') return send(res, 200, 'application/json', JSON.stringify(stats()));
    send(res, 404, 'text/plain', 'not found\n');
  });

  const sessions = new SessionServer({
    server: http,
    path: '/session',
    store,
    resumeWindowMs: options.resumeWindowMs,
    heartbeatMs: options.heartbeatMs,
    pauseAfterMs: options.pauseAfterMs,
    detachAfterMs: options.detachAfterMs,
    pingIntervalMs: options.pingIntervalMs,
    tickMs: Math.min(250, (options.heartbeatMs ?? 5_000) / 4),
    // Set-up runs for new sessions only: a resume hands back the state below untouched.
    // The language comes from the hello's context (the Unity and console clients send one), else
    // from ?lang=. A session that expired hands over its last state: the new conversation is
    // seeded with its language and recent history, and says which one it continues.
    onNewSession(session, info) {
      const url = new URL(info.request?.url ?? '/', 'http://localhost');
      const asked = info.context?.language ?? url.searchParams.get('lang');
      const previous = info.previousState;
      const language = GREETING[asked] ? asked : (previous?.language ?? 'en');
      const conversationId = randomBytes(4).toString('hex');
      const continuedFrom = previous?.conversationId;
      const text = GREETING[language](conversationId);
      session.send({ kind: 'conversation', conversationId, language, text, continuedFrom });
      log(`new conversation ${conversationId} (${language}, ${info.reason})`);
      const history = [...(previous?.history ?? []).slice(-20), { from: 'server', text }];
      return { conversationId, language, history, continuedFrom };
    },
    onResume(session, info) {
      log(
        `resumed ${session.state.conversationId}: ${info.replayed} replayed, ${info.missed} lost`,
      );
    },
    onMessage(session, body) {
      const text = String(body?.text ?? '').slice(0, 2_000);
      const state = session.state;
      const history = [...state.history, { from: 'user', text }];
      const count = /^\/count\s+(\d+)(?:\s+(\d+))?$/.exec(text);
      const lang = /^\/lang\s+(en|fr|zh)$/.exec(text);
      let reply;
      let language = state.language;
      if (count) {
        stream(session, Math.min(Number(count[1]), 1_000), Number(count[2] ?? 250));
        reply = `Counting to ${count[1]}.`;
      } else if (lang) {
        language = lang[1];
        reply = GREETING[language](state.conversationId);
      } else {
        reply = REPLY[language](history.filter((h) => h.from === 'user').length, text);
      }
      history.push({ from: 'server', text: reply });
      // A new value, never the old one mutated: the store writes what setState is given.
      session.setState({ ...state, language, history: history.slice(-200) });
      session.send({ kind: 'reply', text: reply });
    },
    onExpire(expired) {
      clearInterval(streams.get(expired.id));
      streams.delete(expired.id);
      log(`conversation ${expired.state.conversationId} expired (${expired.reason})`);
    },
  });
  sessions.on('connection', () => connections++);

  function stream(session, n, everyMs) {
    clearInterval(streams.get(session.id));
    let i = 0;
    const timer = setInterval(() => {
      i++;
      if (!session.send({ kind: 'tick', n: i, of: n }) || i >= n) {
        clearInterval(timer);
        streams.delete(session.id);
      }
    }, everyMs);
    streams.set(session.id, timer);
  }

  function stats() {
    return {
      connections,
      sessions: [...sessions.sessions.values()].map((s) => ({
        id: s.id,
        status: s.status,
        conversationId: s.state?.conversationId,
        messages: s.state?.history.length,
        streaming: streams.has(s.id),
      })),
    };
  }

  await new Promise((resolve) =>
    http.listen(options.port ?? 8080, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = http.address();
  return {
    port,
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    sessions,
    stats,
    async close() {
      for (const timer of streams.values()) clearInterval(timer);
      await sessions.close();
      await store.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
