#!/usr/bin/env node
// `node examples/conversation/server.mjs` (after `npm install`, which builds the packages).
// Settings from the environment: PORT (8080), HOST (127.0.0.1), REDIS_URL (sessions in Redis
// instead of memory, so a restart resumes them), RESUME_WINDOW_MS, HEARTBEAT_MS,
// PAUSE_AFTER_MS, DETACH_AFTER_MS.
import { startConversationServer } from './app.mjs';

const number = (name) => (process.env[name] ? Number(process.env[name]) : undefined);
const app = await startConversationServer({
  port: number('PORT') ?? 8080,
  host: process.env.HOST ?? '127.0.0.1',
  redisUrl: process.env.REDIS_URL,
  resumeWindowMs: number('RESUME_WINDOW_MS'),
  heartbeatMs: number('HEARTBEAT_MS'),
  pauseAfterMs: number('PAUSE_AFTER_MS'),
  detachAfterMs: number('DETACH_AFTER_MS'),
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});
console.log(
  `conversation example on ${app.url} (sessions ${process.env.REDIS_URL ? 'in Redis' : 'in memory'})`,
);
const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
