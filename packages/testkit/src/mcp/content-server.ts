import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';

/**
 * A fake MCP server whose tools return every kind of content MCP defines — text, image, audio,
 * an embedded resource (text and blob), a resource link, structured content — and whose
 * schemas use JSON Schema 2020-12 (`$schema`, `$defs`, `$ref`, `prefixItems`,
 * `unevaluatedProperties`, `dependentRequired`, an `x-` annotation), so a test can check that
 * whatever stands between it and a client passes them through untouched. The other fakes
 * (fake-server.ts) register tools through McpServer, which writes their schemas from zod and
 * could not produce these.
 *
 * The tool list and each result are exported: a test compares what reached its client with
 * these very objects.
 */

/** A 1×1 PNG and a 44-byte silent WAV, base64: small, and real files of their types. */
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** An input schema a 2020-12 validator reads, with keywords earlier drafts do not have. */
const REPORT_INPUT = {
  $schema: DRAFT_2020_12,
  type: 'object',
  $defs: {
    unit: { type: 'string', enum: ['metric', 'imperial'] },
  },
  properties: {
    city: { type: 'string', minLength: 1, 'x-tether-example': 'Hangzhou' },
    unit: { $ref: '#/$defs/unit' },
    at: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'number' }], items: false },
    lang: { type: 'string' },
    region: { type: 'string' },
  },
  required: ['city'],
  dependentRequired: { region: ['lang'] },
  unevaluatedProperties: false,
};

/** The structured result's schema (a validator compiles it, so only standard keywords). */
const REPORT_OUTPUT = {
  $schema: DRAFT_2020_12,
  type: 'object',
  $defs: { celsius: { type: 'number', minimum: -90, maximum: 60 } },
  properties: {
    city: { type: 'string' },
    temperature: { $ref: '#/$defs/celsius' },
    conditions: { type: 'string' },
    hourly: { type: 'array', prefixItems: [{ type: 'number' }], items: { type: 'number' } },
  },
  required: ['city', 'temperature', 'conditions'],
  unevaluatedProperties: false,
};

const EMPTY = { type: 'object', properties: {} };

export interface ContentTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export const CONTENT_TOOLS: readonly ContentTool[] = [
  { name: 'text', description: 'Returns one text block.', inputSchema: EMPTY },
  { name: 'image', description: 'Returns a PNG image.', inputSchema: EMPTY },
  { name: 'audio', description: 'Returns a WAV clip.', inputSchema: EMPTY },
  {
    name: 'resource',
    description: 'Returns embedded resources, one text and one blob.',
    inputSchema: EMPTY,
  },
  { name: 'resource_link', description: 'Returns a link to a resource.', inputSchema: EMPTY },
  {
    name: 'report',
    description: 'A weather report as structured content.',
    inputSchema: REPORT_INPUT,
    outputSchema: REPORT_OUTPUT,
    annotations: { title: 'Weather report', readOnlyHint: true },
  },
  { name: 'mixed', description: 'Every kind of content in one result.', inputSchema: EMPTY },
];

const TEXT = { type: 'text', text: 'plain text, 中文 too' };
const IMAGE = { type: 'image', data: PNG, mimeType: 'image/png' };
const AUDIO = {
  type: 'audio',
  data: WAV,
  mimeType: 'audio/wav',
  annotations: { audience: ['user'], priority: 0.5 },
};
const TEXT_RESOURCE = {
  type: 'resource',
  resource: { uri: 'file:///notes/today.md', mimeType: 'text/markdown', text: '# Today\n' },
};
const BLOB_RESOURCE = {
  type: 'resource',
  resource: { uri: 'file:///images/dot.png', mimeType: 'image/png', blob: PNG },
};
const LINK = {
  type: 'resource_link',
  uri: 'file:///notes/tomorrow.md',
  name: 'tomorrow.md',
  mimeType: 'text/markdown',
  description: 'Notes for tomorrow',
};
const REPORT = { city: 'Hangzhou', temperature: 21.5, conditions: 'sunny', hourly: [21.5, 22] };

/** Each tool's result, exactly as the server sends it. */
export const CONTENT_RESULTS: Readonly<Record<string, Record<string, unknown>>> = {
  text: { content: [TEXT] },
  image: { content: [IMAGE] },
  audio: { content: [AUDIO] },
  resource: { content: [TEXT_RESOURCE, BLOB_RESOURCE] },
  resource_link: { content: [LINK] },
  report: {
    content: [{ type: 'text', text: JSON.stringify(REPORT) }],
    structuredContent: REPORT,
  },
  mixed: {
    content: [TEXT, IMAGE, AUDIO, TEXT_RESOURCE, BLOB_RESOURCE, LINK],
    structuredContent: REPORT,
    _meta: { 'dev.tether/test': 'kept' },
  },
};

/** A Server (connect it to any transport) answering tools/list and tools/call with the above. */
export function createContentMcpServer(): Server {
  const server = new Server(
    { name: 'fake-content', version: '0.0.0' },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler('tools/list', () => ({ tools: [...CONTENT_TOOLS] }) as never);
  server.setRequestHandler('tools/call', (request) => {
    const result = CONTENT_RESULTS[request.params.name];
    if (!result)
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown tool: ${request.params.name}`,
      );
    return result as never;
  });
  return server;
}

/** The built stdio entry; the same path whether this module runs from src (vitest) or dist. */
export const contentServerCliPath = fileURLToPath(
  new URL('../../dist/mcp/content-cli.js', import.meta.url),
);

/** How an MCP client (or a hub's configuration) spawns the content server over stdio. */
export function contentStdioServerParams(): { command: string; args: string[] } {
  if (!existsSync(contentServerCliPath))
    throw new Error(
      `the content server is not built (${contentServerCliPath}); run \`npx tsc -b\` first`,
    );
  return { command: process.execPath, args: [contentServerCliPath] };
}
