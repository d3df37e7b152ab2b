import type { ChildProcess } from 'node:child_process';
import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type { CallToolResult, Transport } from '@modelcontextprotocol/client';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';

export type HttpKind = 'http' | 'sse';

export function newClient(): Client {
  return new Client({ name: 'tether-test', version: '0.0.0' });
}

/**
 * A connected client. Over Streamable HTTP it also waits for the client's GET stream: until that
 * is open, a notification the server sends on its own (not in answer to a request) is lost.
 * Over SSE the stream is open before connect() returns.
 */
export async function connectHttp(url: string, kind: HttpKind): Promise<Client> {
  const client = newClient();
  if (kind === 'sse') {
    await client.connect(new SSEClientTransport(new URL(url)), { timeout: 5000 });
    return client;
  }
  let listening!: (open: true) => void;
  const streamOpen = new Promise<true>((resolve) => {
    listening = resolve;
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'GET' && response.ok) listening(true);
      return response;
    },
  });
  await client.connect(transport, { timeout: 5000 });
  if ((await within(streamOpen, 2000)) === undefined) {
    await client.close();
    throw new Error('the client never opened its GET stream');
  }
  return client;
}

/**
 * A client transport over a spawned child's pipes. Stdio framing is newline-delimited JSON both
 * ways, so the SDK's server-side class does the job once given the child's streams.
 */
export function childPipeTransport(child: ChildProcess): Transport {
  if (child.stdout === null || child.stdin === null) throw new Error('child has no pipes');
  return new StdioServerTransport(child.stdout, child.stdin);
}

export function textOf(result: unknown): string {
  const { content } = result as CallToolResult;
  const first = content[0];
  if (first?.type !== 'text')
    throw new Error(`expected text content, got ${JSON.stringify(content)}`);
  return first.text;
}

/** Polls `probe` every 10 ms until it returns something other than undefined/false; bounded. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The promise's value, or undefined if it has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
