import { isDeepStrictEqual } from 'node:util';
import { diffConfig } from '../config/index.js';
import type { EndpointConfig, HubSettings, TetherConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { Sweep } from '../monitor/sweep.js';
import type { SessionTable } from './sessions.js';
import type { UpstreamPool } from './upstreams.js';

export interface ReconcilePorts {
  logger: Logger;
  upstreams: UpstreamPool;
  sessions: SessionTable;
  sweep: Sweep;
  /** An endpoint left the definitions (the event streams). */
  removed(name: string): void;
  /**
   * An endpoint was added or its definition changed (the event streams): switched off, it has
   * no link left to report the change, so the view is sent from here.
   */
  changed(name: string): void;
}

/**
 * Brings what runs from `before` to `next`, restarting only what changed: servers that changed
 * restart; endpoints that changed restart, unless only their tool set did; hub settings apply
 * live where they can.
 */
export async function reconcile(
  before: TetherConfig,
  next: TetherConfig,
  ports: ReconcilePorts,
): Promise<void> {
  const { upstreams, sessions } = ports;
  const diff = diffConfig(before, next);
  for (const name of diff.endpoints.removed) ports.removed(name);
  const byName = <T extends { name: string }>(list: T[], name: string) =>
    list.find((x) => x.name === name)!;
  for (const name of [...diff.servers.removed, ...diff.servers.changed]) await upstreams.stop(name);
  await Promise.all(
    [...diff.servers.added, ...diff.servers.changed].map((name) =>
      upstreams.start(byName(next.servers, name)),
    ),
  );
  // A change of the tool set alone is no reason to tear a session down: the endpoint reads
  // tools only at the handshake, so it gets the debounced reconnect and keeps its history.
  const retooled = diff.endpoints.changed.filter((name) => {
    const was = before.endpoints.find((e) => e.name === name);
    return was !== undefined && sameButTools(was, byName(next.endpoints, name))
      ? sessions.retool(byName(next.endpoints, name))
      : false;
  });
  const restarted = diff.endpoints.changed.filter((name) => !retooled.includes(name));
  for (const name of diff.endpoints.removed)
    await sessions.remove(name, 1000, 'configuration changed', true);
  for (const name of restarted) await sessions.remove(name, 1000, 'configuration changed');
  for (const name of [...diff.endpoints.added, ...restarted])
    sessions.start(byName(next.endpoints, name));
  upstreams.rebuild();
  // rebuild() told the streams the tool lists may have changed; the endpoints' own views follow.
  for (const name of [...diff.endpoints.added, ...diff.endpoints.changed]) ports.changed(name);
  // An endpoint's own checkIntervalMs may have changed the sweep's pace.
  ports.sweep.reschedule();
  const restart = diff.hubChanged ? applyHubSettings(before.hub, next, ports) : [];
  ports.logger.info(
    { endpoints: diff.endpoints, servers: diff.servers, ...(restart.length ? { restart } : {}) },
    restart.length
      ? `configuration applied, except ${restart.join(', ')}: needs a restart`
      : 'configuration applied',
  );
}

/**
 * A live edit of the hub's own settings. Sessions read the settings at every use; the
 * heartbeat reaches the running links at once; the listener's address
 * cannot move under its clients, so it is named as needing a restart. Returns what does.
 */
function applyHubSettings(
  before: HubSettings,
  next: TetherConfig,
  ports: ReconcilePorts,
): string[] {
  const after = next.hub;
  const restart: string[] = [];
  if (before.host !== after.host) restart.push('hub.host');
  if (before.port !== after.port) restart.push('hub.port');
  if (restart.length > 0)
    ports.logger.warn(
      { before: `${before.host}:${before.port}`, after: `${after.host}:${after.port}` },
      'hub.host or hub.port changed: the HTTP listener stays where it is until a restart',
    );
  if (!isDeepStrictEqual(before.monitor, after.monitor)) {
    // The heartbeat reaches the running links at once, no reconnect needed.
    const wanted = new Map(next.endpoints.map((e) => [e.name, e]));
    for (const [name, session] of ports.sessions.entries()) {
      const monitor = { ...after.monitor, ...wanted.get(name)?.monitor };
      session.link.configure({
        pingIntervalMs: monitor.heartbeatIntervalMs,
        maxMissedPongs: monitor.heartbeatMisses,
      });
    }
  }
  return restart;
}

/** Two definitions of an endpoint that differ at most in which tools and servers it gets. */
function sameButTools(a: EndpointConfig, b: EndpointConfig): boolean {
  const strip = ({ tools: _t, servers: _s, ...rest }: EndpointConfig) => JSON.stringify(rest);
  return strip(a) === strip(b);
}
