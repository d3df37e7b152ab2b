import type { Link } from '../src/index.js';

/**
 * Just enough of an MCP server on top of a link for the endpoint simulator to complete its
 * handshake: answers initialize, tools/list and ping, and marks the link ready. The hub does
 * this for real; here it only lets the link's tests see full handshakes.
 */
export function attachResponder(link: Link): () => void {
  return link.on('message', (data, meta) => {
    if (typeof data !== 'string') return;
    const message = JSON.parse(data) as { id?: string | number; method?: string };
    if (message.id === undefined || !message.method) return;
    const result =
      message.method === 'initialize'
        ? {
            protocolVersion: '2024-11-05',
            capabilities: { tools: {} },
            serverInfo: { name: 'link-test', version: '0' },
          }
        : message.method === 'tools/list'
          ? { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }
          : {};
    link.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }), meta.generation);
    if (message.method === 'tools/list') link.markReady();
  });
}
