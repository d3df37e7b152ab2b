export { repairArguments, repairCall, repairToolArguments } from './repair.js';
export type { RepairLimits, RepairResult } from './repair.js';
export type { ArgumentRepair, RepairKind } from './types.js';
