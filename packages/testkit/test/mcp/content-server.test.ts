import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTENT_RESULTS, CONTENT_TOOLS, contentStdioServerParams } from '../../src/index.js';

/** What came over the wire, not what the SDK's schemas made of it. */
const asSent = z.custom<Record<string, unknown>>(() => true);

let client: Client;

beforeAll(async () => {
  client = new Client({ name: 'tether-test', version: '0.0.0' });
  await client.connect(new StdioClientTransport(contentStdioServerParams()), { timeout: 5000 });
});

afterAll(async () => {
  await client?.close();
});

describe('the content server (stdio)', () => {
  it('lists its tools with their 2020-12 schemas as written', async () => {
    expect(await client.request({ method: 'tools/list' }, asSent)).toEqual({
      tools: CONTENT_TOOLS,
    });
  });

  it.each(Object.keys(CONTENT_RESULTS))('answers %s with exactly its result', async (name) => {
    const result = await client.request(
      { method: 'tools/call', params: { name, arguments: {} } },
      asSent,
    );
    expect(result).toEqual(CONTENT_RESULTS[name]);
  });

  it('answers an unknown tool with invalid params', async () => {
    await expect(
      client.request({ method: 'tools/call', params: { name: 'nope' } }, asSent),
    ).rejects.toMatchObject({ code: -32602 });
  });
});
