// The session gateway (docs/session-gateway.md): Node only, like `@tether/session/server`.
export { SessionGateway } from './gateway.js';
export type {
  EndReason,
  GatewaySessionOptions,
  ResolvedGatewayOptions,
  SessionGatewayEvents,
  SessionGatewayOptions,
} from './options.js';
export { describeLoss } from './relay.js';
export type { UpstreamLoss } from './relay.js';
export { bodyOfUpstreamFrame, upstreamFrameOfBody } from './frames.js';
export type { BinaryBody, UpstreamFrame } from './frames.js';
export { DEFAULT_FORWARDED_HEADERS, shownUrl, upstreamTarget } from './target.js';
