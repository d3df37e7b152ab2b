/**
 * `node dist/mcp/content-cli.js`: the content server (content-server.ts) on stdio. The process
 * exits when stdin ends.
 */
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { createContentMcpServer } from './content-server.js';

const transport = new StdioServerTransport();
transport.onclose = () => process.exit(0);
createContentMcpServer()
  .connect(transport)
  .catch((error: unknown) => {
    process.stderr.write(`[fake-content] failed to start: ${String(error)}\n`);
    process.exit(1);
  });
