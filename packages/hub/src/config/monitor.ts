import { Fields } from './fields.js';
import { CHANNEL_KINDS } from './types.js';
import type { MonitorSettings, NotificationChannel } from './types.js';

export const DEFAULT_MONITOR: Readonly<MonitorSettings> = Object.freeze({
  checkIntervalMs: 5_000,
  heartbeatIntervalMs: 5_000,
  heartbeatMisses: 2,
  reconnectCooldownMs: 30_000,
  maxAttempts: 10,
  probeIntervalMs: 300_000,
});

/** `hub.monitor` or `endpoints[].monitor`: only the keys given, each validated. */
export function readMonitor(f: Fields): Partial<MonitorSettings> {
  f.allowOnly(Object.keys(DEFAULT_MONITOR));
  const out: Partial<MonitorSettings> = {};
  const set = (key: keyof MonitorSettings, min: number) => {
    const value = f.integer(key, min);
    if (value !== undefined) out[key] = value;
  };
  set('checkIntervalMs', 100);
  set('heartbeatIntervalMs', 100);
  set('heartbeatMisses', 1);
  set('reconnectCooldownMs', 100);
  set('maxAttempts', 1);
  set('probeIntervalMs', 1_000);
  return out;
}

const KINDS: ReadonlyArray<NotificationChannel['kind']> = CHANNEL_KINDS;
const EVENTS = ['endpoint.down', 'endpoint.parked', 'endpoint.recovered', 'server.crashloop'];

/** The `notifications` array: webhook channels. */
export function readNotifications(doc: Fields): NotificationChannel[] {
  const value = doc.value['notifications'];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    doc.issue('notifications', 'must be an array of channels');
    return [];
  }
  const out: NotificationChannel[] = [];
  value.forEach((item: unknown, i) => {
    const f = Fields.of(item, ['notifications', i], doc.issues);
    if (f === undefined) return;
    f.allowOnly(['name', 'kind', 'url', 'secret', 'events', 'allowPrivate']);
    const kind = f.string('kind', true) as NotificationChannel['kind'] | undefined;
    const knownKind = kind !== undefined && KINDS.includes(kind);
    if (kind !== undefined && !knownKind) f.issue('kind', `must be one of ${KINDS.join(', ')}`);
    const url = f.string('url', true);
    if (url !== undefined && !/^https?:\/\//.test(url))
      f.issue('url', 'must be an http:// or https:// URL');
    const events = f.stringArray('events') ?? EVENTS;
    for (const event of events) {
      if (!EVENTS.includes(event))
        f.issue('events', `unknown event "${event}" (known: ${EVENTS.join(', ')})`);
    }
    const secret = f.string('secret');
    const allowPrivate = f.boolean('allowPrivate') ?? false;
    if (!knownKind || url === undefined) return;
    out.push({
      name: f.string('name') ?? `${kind}-${i + 1}`,
      kind,
      url,
      events,
      allowPrivate,
      ...(secret !== undefined && { secret }),
    });
  });
  return out;
}
