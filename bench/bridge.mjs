// The start-up baseline of bench/start.ts: the least any Node bridge can do. It spawns the stdio
// server, dials the endpoint with ws at once, answers `initialize` itself and `tools/list` with
// the server's tools once the server has listed them. Usage: node bridge.mjs <url> <cmd> [args…]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const [url, command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
const pending = new Map();
let nextId = 0;
const ask = (method, params = {}) =>
  new Promise((resolve) => {
    pending.set(++nextId, resolve);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: nextId, method, params })}\n`);
  });
createInterface({ input: child.stdout }).on('line', (line) => {
  const message = JSON.parse(line);
  pending.get(message.id)?.(message.result);
  pending.delete(message.id);
});
const info = { protocolVersion: '2024-11-05', capabilities: {} };
const tools = ask('initialize', { ...info, clientInfo: { name: 'bridge', version: '0' } }).then(
  () => {
    child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    return ask('tools/list');
  },
);

const socket = new WebSocket(url);
socket.on('message', async (data) => {
  const { id, method } = JSON.parse(String(data));
  if (id === undefined) return;
  const result =
    method === 'initialize'
      ? { ...info, capabilities: { tools: {} }, serverInfo: { name: 'bridge', version: '0' } }
      : method === 'tools/list'
        ? await tools
        : {};
  socket.send(JSON.stringify({ jsonrpc: '2.0', id, result }));
});
process.on('SIGTERM', () => {
  child.kill();
  socket.close(1001);
  process.exit(0);
});
