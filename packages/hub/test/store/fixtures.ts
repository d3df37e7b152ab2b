import { randomUUID } from 'node:crypto';
import type {
  EndpointRow,
  EndpointStatusRow,
  ServerRow,
  TimelineEntry,
  ToolCallEntry,
} from '../../src/store/index.js';

/** Ids unique per call: on PostgreSQL every test of a file shares one schema. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export function endpoint(
  id: string,
  patch: Partial<Omit<EndpointRow, 'createdAt' | 'updatedAt'>> = {},
): Omit<EndpointRow, 'createdAt' | 'updatedAt'> {
  return {
    id,
    name: id,
    url: `wss://api.example.test/mcp/?token=${id}`,
    enabled: true,
    source: 'api',
    tools: { include: ['*'], exclude: [] },
    servers: null,
    overrides: {},
    ...patch,
  };
}

export function server(
  id: string,
  patch: Partial<Omit<ServerRow, 'createdAt' | 'updatedAt'>> = {},
): Omit<ServerRow, 'createdAt' | 'updatedAt'> {
  return {
    id,
    name: id,
    source: 'api',
    enabled: true,
    config: { type: 'stdio', command: 'node', args: ['calc.js'] },
    ...patch,
  };
}

export function status(
  endpointId: string,
  patch: Partial<EndpointStatusRow> = {},
): EndpointStatusRow {
  return {
    endpointId,
    state: 'ready',
    since: 1_700_000_000_000,
    lastCloseCode: null,
    lastCloseReason: null,
    lastCloseAt: null,
    lastError: null,
    attempts: 0,
    nextRetryAt: null,
    health: null,
    owner: 'hub-a',
    fence: 1,
    updatedAt: 1_700_000_000_000,
    ...patch,
  };
}

export function transition(endpointId: string, n: number): TimelineEntry {
  return {
    endpointId,
    at: 1_700_000_000_000 + n,
    from: 'ready',
    to: 'backoff',
    cause: 'close',
    code: 1006,
    reason: `drop ${n}`,
    detectedBy: 'close frame',
    instance: 'hub-a',
  };
}

export function call(patch: Partial<ToolCallEntry> = {}): ToolCallEntry {
  return {
    endpointId: null,
    tool: 'calc.add',
    server: 'calc',
    at: 1_700_000_000_000,
    durationMs: 3,
    outcome: 'ok',
    argsBytes: 10,
    resultBytes: 20,
    error: null,
    ...patch,
  };
}

/** The rejection of `promise`, failing the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
