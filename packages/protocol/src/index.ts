export * from './jsonrpc.js';
export * from './xiaozhi.js';
export * from './api.js';
