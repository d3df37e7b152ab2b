// The hub's programmatic surface grows with roadmap step 3; the CLI lives in ./cli.
export { runSim } from './cli/sim.js';
export type { SimCommandOptions } from './cli/sim.js';
