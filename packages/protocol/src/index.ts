export * from './jsonrpc.js';
export * from './xiaozhi.js';
