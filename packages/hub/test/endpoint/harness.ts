import type { Clock, LinkOptions } from '@tether/link';
import { wsSocketFactory } from '@tether/link/node';
import type { CatalogEntry } from '../../src/catalog/catalog.js';
import { DEFAULT_HUB } from '../../src/config/index.js';
import type { EndpointConfig, HubSettings } from '../../src/config/types.js';
import { EndpointSession } from '../../src/endpoint/session.js';
import type { EndpointSessionDeps } from '../../src/endpoint/session.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ToolCallEntry } from '../../src/store/types.js';
import type { CallOptions, ToolResult } from '../../src/upstream/types.js';

export const settings: HubSettings = {
  ...DEFAULT_HUB,
  port: 0,
  callTimeoutMs: 30_000,
  toolChangeDebounceMs: 50,
  earlyReplyMs: 0,
};

export type Handler = (
  args: Record<string, unknown> | undefined,
  options: CallOptions,
) => Promise<ToolResult>;

/** What a test may set of the session's own dependencies. */
export interface SessionDeps {
  /** The session's timers (tool-change debounce, handshake watchdog, early replies). */
  clock?: Clock;
  handshakeTimeoutMs?: number;
  /** Merged over the harness's (its socket factory); `clock` here keeps the link off `clock`. */
  linkOptions?: Partial<LinkOptions>;
}

/**
 * An endpoint session over a real link, with an in-memory tool set instead of upstream servers.
 * `records` are the call records it reports, as the call log gets them.
 */
export function session(
  url: string,
  tools: Record<string, Handler>,
  overrides: Partial<HubSettings> = {},
  deps: SessionDeps = {},
) {
  const current = { tools };
  const entries = (): CatalogEntry[] =>
    Object.keys(current.tools)
      .sort()
      .map((name) => ({
        name,
        server: 'mem',
        tool: name,
        definition: { name, inputSchema: { type: 'object' } },
      }));
  const calls: Array<{ name: string; signal: AbortSignal | undefined }> = [];
  const config: EndpointConfig = {
    name: 'test',
    url,
    enabled: true,
    tools: { include: ['*'], exclude: [] },
    source: 'file',
  };
  const records: ToolCallEntry[] = [];
  const sessionDeps: EndpointSessionDeps = {
    logger: silentLogger(),
    settings: { ...settings, ...overrides },
    tools: entries,
    callTool: (entry, args, options) => {
      calls.push({ name: entry.name, signal: options.signal });
      return current.tools[entry.name]!(args, options);
    },
    linkOptions: { socketFactory: wsSocketFactory(), ...deps.linkOptions },
    report: { transition: () => {}, call: (entry) => void records.push(entry) },
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.handshakeTimeoutMs !== undefined
      ? { handshakeTimeoutMs: deps.handshakeTimeoutMs }
      : {}),
  };
  const s = new EndpointSession(config, sessionDeps);
  return {
    session: s,
    calls,
    records,
    setTools(next: Record<string, Handler>) {
      current.tools = next;
      s.toolsChanged();
    },
  };
}

export const text = (value: string): ToolResult => ({ content: [{ type: 'text', text: value }] });

export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    });
  });
}
