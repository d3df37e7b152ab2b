export { FaultProxy } from './fault-proxy.js';
export type {
  Direction,
  DirectionState,
  FaultProxyOptions,
  FaultProxyStats,
  Target,
} from './types.js';
