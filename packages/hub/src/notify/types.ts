import type { LinkStateName } from '@tether/link';
import type { ChannelKind } from '../config/types.js';

export { CHANNEL_KINDS } from '../config/types.js';
export type { ChannelKind } from '../config/types.js';

/**
 * One place notifications go. The URL usually is the credential (Slack, Discord, Feishu and
 * WeCom put the token in it), so it is never logged or put in a message.
 */
export interface Channel {
  /** Shown in logs instead of the URL; defaults to the kind. */
  name?: string;
  kind: ChannelKind;
  url: string;
  /** Signing secret: DingTalk ("加签", signed URL) and Feishu ("签名校验", signed body). */
  secret?: string;
  /** Extra request headers, e.g. `Authorization` for a protected ntfy topic. Never logged. */
  headers?: Record<string, string>;
  /** false: the channel gets nothing. Default true. */
  enabled?: boolean;
  /** Only these event types; absent or empty means all of them. */
  events?: readonly string[];
  /**
   * Deliver to private, loopback, link-local and other non-public addresses too (a webhook on
   * the LAN). Default false: such a target is refused, checked on the address connected to.
   */
  allowPrivate?: boolean;
}

/** The last thing known about why an endpoint is not connected. */
export interface EndpointDetail {
  lastClose?: { code: number; reason: string };
  lastError?: string;
  /** Consecutive failed attempts, when the hub knows them. */
  attempts?: number;
}

/** States in which an endpoint is not up but Tether is still trying. */
export type TroubleState = Extract<LinkStateName, 'connecting' | 'backoff'>;

/** What happened, in the hub's terms. Times are milliseconds since the epoch. */
export type NotifyEvent =
  | {
      type: 'endpoint.down';
      endpoint: string;
      /** When the endpoint stopped being connected: the start of the outage. */
      since: number;
      at: number;
      state: TroubleState;
      detail: EndpointDetail;
    }
  | {
      type: 'endpoint.parked';
      endpoint: string;
      since: number;
      at: number;
      detail: EndpointDetail;
    }
  | {
      type: 'endpoint.recovered';
      endpoint: string;
      downSince: number;
      at: number;
      state: Extract<LinkStateName, 'open' | 'ready'>;
    }
  | {
      type: 'server.crashloop';
      server: string;
      restarts: number;
      lastError?: string;
      at: number;
    };

export type NotifyEventType = NotifyEvent['type'];

/** A request ready to send: where (when it differs from the channel URL), headers and body. */
export interface FormattedMessage {
  url?: string;
  headers: Record<string, string>;
  body: string;
}
