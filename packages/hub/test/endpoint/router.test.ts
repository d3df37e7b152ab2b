import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '@tether/link';
import { wsSocketFactory } from '@tether/link/node';
import { EndpointSimulator, ManualClock, waitUntil } from '@tether/testkit';
import type { CatalogEntry } from '../../src/catalog/catalog.js';
import { catalogFor } from '../../src/catalog/catalog.js';
import type { EndpointConfig, HubSettings, ToolFilter } from '../../src/config/types.js';
import { EndpointSession } from '../../src/endpoint/session.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ToolCallEntry } from '../../src/store/types.js';
import type { CallOptions, ToolResult } from '../../src/upstream/types.js';
import { routerCatalog } from '../finder/fixture.js';
import { settings, text } from './harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const catalog = routerCatalog();

interface Options {
  filter: ToolFilter;
  settings?: Partial<HubSettings>;
  clock?: ManualClock;
  /** How a call is answered; default: the tool's name and its arguments. */
  answer?: (entry: CatalogEntry, args: unknown, options: CallOptions) => Promise<ToolResult>;
}

/**
 * A session serving the 200 tools of the router's set (or `tools`), over a real socket to the
 * simulator; `calls` are what reached the "servers", `records` what the call log got.
 */
async function endpoint(options: Options, tools: CatalogEntry[] = catalog) {
  const sim = await EndpointSimulator.start();
  cleanups.push(() => sim.close());
  const current = { filter: options.filter, tools };
  const allowed = { of: undefined as unknown, list: [] as CatalogEntry[] };
  const calls: Array<{ name: string; args: unknown; options: CallOptions }> = [];
  const records: ToolCallEntry[] = [];
  const config: EndpointConfig = {
    name: 'kitchen',
    url: sim.url(),
    enabled: true,
    tools: options.filter,
    source: 'file',
  };
  const session = new EndpointSession(config, {
    logger: silentLogger(),
    settings: { ...settings, ...options.settings },
    ...(options.clock ? { clock: options.clock } : {}),
    // As the hub does: one array per catalog and filter, made again when either changes.
    tools: () => {
      if (allowed.of !== current) {
        allowed.of = current;
        allowed.list = catalogFor(current.tools, { tools: current.filter });
      }
      return allowed.list;
    },
    filter: () => current.filter,
    callTool: (entry, args, callOptions) => {
      calls.push({ name: entry.name, args, options: callOptions });
      return options.answer
        ? options.answer(entry, args, callOptions)
        : Promise.resolve(text(`${entry.name} ${JSON.stringify(args ?? {})}`));
    },
    // The link keeps real time: only the session's own timers (debounce, early replies) wait for the test.
    linkOptions: { socketFactory: wsSocketFactory(), clock: systemClock },
    report: { transition: () => {}, call: (entry) => void records.push(entry) },
  });
  session.start();
  cleanups.push(() => session.stop());
  const ready = await sim.waitForReady();
  return {
    sim,
    session,
    calls,
    records,
    served: ready.tools.map((t) => t.name),
    change(next: { filter?: ToolFilter; tools?: CatalogEntry[] }) {
      current.filter = next.filter ?? current.filter;
      current.tools = next.tools ?? current.tools;
      allowed.of = undefined;
      session.toolsChanged();
    },
  };
}

