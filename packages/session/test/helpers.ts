import { wsSocketFactory } from '@tether/link/node';
import { waitUntil } from '@tether/testkit';
import { SessionClient } from '../src/index.js';
import type { NewSessionEvent, ResumedEvent, SessionClientOptions } from '../src/index.js';
import { SessionServer } from '../src/server/index.js';
import type { Session, SessionServerOptions } from '../src/server/index.js';

export type Cleanup = () => Promise<void> | void;

/** The conversation-like state the real-socket tests keep per session. */
export interface Convo {
  conversationId: string;
  received: unknown[];
  setups: number;
}

/**
 * A server that records everything: every body each session received (in its state, so it
 * travels with the session), the sessions it set up, and the sockets it accepted.
 */
export async function recordingServer(
  cleanups: Cleanup[],
  options: SessionServerOptions<Convo> & { port?: number } = {},
) {
  let setups = 0;
  const server = await SessionServer.listen<Convo>({
    heartbeatMs: 200,
    pingIntervalMs: 200,
    tickMs: 20,
    onNewSession: () => ({ conversationId: `c${++setups}`, received: [], setups }),
    onMessage: (session, body) =>
      session.setState({ ...session.state, received: [...session.state.received, body] }),
    ...options,
  });
  cleanups.push(() => server.close());
  const connections = { count: 0 };
  server.on('connection', () => connections.count++);
  const only = () => {
    const sessions = [...server.sessions.values()];
    if (sessions.length !== 1) throw new Error(`expected one session, found ${sessions.length}`);
    return sessions[0]! as Session<Convo>;
  };
  return { server, connections, only, setups: () => setups };
}

/** A Node client that records what it receives and the events that matter. */
export function recordingClient(
  cleanups: Cleanup[],
  url: string,
  options: Partial<SessionClientOptions> = {},
) {
  const client = new SessionClient({
    url,
    socketFactory: wsSocketFactory(),
    page: false,
    ...options,
    link: { pingIntervalMs: 200, ...options.link },
  });
  cleanups.push(() => client.close({ end: false }));
  const received: unknown[] = [];
  const resumed: ResumedEvent[] = [];
  const fresh: NewSessionEvent[] = [];
  client.on('message', (body) => received.push(body));
  client.on('resumed', (e) => resumed.push(e));
  client.on('newSession', (e) => fresh.push(e));
  return { client, received, resumed, fresh };
}

export const numbers = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A bounded wait; a predicate that throws (nothing there yet) counts as false. */
export async function settle(what: string, predicate: () => boolean, timeoutMs = 5_000) {
  const safe = () => {
    try {
      return predicate();
    } catch {
      return false;
    }
  };
  await waitUntil(safe, { what, timeoutMs });
}
