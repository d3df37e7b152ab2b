export { Notifier } from './notifier.js';
export type { EndpointInfo, NotifierOptions, NotifierStats, ServerInfo } from './notifier.js';
export { formatMessage } from './format.js';
export type { FormatOptions } from './format.js';
export { dingtalkSignedUrl, feishuSignature } from './sign.js';
export { defaultRetryPolicy, retryDelay, parseRetryAfter, judgeResponse } from './retry.js';
export type { RetryPolicy, Verdict } from './retry.js';
export { addressRange } from './address.js';
export type { AddressRange } from './address.js';
export { DeliveryError, guardedPost, isDeliveryError } from './post.js';
export type { DeliveryErrorCode, Post, WebhookAnswer, WebhookRequest } from './post.js';
export { CHANNEL_KINDS } from './types.js';
export type {
  Channel,
  ChannelKind,
  EndpointDetail,
  FormattedMessage,
  NotifyEvent,
  NotifyEventType,
  TroubleState,
} from './types.js';
