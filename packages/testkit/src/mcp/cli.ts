/**
 * `node dist/mcp/cli.js --transport stdio|http|sse [--port N] [--host H] [--name NAME]
 *   [--crash-after N] [--progress-every MS] [--extra-tools N] [--page-size N] [--session-ttl MS]
 *   [--noisy-stderr MS] [--ignore-sigterm]`
 *
 * stdio: stdin/stdout carry the protocol; the process exits when stdin ends.
 * http/sse: prints one line `{"url":"http://127.0.0.1:PORT/mcp"}` (`/sse` for SSE) once listening.
 * A crash (the `crash` tool, `--crash-after`) exits with code 1 at once, answering nothing.
 */
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { createFakeMcpServer } from './fake-server.js';
import { startFakeHttpServer } from './http-host.js';
import { parseCliArgs } from './options.js';
import type { FakeCliOptions } from './options.js';

const say = (line: string): void => {
  process.stderr.write(`[fake-mcp ${process.pid}] ${line}\n`);
};

async function main(options: FakeCliOptions): Promise<void> {
  const noisyMs = options.noisyStderrMs ?? 0;
  if (noisyMs > 0) {
    let ticks = 0;
    // unref'd: noise never keeps an otherwise finished server alive.
    setInterval(() => say(`tick ${++ticks}`), noisyMs).unref();
  }
  if (options.ignoreSigterm === true) {
    process.on('SIGTERM', () => say('ignoring SIGTERM'));
    // A hung server stays up even with nothing left to do: only SIGKILL ends it.
    setInterval(() => {}, 1 << 30);
  }
  const hooks = {
    onCrash: () => process.exit(1),
    onToolCall: noisyMs > 0 ? (tool: string) => say(`call ${tool}`) : undefined,
  };

  if (options.transport === 'stdio') {
    const fake = createFakeMcpServer(options, hooks);
    const transport = new StdioServerTransport();
    transport.onclose = () => {
      if (options.ignoreSigterm !== true) process.exit(0);
    };
    await fake.server.connect(transport);
    return;
  }
  const server = await startFakeHttpServer({ ...options, transport: options.transport }, hooks);
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

let options: FakeCliOptions;
try {
  options = parseCliArgs(process.argv.slice(2));
} catch (error) {
  say((error as Error).message);
  process.exit(2);
}
main(options).catch((error: unknown) => {
  say(`failed to start: ${String(error)}`);
  process.exit(1);
});
