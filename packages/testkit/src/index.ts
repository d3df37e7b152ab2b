export * from './sim/index.js';
export { waitUntil } from './wait.js';
export { reachable, requireService } from './services.js';
export type { ServiceKind } from './services.js';
export { ManualClock, seededRandom } from './clock.js';
export * from './proxy/index.js';
export * from './mcp/index.js';
export { CHROMIUM, chromiumLaunchOptions } from './browser.js';
