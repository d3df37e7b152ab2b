export { createFakeMcpServer } from './fake-server.js';
export type { FakeMcpHooks, FakeMcpServer, ToolChange } from './fake-server.js';
export { startFakeHttpServer } from './http-host.js';
export type { FakeHttpServer, FakeHttpServerHooks, FakeHttpServerOptions } from './http-host.js';
export type { FakeCliOptions, FakeMcpOptions, FakeTransportKind } from './options.js';
export { SseServerTransport } from './sse-server-transport.js';
export { fakeServerCliPath, fakeStdioServerParams, spawnFakeServer } from './spawn.js';
export type { ChildExit, SpawnFakeServerOptions, SpawnedFakeServer } from './spawn.js';
export {
  CONTENT_RESULTS,
  CONTENT_TOOLS,
  contentServerCliPath,
  contentStdioServerParams,
  createContentMcpServer,
} from './content-server.js';
export type { ContentTool } from './content-server.js';
