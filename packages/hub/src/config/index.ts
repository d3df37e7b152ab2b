export type {
  EndpointConfig,
  HttpServerConfig,
  HubSettings,
  ServerConfig,
  StdioServerConfig,
  TetherConfig,
  ToolFilter,
} from './types.js';
export { ConfigError, formatIssue, isConfigError } from './errors.js';
export type { ConfigIssue } from './errors.js';
export { DEFAULT_CONFIG_FILE, loadConfig } from './load.js';
export type { LoadedConfig, LoadOptions } from './load.js';
export { DEFAULT_HUB, parseConfig } from './resolve.js';
export type { ParseOptions } from './resolve.js';
export { diffConfig, isEmptyDiff } from './diff.js';
export type { ConfigDiff, NamedDiff, ServerDiff } from './diff.js';
export { watchConfig } from './watch.js';
export type { WatchOptions } from './watch.js';
export { toolAllowed, toolPinned } from './filter.js';
export { importConfig } from './import/import.js';
export type { ImportFormat, ImportResult } from './import/import.js';
export type { TetherConfigFile } from './import/convert.js';
