export { EndpointSimulator } from './simulator.js';
export type { SimulatorEvents, SocketTarget } from './simulator.js';
export { Robot } from './robot.js';
export type { RobotOptions } from './robot.js';
export { SimClosedError, SimTimeoutError } from './session.js';
export { Referee } from './referee.js';
export type * from './types.js';
export { TestProvider } from './provider.js';
export type { TestProviderOptions } from './provider.js';
