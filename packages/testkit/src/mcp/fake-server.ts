import {
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  isCallToolResult,
} from '@modelcontextprotocol/server';
import type {
  CallToolResult,
  ListToolsResult,
  RegisteredTool,
  ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { FakeMcpOptions } from './options.js';

export interface ToolChange {
  /** Tools to register; each one echoes its `text` argument (or its own name). */
  add?: readonly string[];
  /** Tools to remove, built-in ones included. */
  remove?: readonly string[];
}

export interface FakeMcpHooks {
  /** What "the process dies" means here. Default: close every connection of this fake. */
  onCrash?: () => void;
  /** Called as each tool call starts, before it can crash (the CLI's noisy stderr uses it). */
  onToolCall?: (tool: string) => void;
  /** When given, the `expire_sessions` tool exists and calls it (HTTP hosts only). */
  expireSessions?: () => void;
}

export interface FakeMcpServer {
  server: McpServer;
  changeTools(change: ToolChange): void;
  /** Tool calls started, by tool name (a crashing or cancelled call counts too). */
  calls: Map<string, number>;
  /** Calls whose request was cancelled by the client while the tool was still working. */
  cancelled: Map<string, number>;
}

/** One tool as the fake knows it; every live McpServer registers it from here. */
interface ToolDef {
  description: string;
  inputSchema: z.ZodObject;
  /** The SDK turns anything a tool throws into an isError result; these tools answer JSON-RPC errors. */
  rawErrors?: boolean;
  run(args: unknown, ctx: ServerContext): Promise<CallToolResult>;
}

function defineTool<S extends z.ZodObject>(
  description: string,
  inputSchema: S,
  run: (args: z.infer<S>, ctx: ServerContext) => CallToolResult | Promise<CallToolResult>,
  flags: { rawErrors?: boolean } = {},
): ToolDef {
  return {
    description,
    inputSchema,
    ...flags,
    run: async (args, ctx) => run(inputSchema.parse(args), ctx),
  };
}

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** A promise that never settles: the dead or hung server simply never answers. */
const never = (): Promise<never> => new Promise<never>(() => {});

/** Resolves after `ms`, rejects with the signal's reason on abort; leaves no timer or listener. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface LiveServer {
  mcp: McpServer;
  registered: Map<string, RegisteredTool>;
}

/** The McpServer-installed request handler, as stored on its Server (see `installedHandler`). */
type InstalledHandler = (request: unknown, ctx: ServerContext) => Promise<unknown>;

/**
 * McpServer installs `tools/list` and `tools/call` itself and offers no hook to page the list or to
 * let a tool answer a JSON-RPC error (it turns every throw into `isError`). We wrap its handlers,
 * read back through the SDK's protected accessor; the tests of `pageSize` and `fail_rpc` fail loudly
 * if a later SDK moves it.
 */
function installedHandler(mcp: McpServer, method: string): InstalledHandler | undefined {
  const server = mcp.server as unknown as {
    _getRequestHandler(method: string): InstalledHandler | undefined;
  };
  return server._getRequestHandler(method);
}

/**
 * Everything the sessions of one fake server share: the tool catalogue, call counts and the crash
 * counter. A stdio fake has one McpServer; an HTTP fake has one per session (an McpServer serves a
 * single transport), all registered from the same catalogue.
 */
export class FakeMcpCore {
  readonly calls = new Map<string, number>();
  readonly cancelled = new Map<string, number>();
  private readonly tools = new Map<string, ToolDef>();
  private readonly live = new Set<LiveServer>();
  private totalCalls = 0;
  private crashed = false;

  constructor(
    private readonly options: FakeMcpOptions = {},
    private readonly hooks: FakeMcpHooks = {},
  ) {
    for (const [name, def] of this.builtinTools()) this.tools.set(name, def);
    for (let i = 0; i < (options.extraTools ?? 0); i++) {
      const name = `tool_${String(i).padStart(3, '0')}`;
      this.tools.set(
        name,
        defineTool(`Filler tool ${name}.`, z.object({}), () => text(name)),
      );
    }
  }

  /** A new McpServer serving the current catalogue; `release` when its connection is gone. */
  createServer(): { server: McpServer; release(): void } {
    const mcp = new McpServer(
      { name: this.options.name ?? 'fake-mcp', version: '0.0.0' },
      { debouncedNotificationMethods: ['notifications/tools/list_changed'] },
    );
    const live: LiveServer = { mcp, registered: new Map() };
    for (const [name, def] of this.tools) this.register(live, name, def);
    this.wrapHandlers(mcp);
    this.live.add(live);
    return { server: mcp, release: () => this.live.delete(live) };
  }

  /** Registers and removes tools on every live server; each sends `notifications/tools/list_changed`. */
  changeTools(change: ToolChange): void {
    for (const name of change.remove ?? []) {
      if (!this.tools.delete(name)) continue;
      for (const live of this.live) {
        live.registered.get(name)?.remove();
        live.registered.delete(name);
      }
    }
    for (const name of change.add ?? []) {
      if (this.tools.has(name)) continue;
      const def = defineTool(
        `Added at run time; echoes text.`,
        z.object({ text: z.string().optional() }),
        (args) => text(args.text ?? name),
      );
      this.tools.set(name, def);
      for (const live of this.live) this.register(live, name, def);
    }
  }

  toolNames(): string[] {
    return [...this.tools.keys()];
  }

  /** Closes every live server (the default crash, and the end of a stdio fake). */
  async closeAll(): Promise<void> {
    const servers = [...this.live];
    this.live.clear();
    await Promise.all(servers.map((live) => live.mcp.close()));
  }

  private register(live: LiveServer, name: string, def: ToolDef): void {
    const registered = live.mcp.registerTool(
      name,
      { description: def.description, inputSchema: def.inputSchema },
      (args, ctx) => this.invoke(name, def, args, ctx),
    );
    live.registered.set(name, registered);
  }

  private wrapHandlers(mcp: McpServer): void {
    const call = installedHandler(mcp, 'tools/call');
    if (call !== undefined) {
      mcp.server.setRequestHandler('tools/call', async (request, ctx) => {
        const { name, arguments: args } = request.params;
        const def = this.tools.get(name);
        if (def?.rawErrors === true) return this.invoke(name, def, args ?? {}, ctx);
        const result = await call(request, ctx);
        if (!isCallToolResult(result)) {
          throw new ProtocolError(
            ProtocolErrorCode.InternalError,
            'fake-mcp: bad tools/call result',
          );
        }
        return result;
      });
    }
    const pageSize = this.options.pageSize;
    const list = installedHandler(mcp, 'tools/list');
    if (pageSize !== undefined && pageSize > 0 && list !== undefined) {
      mcp.server.setRequestHandler('tools/list', async (request, ctx) => {
        const { tools } = (await list(request, ctx)) as ListToolsResult;
        const cursor = request.params?.cursor;
        const start = cursor === undefined ? 0 : Number(cursor);
        if (!Number.isSafeInteger(start) || start < 0 || start > tools.length) {
          throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid cursor: ${cursor}`);
        }
        const end = start + pageSize;
        return {
          tools: tools.slice(start, end),
          ...(end < tools.length && { nextCursor: String(end) }),
        };
      });
    }
  }

  private async invoke(
    name: string,
    def: ToolDef,
    args: unknown,
    ctx: ServerContext,
  ): Promise<CallToolResult> {
    if (this.crashed) return never();
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    this.totalCalls++;
    this.hooks.onToolCall?.(name);
    const crashAfter = this.options.crashAfter;
    if (crashAfter !== undefined && crashAfter > 0 && this.totalCalls >= crashAfter) {
      return this.crash();
    }
    return def.run(args, ctx);
  }

  private crash(): Promise<never> {
    this.crashed = true;
    if (this.hooks.onCrash !== undefined) this.hooks.onCrash();
    else void this.closeAll();
    return never();
  }

  private countCancelled(name: string): void {
    this.cancelled.set(name, (this.cancelled.get(name) ?? 0) + 1);
  }

  private builtinTools(): Array<[string, ToolDef]> {
    const optionalMessage = z.object({ message: z.string().optional() });
    const tools: Array<[string, ToolDef]> = [
      ['echo', defineTool('Returns text.', z.object({ text: z.string() }), (a) => text(a.text))],
      [
        'add',
        defineTool('Returns a + b.', z.object({ a: z.number(), b: z.number() }), (a) =>
          text(String(a.a + a.b)),
        ),
      ],
      [
        'slow',
        defineTool(
          'Waits ms, then returns text; cancellable; sends progress when asked.',
          z.object({ ms: z.number().int().nonnegative(), text: z.string().optional() }),
          (a, ctx) => this.slow(a.ms, a.text, ctx),
        ),
      ],
      [
        'fail',
        defineTool('Returns an isError result.', optionalMessage, (a) => ({
          ...text(a.message ?? 'fail'),
          isError: true,
        })),
      ],
      [
        'fail_throw',
        defineTool('The handler throws.', optionalMessage, (a) => {
          throw new Error(a.message ?? 'fail_throw');
        }),
      ],
      [
        'fail_rpc',
        defineTool(
          'Answers a JSON-RPC error (default code -32603).',
          z.object({ message: z.string().optional(), code: z.number().int().optional() }),
          (a) => {
            throw new ProtocolError(
              a.code ?? ProtocolErrorCode.InternalError,
              a.message ?? 'fail_rpc',
            );
          },
          { rawErrors: true },
        ),
      ],
      ['crash', defineTool('The server dies without answering.', z.object({}), () => this.crash())],
      ['hang', defineTool('Never answers; ignores cancellation.', z.object({}), () => never())],
      [
        'huge',
        defineTool(
          'Returns one text content of exactly `bytes` ASCII characters.',
          z.object({ bytes: z.number().int().nonnegative() }),
          (a) => text('x'.repeat(a.bytes)),
        ),
      ],
      [
        'tools_change',
        defineTool(
          'Adds echoing tools and removes tools; the server announces tools/list_changed.',
          z.object({ add: z.array(z.string()).optional(), remove: z.array(z.string()).optional() }),
          (a) => {
            this.changeTools(a);
            return text(JSON.stringify(this.toolNames()));
          },
        ),
      ],
    ];
    const expire = this.hooks.expireSessions;
    if (expire !== undefined) {
      tools.push([
        'expire_sessions',
        defineTool('Every existing session now gets HTTP 404.', z.object({}), () => {
          expire();
          return text('expired');
        }),
      ]);
    }
    return tools;
  }

  private async slow(
    ms: number,
    value: string | undefined,
    ctx: ServerContext,
  ): Promise<CallToolResult> {
    const { signal, notify } = ctx.mcpReq;
    const token = ctx.mcpReq._meta?.progressToken;
    const every = this.options.progressEveryMs ?? 0;
    let ticks = 0;
    const progress =
      token !== undefined && every > 0
        ? setInterval(() => {
            ticks++;
            const params = {
              progressToken: token,
              progress: Math.min(ticks * every, ms),
              total: ms,
            };
            notify({ method: 'notifications/progress', params }).catch(() => {});
          }, every)
        : undefined;
    try {
      await delay(ms, signal);
      return text(value ?? `slept ${ms}ms`);
    } catch (error) {
      if (signal.aborted) this.countCancelled('slow');
      throw error;
    } finally {
      clearInterval(progress);
    }
  }
}

/** A fake MCP server for one transport (stdio, in-memory); connect `server` yourself. */
export function createFakeMcpServer(
  options: FakeMcpOptions = {},
  hooks: FakeMcpHooks = {},
): FakeMcpServer {
  const core = new FakeMcpCore(options, hooks);
  const { server } = core.createServer();
  return {
    server,
    changeTools: (change) => core.changeTools(change),
    calls: core.calls,
    cancelled: core.cancelled,
  };
}
