import type { LinkStatus, Transition } from '@tether/link';
import { redact } from '../log/redact.js';
import type { HealthParts } from '../monitor/health.js';

/** One endpoint as the API, the dashboard and the status mirror see it. */
export interface EndpointStatus {
  name: string;
  url: string;
  enabled: boolean;
  state: LinkStatus['name'];
  since: number;
  lastClose: { code: number; reason: string; at: number } | null;
  lastError: string | null;
  attempts: number;
  nextRetryAt: number | null;
  tools: number;
  callsInFlight: number;
  health: HealthParts;
}

/**
 * A transition whose words may quote the endpoint URL (an unparsable URL's error does) with
 * them redacted: this is where a link's causes enter the hub, before anything logs, stores or
 * shows them.
 */
export function redactCause(t: Transition): Transition {
  const c = t.cause;
  switch (c.type) {
    case 'close':
      return c.reason ? { ...t, cause: { ...c, reason: redact(c.reason) } } : t;
    case 'error':
      return { ...t, cause: { ...c, message: redact(c.message) } };
    case 'dead':
    case 'reconnect':
      return { ...t, cause: { ...c, reason: redact(c.reason) } };
    default:
      return t;
  }
}

/** The words of `lastError` for a transition caused by a failure; undefined for any other. */
export function failureOf(t: Transition): string | undefined {
  const c = t.cause;
  switch (c.type) {
    case 'error':
      return c.message;
    case 'timeout':
      return 'connect timeout';
    case 'heartbeat':
      return `no answer to ${c.missed} ping(s) for ${c.silentMs} ms`;
    case 'dead':
      return c.reason;
    default:
      return undefined;
  }
}
