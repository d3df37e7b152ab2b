import { FaultProxy } from '@tether/testkit';
import { SessionGateway } from '../src/gateway/index.js';
import type { SessionGatewayEvents, SessionGatewayOptions } from '../src/gateway/index.js';
import type { SessionClient } from '../src/index.js';
import { startCountingUpstream } from './fixtures/counting-upstream.js';
import type { CountingUpstreamOptions } from './fixtures/counting-upstream.js';
import type { Cleanup } from './helpers.js';

/** Everything a gateway announced, by event. */
export type Recorded = { [K in keyof SessionGatewayEvents]: Array<SessionGatewayEvents[K][0]> };

export interface GatewaySetup {
  /** The upstream's own path and query (joined before the client's). Default none. */
  upstreamPath?: string;
  upstream?: CountingUpstreamOptions;
  gateway?: Partial<SessionGatewayOptions>;
  /** A fault proxy between the clients and the gateway. */
  proxyClients?: boolean;
  /** A fault proxy between the gateway and the upstream. */
  proxyUpstream?: boolean;
}

/**
 * A counting upstream, a gateway in front of it with fast heartbeats, and fault proxies where
 * asked; `clientUrl(path)` is what a client dials (through the client proxy when there is one).
 */
export async function gatewayFixture(cleanups: Cleanup[], setup: GatewaySetup = {}) {
  const upstream = await startCountingUpstream(setup.upstream);
  cleanups.push(() => upstream.close());
  let upstreamUrl = upstream.url;
  let upstreamProxy: FaultProxy | undefined;
  if (setup.proxyUpstream) {
    upstreamProxy = await FaultProxy.start({ target: { port: upstream.port } });
    cleanups.push(() => upstreamProxy!.close());
    upstreamUrl = upstreamProxy.url('/').replace(/\/$/, '');
  }
  const gateway = await SessionGateway.start({
    upstream: upstreamUrl + (setup.upstreamPath ?? ''),
    connectTimeoutMs: 2_000,
    upstreamPingIntervalMs: 0,
    ...setup.gateway,
    session: { heartbeatMs: 200, pingIntervalMs: 200, tickMs: 20, ...setup.gateway?.session },
  });
  cleanups.push(() => gateway.close());
  const events = record(gateway);
  let clientProxy: FaultProxy | undefined;
  if (setup.proxyClients) {
    clientProxy = await FaultProxy.start({ target: { port: gateway.port } });
    cleanups.push(() => clientProxy!.close());
  }
  const clientUrl = (path = '/') =>
    clientProxy ? clientProxy.url(path) : gateway.url + path.slice(1);
  return { upstream, gateway, events, clientUrl, clientProxy, upstreamProxy };
}

export function record(gateway: SessionGateway): Recorded {
  const events: Recorded = {
    start: [],
    resume: [],
    'upstream-lost': [],
    end: [],
    refused: [],
    error: [],
  };
  for (const name of Object.keys(events) as Array<keyof Recorded>) {
    const push = (info: unknown) => void (events[name] as unknown[]).push(info);
    gateway.on(name, push as (...args: SessionGatewayEvents[typeof name]) => void);
  }
  return events;
}

/** The close frames a client's link received, in order. */
export function closesOf(client: SessionClient): Array<{ code: number; reason: string }> {
  const closes: Array<{ code: number; reason: string }> = [];
  client.link.on('transition', (t) => {
    if (t.cause.type === 'close') closes.push({ code: t.cause.code, reason: t.cause.reason });
  });
  return closes;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a counting upstream sends, parsed (the client gets it as a string, untouched). */
export const parsed = (bodies: unknown[]) => bodies.map((b) => JSON.parse(b as string) as unknown);