/** The text of a successful tool result, and the tools/list of find_tools' answer. */
function resultText(outcome: unknown): string {
  expect(outcome).toMatchObject({ ok: true });
  return (outcome as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;
}
const found = (outcome: unknown) =>
  (JSON.parse(resultText(outcome)) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
const isError = (outcome: unknown) =>
  (outcome as { result?: { isError?: boolean } }).result?.isError;

describe('an endpoint over its tool budget', () => {
  it('is sent only its pinned tools and the router’s two, not its 200 tools', async () => {
    const { served } = await endpoint({
      filter: {
        include: ['*'],
        exclude: [],
        budget: 20,
        pinned: ['clock__*', 'device__set_volume'],
      },
    });
    expect(served).toEqual([
      'clock__add_reminder',
      'clock__cancel_alarm',
      'clock__list_alarms',
      'clock__list_reminders',
      'clock__set_alarm',
      'clock__set_timer',
      'clock__snooze_alarm',
      'clock__stopwatch',
      'device__set_volume',
      'tether__find_tools',
      'tether__call_tool',
    ]);
  });

  it('is sent every tool, as before, when its tools fit the budget', async () => {
    const { served, sim } = await endpoint({
      filter: { include: ['calc__*'], exclude: [], budget: 20, pinned: ['calc__add'] },
    });
    expect(served).toHaveLength(13);
    expect(served.every((n) => n.startsWith('calc__'))).toBe(true);
    expect(await sim.callTool('tether__find_tools', { query: 'add' })).toMatchObject({
      ok: false,
      error: { message: 'Unknown tool: tether__find_tools' },
    });
  });

  it('answers a pinned tool called directly, like any tool', async () => {
    const { sim, calls } = await endpoint({
      filter: { include: ['*'], exclude: [], budget: 5, pinned: ['calc__add'] },
    });
    expect(resultText(await sim.callTool('calc__add', { a: 2, b: 3 }))).toBe(
      'calc__add {"a":2,"b":3}',
    );
    expect(calls.map((c) => c.name)).toEqual(['calc__add']);
  });

  it('finds tools by what they do, in English and in Chinese, with their schemas', async () => {
    const { sim, records } = await endpoint({
      filter: { include: ['*'], exclude: [], budget: 20 },
    });
    const english = await sim.callTool('tether__find_tools', {
      query: 'turn on the kitchen light',
    });
    expect(found(english).slice(0, 3)).toContain('homeassistant__turn_on');
    expect(found(english)).toHaveLength(5);
    const chinese = await sim.callTool('tether__find_tools', { query: '把客厅的灯打开', limit: 3 });
    expect(found(chinese)).toHaveLength(3);
    expect(found(chinese)).toContain('mijia__light');
    const light = (
      JSON.parse(resultText(chinese)) as { tools: Array<Record<string, unknown>> }
    ).tools.find((t) => t.name === 'mijia__light');
    expect(light).toEqual({
      name: 'mijia__light',
      description: catalog.find((e) => e.name === 'mijia__light')!.definition.description,
      inputSchema: catalog.find((e) => e.name === 'mijia__light')!.definition.inputSchema,
    });
    // Never more than 10, whatever is asked.
    expect(
      found(await sim.callTool('tether__find_tools', { query: 'weather', limit: 50 })),
    ).toHaveLength(10);
    // The searches are in the call log, with their queries and what they answered.
    expect(records.filter((r) => r.tool === 'tether__find_tools').map((r) => r.meta)).toEqual([
      { via: 'router', query: 'turn on the kitchen light', found: found(english) },
      { via: 'router', query: '把客厅的灯打开', found: found(chinese) },
      { via: 'router', query: 'weather', found: expect.any(Array) },
    ]);
  });

  it('says so when a search finds nothing, and when it has no query', async () => {
    const { sim } = await endpoint({ filter: { include: ['*'], exclude: [], budget: 20 } });
    const nothing = JSON.parse(
      resultText(await sim.callTool('tether__find_tools', { query: 'zzqx' })),
    ) as { tools: unknown[]; note: string };
    expect(nothing.tools).toEqual([]);
    expect(nothing.note).toMatch(/^No tool matched/);
    const empty = await sim.callTool('tether__find_tools', {});
    expect(isError(empty)).toBe(true);
    expect(resultText(empty)).toMatch(/needs "query"/);
  });

  it('calls the named tool through tether__call_tool, and the call log names the real tool', async () => {
    const { sim, calls, records } = await endpoint({
      filter: { include: ['*'], exclude: [], budget: 20 },
      settings: { callTimeoutMs: 12_345 },
    });
    const outcome = await sim.callTool('tether__call_tool', {
      name: 'calc__add',
      arguments: { a: 2, b: 3 },
    });
    expect(resultText(outcome)).toBe('calc__add {"a":2,"b":3}');
    expect(calls).toMatchObject([{ name: 'calc__add', args: { a: 2, b: 3 } }]);
    // The endpoint's own call timeout, as for a direct call.
    expect(calls[0]!.options.timeoutMs).toBe(12_345);
    await waitUntil(() => records.length === 1, { what: 'the call log row' });
    expect(records[0]).toMatchObject({
      endpointId: 'kitchen',
      tool: 'calc__add',
      server: 'calc',
      outcome: 'ok',
      meta: { via: 'router' },
    });
  });

  it('refuses a tool the endpoint is not allowed as unknown, and never calls it', async () => {
    const { sim, calls, records } = await endpoint({
      filter: { include: ['*'], exclude: ['files__*'], budget: 20 },
    });
    const forbidden = await sim.callTool('tether__call_tool', {
      name: 'files__delete_file',
      arguments: { path: '/etc/passwd' },
    });
    expect(isError(forbidden)).toBe(true);
    expect(resultText(forbidden)).toMatch(
      /^No tool "files__delete_file" on this endpoint\. .*tether__find_tools finds the tools it has\.$/,
    );
    // Not directly either: it is not the endpoint's.
    expect(await sim.callTool('files__delete_file', { path: '/x' })).toMatchObject({
      ok: false,
      error: { message: 'Unknown tool: files__delete_file' },
    });
    // Nor found by a search.
    const search = await sim.callTool('tether__find_tools', { query: 'delete a file', limit: 10 });
    expect(found(search).some((n) => n.startsWith('files__'))).toBe(false);
    expect(calls).toEqual([]);
    expect(records.find((r) => r.tool === 'tether__call_tool')).toMatchObject({
      outcome: 'error',
      meta: { via: 'router' },
      error: expect.stringMatching(/^No tool "files__delete_file"/),
    });
  });

  it('answers an unknown name with similar names, and bad arguments with what is wrong', async () => {
    const { sim, calls } = await endpoint({ filter: { include: ['*'], exclude: [], budget: 20 } });
    const unknown = await sim.callTool('tether__call_tool', { name: 'weather_forecast' });
    expect(resultText(unknown)).toMatch(
      /^No tool "weather_forecast" on this endpoint\. Similar names: [a-z0-9_]+(, [a-z0-9_]+)*\./,
    );
    expect(resultText(unknown)).toContain('weather__get_forecast');
    const noName = await sim.callTool('tether__call_tool', { arguments: {} });
    expect(resultText(noName)).toBe(
      'tether__call_tool needs "name": the name of a tool that tether__find_tools returned.',
    );
    const notObject = await sim.callTool('tether__call_tool', {
      name: 'calc__add',
      arguments: '2+3',
    });
    expect(resultText(notObject)).toBe(
      'tether__call_tool: "arguments" must be an object of calc__add\'s parameters, as its input schema describes.',
    );
    const itself = await sim.callTool('tether__call_tool', { name: 'tether__find_tools' });
    expect(resultText(itself)).toBe(
      'Call tether__find_tools directly, not through tether__call_tool.',
    );
    for (const outcome of [unknown, noName, notObject, itself]) expect(isError(outcome)).toBe(true);
    expect(calls).toEqual([]);
  });

  it('turns a slow routed call into a job fetched with tether__result, as a direct call is', async () => {
    const clock = new ManualClock();
    let finish: (value: string) => void = () => {};
    const { sim, records, served } = await endpoint({
      filter: { include: ['*'], exclude: [], budget: 20 },
      settings: { earlyReplyMs: 500 },
      clock,
      answer: () => new Promise((resolve) => (finish = (value) => resolve(text(value)))),
    });
    expect(served.slice(-1)).toEqual(['tether__result']);
    const pending = sim.callTool('tether__call_tool', {
      name: 'weather__get_forecast',
      arguments: { location: 'Paris' },
    });
    await waitUntil(() => clock.pending > 0, { what: 'the early-reply timer' });
    clock.advance(500);
    const early = resultText(await pending);
    const job = /"job": "([0-9a-f]+)"/.exec(early)![1]!;
    finish('sunny');
    expect(resultText(await sim.callTool('tether__result', { job }))).toBe('sunny');
    expect(records[0]).toMatchObject({
      tool: 'weather__get_forecast',
      outcome: 'early',
      meta: { via: 'router' },
    });
  });
});

describe('the router’s tool set over time', () => {
  it('stays the same when a server adds a tool, so the endpoint does not reconnect', async () => {
    const clock = new ManualClock();
    const { sim, session, change } = await endpoint({
      filter: { include: ['*'], exclude: [], budget: 20, pinned: ['calc__add'] },
      clock,
    });
    await waitUntil(() => session.status.state === 'ready', { what: 'ready' });
    const more: CatalogEntry = {
      name: 'calc__modulo',
      server: 'calc',
      tool: 'modulo',
      definition: {
        name: 'calc__modulo',
        description: 'Remainder of a divided by b.',
        inputSchema: {},
      },
    };
    change({ tools: [...catalog, more] });
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(session.status.state).toBe('ready');
    // The new tool is found at the next search, and called.
    expect(found(await sim.callTool('tether__find_tools', { query: 'remainder' }))[0]).toBe(
      'calc__modulo',
    );
    expect(resultText(await sim.callTool('tether__call_tool', { name: 'calc__modulo' }))).toBe(
      'calc__modulo {}',
    );
    expect(sim.accounting().handshakes).toBe(1);
  });

  it('changes when the pinned tools change: one debounced reconnect, the new set sent', async () => {
    const clock = new ManualClock();
    const { sim, session, change } = await endpoint({
      filter: { include: ['*'], exclude: [], budget: 20, pinned: ['calc__add'] },
      clock,
    });
    await waitUntil(() => session.status.state === 'ready', { what: 'ready' });
    change({
      filter: { include: ['*'], exclude: [], budget: 20, pinned: ['calc__add', 'calc__sqrt'] },
    });
    expect(clock.pending).toBe(1);
    clock.advance(settings.toolChangeDebounceMs);
    const ready = await sim.waitForReady({ count: 2 });
    expect(ready.tools.map((t) => t.name)).toEqual([
      'calc__add',
      'calc__sqrt',
      'tether__find_tools',
      'tether__call_tool',
    ]);
  });
});
