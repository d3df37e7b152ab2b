import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { UpstreamTool } from '../upstream/types.js';
import type { EndpointCalls } from './calls.js';
import { RESULT_TOOL } from './jobs.js';

/**
 * How long a `tools/list` waits for the endpoint's servers to finish their first start before
 * it is answered with the tools there are. Xiaozhi reads the tools only in the handshake, so an
 * answer given while a server is still booting would leave its tools out until the next one;
 * the endpoint gives the handshake about 10 s (docs/xiaozhi-endpoint.md, the simulator's
 * default), so half of that is waited and the other half left to the socket. A server slower
 * than this reaches the endpoint by the tools-changed reconnect once it is up.
 */
export const TOOLS_WAIT_MS = 5_000;

export interface EndpointServerPorts {
  version: string;
  /** The tools this endpoint gets now. */
  tools(): CatalogEntry[];
  /**
   * Settles once the endpoint's servers have finished their first start (up or not); undefined
   * when there is nothing to wait for. `tools/list` waits for it, at most `toolsWaitMs`, so the
   * first answer is complete while the hub dials before its servers are up. Absent: nothing
   * to wait for.
   */
  ready?(): Promise<void> | undefined;
  /** Times that wait. Default: the system clock. */
  clock?: Clock;
  /** The bound on that wait. Default TOOLS_WAIT_MS. */
  toolsWaitMs?: number;
  /** A tool of one of its servers that is down, so the call hears why (see CallRouter.find). */
  absentTool?(name: string): CatalogEntry | undefined;
  /** Whether `tether__result` is offered (early replies are on). */
  earlyReplies(): boolean;
  /** The tool set was just sent: the socket that asked is ready. */
  listed(entries: CatalogEntry[]): void;
  calls: EndpointCalls;
}

/** Resolves when `promise` settles or after `ms`, whichever is first. */
function bounded(
  promise: Promise<void>,
  ms: number,
  signal: AbortSignal,
  clock: Clock,
): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done);
    promise.then(done, done);
  });
}

/** The MCP server that answers on one socket: tools/list and tools/call. */
export function createEndpointServer(ports: EndpointServerPorts): Server {
  const server = new Server(
    { name: 'tether', version: ports.version },
    { capabilities: { tools: {} } },
  );
  // `initialize` is the SDK's and is answered at once; only the tool list waits for servers.
  server.setRequestHandler('tools/list', async (_request, ctx) => {
    const starting = ports.ready?.();
    if (starting)
      await bounded(
        starting,
        ports.toolsWaitMs ?? TOOLS_WAIT_MS,
        ctx.mcpReq.signal,
        ports.clock ?? systemClock,
      );
    const entries = ports.tools();
    ports.listed(entries);
    const tools: UpstreamTool[] = entries.map((e) => e.definition);
    return { tools: ports.earlyReplies() ? [...tools, RESULT_TOOL] : tools } as never;
  });
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const { name, arguments: args } = request.params;
    if (name === RESULT_TOOL.name && ports.earlyReplies())
      return (await ports.calls.fetchJob(args, ctx.mcpReq.signal)) as never;
    const entry = ports.tools().find((e) => e.name === name) ?? ports.absentTool?.(name);
    if (!entry) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const refused = ports.calls.refusal(name);
    if (refused) return refused as never;
    return (await ports.calls.call({
      entry,
      args,
      socketSignal: ctx.mcpReq.signal,
      progressToken: ctx.mcpReq._meta?.progressToken,
      notifyProgress: (params) =>
        ctx.mcpReq.notify({ method: 'notifications/progress', params } as never),
    })) as never;
  });
  return server;
}
