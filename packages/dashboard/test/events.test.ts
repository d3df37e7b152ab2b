import { HubEventSchema } from '@tether/protocol';
import type { HubEvent } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { HUB_EVENT_TYPES, HubStream, isHubEvent } from '../src/events.js';
import type { EventSourceLike } from '../src/events.js';

class FakeSource implements EventSourceLike {
  readyState = 0;
  closed = false;
  private listeners = new Map<string, Array<(event: { data?: unknown }) => void>>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  fire(type: string, data?: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ data });
  }
  open(): void {
    this.readyState = 1;
    this.fire('open');
  }
  fail(readyState: 0 | 2): void {
    this.readyState = readyState;
    this.fire('error');
  }
  count(): number {
    return [...this.listeners.values()].reduce((n, l) => n + l.length, 0);
  }
}

function harness() {
  const sources: FakeSource[] = [];
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const log: string[] = [];
  const events: HubEvent[] = [];
  const stream = new HubStream({
    url: '/api/events',
    create: (url) => {
      const source = new FakeSource(url);
      sources.push(source);
      return source;
    },
    onEvent: (e) => events.push(e),
    onOpen: () => log.push('open'),
    onDown: (closed) => log.push(closed ? 'down:closed' : 'down'),
    reopenDelayMs: (attempt) => 1000 * (attempt + 1),
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      (timer as { cleared: boolean }).cleared = true;
    },
  });
  const current = () => sources[sources.length - 1] as FakeSource;
  return { stream, sources, timers, log, events, current };
}

const endpointEvent: HubEvent = {
  type: 'endpoint',
  endpoint: {
    id: 'a',
    name: 'a',
    url: 'wss://x',
    enabled: true,
    source: 'api',
    state: 'ready',
    since: '2026-01-01T00:00:00.000Z',
    lastClose: null,
    lastError: null,
    attempts: 0,
    nextRetryAt: null,
    health: null,
    owner: 'hub',
    tools: 0,
    callsInFlight: 0,
  },
};

describe('HubStream', () => {
  it('listens to every event type of the shared schema', () => {
    const fromSchema = HubEventSchema.options.map((o) => o.shape.type.value).sort();
    expect([...HUB_EVENT_TYPES].sort()).toEqual(fromSchema);
  });

  it('asks for a refetch on every open, first and after a browser reconnect', () => {
    const h = harness();
    expect(h.sources).toHaveLength(1);
    expect(h.current().url).toBe('/api/events');
    h.current().open();
    h.current().fail(0); // network blip: the browser retries by itself
    h.current().open();
    expect(h.log).toEqual(['open', 'down', 'open']);
    expect(h.sources).toHaveLength(1);
    expect(h.timers).toHaveLength(0);
  });

  it('delivers valid events by name or as plain messages, and counts the rest', () => {
    const h = harness();
    h.current().open();
    h.current().fire('endpoint', JSON.stringify(endpointEvent));
    h.current().fire('tools', JSON.stringify({ type: 'tools' }));
    h.current().fire('message', JSON.stringify({ type: 'endpoint-removed', id: 'a' }));
    h.current().fire('endpoint', '{not json');
    h.current().fire('endpoint', JSON.stringify({ type: 'endpoint' }));
    h.current().fire('message', JSON.stringify({ type: 'mystery' }));
    expect(h.events.map((e) => e.type)).toEqual(['endpoint', 'tools', 'endpoint-removed']);
    expect(h.stream.rejected).toBe(3);
  });

  it('opens a new source, later each time, when the browser gives up', () => {
    const h = harness();
    h.current().fail(2); // e.g. 401 or 503: EventSource will not retry
    expect(h.log).toEqual(['down:closed']);
    expect(h.sources[0]?.closed).toBe(true);
    expect(h.timers.map((t) => t.ms)).toEqual([1000]);
    h.timers[0]?.fn();
    expect(h.sources).toHaveLength(2);
    h.current().fail(2);
    expect(h.timers.map((t) => t.ms)).toEqual([1000, 2000]);
    h.timers[1]?.fn();
    h.current().open();
    h.current().fail(2);
    expect(h.timers[2]?.ms).toBe(1000); // an open resets the delay
    // A dead source's late events are ignored.
    h.sources[0]?.fire('endpoint', JSON.stringify(endpointEvent));
    h.sources[0]?.fire('open');
    expect(h.events).toEqual([]);
    expect(h.log).toEqual(['down:closed', 'down:closed', 'open', 'down:closed']);
  });

  it('close() closes the source and cancels a pending reopen', () => {
    const h = harness();
    h.current().fail(2);
    h.stream.close();
    expect(h.timers[0]?.cleared).toBe(true);
    const fresh = harness();
    fresh.stream.close();
    expect(fresh.current().closed).toBe(true);
    expect(fresh.current().count()).toBeGreaterThan(0);
  });
});

describe('isHubEvent', () => {
  it('agrees with the schema on valid events and refuses shapeless ones', () => {
    const valid: HubEvent[] = [
      endpointEvent,
      { type: 'endpoint-removed', id: 'a' },
      { type: 'tools' },
      {
        type: 'call',
        call: {
          endpointId: null,
          tool: 't',
          server: 's',
          at: '2026-01-01T00:00:00.000Z',
          durationMs: 1,
          outcome: 'ok',
          argsBytes: 1,
          resultBytes: 1,
          error: null,
        },
      },
    ];
    for (const e of valid) {
      expect(HubEventSchema.safeParse(e).success).toBe(true);
      expect(isHubEvent(e)).toBe(true);
    }
    for (const bad of [
      null,
      1,
      {},
      { type: 'endpoint' },
      { type: 'endpoint-removed', id: 3 },
      { type: 'x' },
    ])
      expect(isHubEvent(bad)).toBe(false);
  });
});
