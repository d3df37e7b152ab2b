import { Server } from '@modelcontextprotocol/server';
import { systemClock } from '@tether/link';
import type { Clock } from '@tether/link';
import { ErrorCode } from '@tether/protocol';
import type { JsonRpcRequest } from '@tether/protocol';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { ToolResult, UpstreamTool } from '../upstream/types.js';
import type { EndpointCalls } from './calls.js';
import { RESULT_TOOL } from './jobs.js';
import {
  CALL_TOOL,
  CALL_TOOL_ENTRY,
  FIND_TOOLS,
  FIND_TOOLS_ENTRY,
  findTools,
  routedCall,
} from './served.js';
import type { ServedTools } from './served.js';
import type { CallSocket } from './transport.js';

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
  /** The tools this endpoint is sent now (endpoint/served.ts: all, or the router's set). */
  tools(): readonly CatalogEntry[];
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
  /** Whether `tether__result` is offered (early replies are on). */
  earlyReplies(): boolean;
  /** The tool set was just sent: the socket that asked is ready. */
  listed(entries: readonly CatalogEntry[]): void;
}

/** What answerToolCall needs of the endpoint. */
export interface ToolCallPorts {
  /** What this endpoint is sent and may call now (endpoint/served.ts). */
  served(): ServedTools;
  /** A tool of one of its servers that is down, so the call hears why (see CallRouter.find). */
  absentTool?(name: string): CatalogEntry | undefined;
  /** Whether `tether__result` is answered (early replies are on). */
  earlyReplies(): boolean;
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

/**
 * The MCP server that answers on one socket: the handshake, ping and tools/list. Its
 * `tools/call`s never reach it: the transport hands them to answerToolCall.
 */
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
  return server;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One `tools/call` from the endpoint, answered on the socket it came in on. The transport has
 * already checked the envelope (endpoint/transport.ts); here the params are checked as the MCP
 * schema has them, the call goes to its server and the result is written back with the
 * request's own id, untouched — the server's result is checked once, where it is read
 * (upstream/connection.ts), not again on the way out, so content of a kind the SDK does not
 * know yet passes through.
 */
export function answerToolCall(
  ports: ToolCallPorts,
  request: JsonRpcRequest,
  socket: CallSocket,
): void {
  const { id } = request;
  // An object by now: the transport answered any other params (envelopeProblem).
  const params = (request.params ?? {}) as Record<string, unknown>;
  const { name, arguments: args } = params as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string')
    return socket.error(id, ErrorCode.InvalidParams, 'Invalid params: name must be a string');
  if (args !== undefined && !isObject(args))
    return socket.error(id, ErrorCode.InvalidParams, 'Invalid params: arguments must be an object');
  const controller = socket.track(id);
  // A call the endpoint cancelled, or whose socket closed, is not answered (MCP: the receiver
  // of a cancellation should not; a closed socket could not carry it).
  const answerable = () => !controller.signal.aborted;
  void answer(ports, socket, controller, name, args, params)
    .then(
      (result) => answerable() && socket.result(id, result),
      (error: unknown) => {
        if (!answerable()) return;
        if (error instanceof UnknownTool) socket.error(id, ErrorCode.InvalidParams, error.message);
        else socket.error(id, ErrorCode.InternalError, (error as Error)?.message ?? String(error));
      },
    )
    .finally(() => socket.untrack(controller));
}

class UnknownTool extends Error {}

async function answer(
  ports: ToolCallPorts,
  socket: CallSocket,
  controller: AbortController,
  name: string,
  args: Record<string, unknown> | undefined,
  params: Record<string, unknown>,
): Promise<ToolResult> {
  if (name === RESULT_TOOL.name && ports.earlyReplies())
    return ports.calls.fetchJob(args, controller.signal);
  const served = ports.served();
  const router = served.router;
  let entry: CatalogEntry | undefined;
  let callArgs = args;
  let via: 'router' | undefined;
  if (router && name === FIND_TOOLS.name)
    return ports.calls.answerOwn(FIND_TOOLS_ENTRY, args, (budgetBytes) => {
      const { result, query, found } = findTools(router, args, budgetBytes);
      // The router's choice, for the call log: what it was asked and what it answered.
      const meta = { via: 'router' as const, ...(query !== undefined && { query, found }) };
      return { result, meta };
    });
  if (router && name === CALL_TOOL.name) {
    const routed = routedCall(router, args, ports.absentTool);
    // A refusal goes into the call log too: a model guessing names shows there.
    if ('refusal' in routed)
      return ports.calls.answerOwn(CALL_TOOL_ENTRY, args, () => ({
        result: routed.refusal,
        meta: { via: 'router' },
      }));
    ({ entry, args: callArgs } = routed);
    via = 'router';
  } else {
    // A tool the router found may be called by its own name too: it is the endpoint's all the same.
    entry =
      (router ? router.lookup(name) : served.allowed.find((e) => e.name === name)) ??
      ports.absentTool?.(name);
  }
  if (!entry) throw new UnknownTool(`Unknown tool: ${name}`);
  const refused = ports.calls.refusal(entry.name);
  if (refused) return refused;
  const progressToken = (params._meta as { progressToken?: string | number } | undefined)
    ?.progressToken;
  return ports.calls.call({
    entry,
    args: callArgs,
    controller,
    detach: () => socket.untrack(controller),
    ...(progressToken !== undefined && { progressToken }),
    notifyProgress: (progress) => socket.notify('notifications/progress', progress),
    ...(via && { meta: { via } }),
  });
}
