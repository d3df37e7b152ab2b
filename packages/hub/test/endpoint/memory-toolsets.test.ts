import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '@tether/link';
import { wsSocketFactory } from '@tether/link/node';
import { EndpointSimulator, waitUntil } from '@tether/testkit';
import type { CatalogEntry } from '../../src/catalog/catalog.js';
import type { EndpointConfig } from '../../src/config/types.js';
import { EndpointSession } from '../../src/endpoint/session.js';
import { LinkTransport, ToolSets } from '../../src/endpoint/transport.js';
import { silentLogger } from '../../src/log/logger.js';
import { settings, text } from './harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A tool definition that counts how often its description is read (JSON.stringify reads it). */
function counted(name: string) {
  let reads = 0;
  const definition = {
    name,
    get description() {
      reads++;
      return `the ${name} tool`;
    },
    inputSchema: { type: 'object', properties: { a: { type: 'number' } } },
  };
  return { definition, reads: () => reads };
}

/** A link that is only a pipe: whatever the transport sends lands in `sent`. */
function pipe() {
  const sent: string[] = [];
  const link = {
    on: () => () => {},
    send(data: string) {
      sent.push(data);
      return true;
    },
  } as unknown as Link;
  return { link, sent };
}

describe('a tool set shared by the sessions that serve it', () => {
  it('is serialised once, however many ask, and digested as its JSON text', () => {
    const sets = new ToolSets();
    const a = counted('calc__add');
    const b = counted('calc__sub');
    const tools = [a.definition, b.definition];
    const json = sets.json(tools);
    expect(json).toBe(JSON.stringify(tools));
    for (let i = 0; i < 100; i++) expect(sets.json([...tools])).toBe(json);
    expect(sets.digest([...tools])).toBe(createHash('sha1').update(json).digest('hex'));
    // Read twice: by the cache, and by the JSON.stringify this test compares with.
    expect([a.reads(), b.reads()]).toEqual([2, 2]);
  });

  it('tells sets apart by their tools: another order, another tool, one tool fewer', () => {
    const sets = new ToolSets();
    const [a, b, c] = ['x__a', 'x__b', 'x__c'].map((n) => ({ name: n, inputSchema: {} }));
    const digests = [[a!, b!], [b!, a!], [a!, c!], [a!], []].map((t) => sets.digest(t));
    expect(new Set(digests).size).toBe(5);
    // The same content in new objects (a catalog rebuilt) is the same set, computed afresh.
    expect(sets.digest([{ ...a! }, { ...b! }])).toBe(digests[0]);
  });

  it('gives the tools/list reply the same text as JSON.stringify, in every shape', async () => {
    const tools = [counted('calc__add').definition, { name: 'x', inputSchema: {} }];
    const messages = [
      { result: { tools }, jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', id: 'abc', result: { tools, nextCursor: 'n"1' } },
      {
        result: { _meta: { k: [1, null] }, tools: [...tools], skip: undefined },
        jsonrpc: '2.0',
        id: 0,
      },
      { result: { tools: [] }, jsonrpc: '2.0', id: 2 },
      { result: { content: [{ type: 'text', text: 'é\u2028' }] }, jsonrpc: '2.0', id: 3 },
      { jsonrpc: '2.0', id: 4, error: { code: -32601, message: 'Method not found' } },
    ];
    const { link, sent } = pipe();
    const transport = new LinkTransport(link, 1, silentLogger());
    for (const message of messages) await transport.send(message as never);
    expect(sent).toEqual(messages.map((m) => JSON.stringify(m)));
  });

  it('costs one serialisation for many endpoints, each sent the same bytes', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const add = counted('calc__add');
    const entries: CatalogEntry[] = [
      { name: 'calc__add', server: 'calc', tool: 'add', definition: add.definition as never },
    ];
    const sessions = Array.from({ length: 5 }, (_, i) => {
      const config: EndpointConfig = {
        name: `e${i}`,
        url: sim.url(`token-${i}-0123456789`),
        enabled: true,
        tools: { include: ['*'], exclude: [] },
        source: 'file',
      };
      const session = new EndpointSession(config, {
        logger: silentLogger(),
        settings: { ...settings, earlyReplyMs: 0 },
        // What the catalog hands out: a fresh array each time, the same tool objects in it.
        tools: () => [...entries],
        callTool: async () => text('3'),
        linkOptions: { socketFactory: wsSocketFactory() },
      });
      session.start();
      cleanups.push(() => session.stop());
      return session;
    });
    // Ready on both sides: the session once it answered, the simulator once it read the answer.
    await waitUntil(() => sessions.every((s) => s.status.state === 'ready'));
    await waitUntil(() => sim.sockets().filter((s) => s.state === 'ready').length === 5);
    const lists = sim.sockets().map((s) => JSON.stringify(s.tools));
    expect(lists).toHaveLength(5);
    expect(new Set(lists).size).toBe(1);
    // Once for the reply's text and once for the digest's (toolsChanged, listed): not per session.
    expect(add.reads()).toBeLessThanOrEqual(2);
    // A status, spread or serialised, is a plain snapshot with the tool count in it.
    const status = { ...sessions[0]!.status };
    expect(Object.getOwnPropertyDescriptor(status, 'tools')?.value).toBe(1);
    expect(JSON.parse(JSON.stringify(sessions[0]!.status))).toMatchObject({ tools: 1 });
  });
});
