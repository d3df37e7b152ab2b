import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { UpstreamTool } from '../upstream/types.js';
import type { EndpointCalls } from './calls.js';
import { RESULT_TOOL } from './jobs.js';

export interface EndpointServerPorts {
  version: string;
  /** The tools this endpoint gets now. */
  tools(): CatalogEntry[];
  /** A tool of one of its servers that is down, so the call hears why (see CallRouter.find). */
  absentTool?(name: string): CatalogEntry | undefined;
  /** Whether `tether__result` is offered (early replies are on). */
  earlyReplies(): boolean;
  /** The tool set was just sent: the socket that asked is ready. */
  listed(entries: CatalogEntry[]): void;
  calls: EndpointCalls;
}

/** The MCP server that answers on one socket: tools/list and tools/call. */
export function createEndpointServer(ports: EndpointServerPorts): Server {
  const server = new Server(
    { name: 'tether', version: ports.version },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler('tools/list', async () => {
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
