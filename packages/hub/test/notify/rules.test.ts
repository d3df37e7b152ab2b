import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tether/testkit';
import { silentLogger } from '../../src/log/logger.js';
import { Notifier } from '../../src/notify/index.js';
import type { Channel, NotifierOptions, Post } from '../../src/notify/index.js';
import { recordingPost, settle } from './helpers.js';

const START = Date.UTC(2025, 10, 14, 10, 0, 0);
const hook: Channel = { name: 'ops', kind: 'generic', url: 'https://hooks.example.test/tether' };

function setup(options: Partial<NotifierOptions> = {}) {
  const clock = new ManualClock(START);
  const { post, sent } = recordingPost();
  const notifier = new Notifier({
    channels: () => [hook],
    logger: silentLogger(),
    clock,
    post,
    ...options,
  });
  const events = () => sent.map((s) => s.body.event);
  return { clock, notifier, sent, events };
}

describe('when people are told about an endpoint', () => {
  it('a flap shorter than downAfterMs sends nothing at all', () => {
    const { clock, notifier, events } = setup();
    notifier.endpointState('living-room', 'ready');
    notifier.endpointState('living-room', 'backoff', { lastClose: { code: 1006, reason: '' } });
    clock.advance(10_000);
    notifier.endpointState('living-room', 'connecting');
    clock.advance(19_999);
    notifier.endpointState('living-room', 'open');
    notifier.endpointState('living-room', 'ready');
    clock.advance(10 * 60_000);
    expect(events()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('a long outage sends exactly one down and one recovered that says how long it lasted', () => {
    const { clock, notifier, sent, events } = setup();
    notifier.endpointState('living-room', 'ready');
    notifier.endpointState('living-room', 'backoff', {
      lastClose: { code: 1006, reason: '' },
      attempts: 1,
    });
    clock.advance(29_999);
    expect(events()).toEqual([]);
    clock.advance(1);
    expect(events()).toEqual(['endpoint.down']);
    expect(sent[0]!.body).toMatchObject({
      endpoint: 'living-room',
      state: 'backoff',
      detail: { since: '2025-11-14T10:00:00.000Z', lastClose: { code: 1006, reason: '' } },
    });
    expect(sent[0]!.body.text).toContain('since 2025-11-14 10:00:00 UTC (30s)');

    clock.advance(120_000);
    notifier.endpointState('living-room', 'connecting');
    notifier.endpointState('living-room', 'open');
    notifier.endpointState('living-room', 'ready');
    expect(events()).toEqual(['endpoint.down', 'endpoint.recovered']);
    expect(sent[1]!.body).toMatchObject({
      endpoint: 'living-room',
      state: 'open',
      detail: { downSince: '2025-11-14T10:00:00.000Z', outageMs: 150_000 },
    });
    expect(sent[1]!.body.text).toContain('down for 2m 30s');
    clock.advance(10 * 60_000);
    expect(events()).toHaveLength(2);
  });

  it('retrying during one outage (backoff, connecting, backoff …) sends nothing more', () => {
    const { clock, notifier, sent, events } = setup();
    for (let i = 0; i < 30; i++) {
      notifier.endpointState('living-room', 'connecting');
      clock.advance(1_000);
      notifier.endpointState('living-room', 'backoff', { lastError: `connect ECONNREFUSED #${i}` });
      clock.advance(9_000);
    }
    expect(events()).toEqual(['endpoint.down']);
    // The message gives the error known when it was sent, not the first one.
    expect(sent[0]!.body.detail).toMatchObject({ lastError: 'connect ECONNREFUSED #2' });
  });

  it('parking is told once, and covers a down that was not sent yet', () => {
    const { clock, notifier, sent, events } = setup();
    notifier.endpointState('kitchen', 'backoff', {
      lastClose: { code: 1008, reason: 'invalid token' },
    });
    clock.advance(10_000);
    notifier.endpointState('kitchen', 'parked', { attempts: 5 });
    expect(events()).toEqual(['endpoint.parked']);
    expect(sent[0]!.body).toMatchObject({
      endpoint: 'kitchen',
      state: 'parked',
      detail: { since: '2025-11-14T10:00:00.000Z', lastClose: { code: 1008 }, attempts: 5 },
    });
    // Slow probes: parked → connecting → parked, again and again.
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      notifier.endpointState('kitchen', 'connecting');
      notifier.endpointState('kitchen', 'parked');
    }
    expect(events()).toEqual(['endpoint.parked']);
    notifier.endpointState('kitchen', 'ready');
    expect(events()).toEqual(['endpoint.parked', 'endpoint.recovered']);
  });

  it('an endpoint that parks after its down was sent is told about once more, then quiet', () => {
    const { clock, notifier, events } = setup();
    notifier.endpointState('kitchen', 'backoff');
    clock.advance(30_000);
    clock.advance(60_000);
    notifier.endpointState('kitchen', 'parked');
    notifier.endpointState('kitchen', 'connecting');
    notifier.endpointState('kitchen', 'parked');
    expect(events()).toEqual(['endpoint.down', 'endpoint.parked']);
  });

  it('disabling an endpoint ends its outage silently', () => {
    const { clock, notifier, events } = setup();
    // Disabled before anyone was told: no down later.
    notifier.endpointState('study', 'backoff');
    clock.advance(10_000);
    notifier.endpointState('study', 'disabled');
    clock.advance(60_000);
    expect(events()).toEqual([]);
    expect(clock.pending).toBe(0);
    // Disabled after the down: no recovery when it is enabled and connects again.
    notifier.endpointState('study', 'connecting');
    clock.advance(30_000);
    expect(events()).toEqual(['endpoint.down']);
    notifier.endpointState('study', 'disabled');
    clock.advance(120_000);
    notifier.endpointState('study', 'connecting');
    notifier.endpointState('study', 'ready');
    expect(events()).toEqual(['endpoint.down']);
  });

  it('several endpoints are watched independently', () => {
    const { clock, notifier, sent } = setup();
    notifier.endpointState('a', 'backoff');
    clock.advance(20_000);
    notifier.endpointState('b', 'backoff');
    clock.advance(10_000);
    notifier.endpointState('b', 'ready');
    clock.advance(60_000);
    expect(sent.map((s) => [s.body.event, s.body.endpoint])).toEqual([['endpoint.down', 'a']]);
  });
});

describe('when people are told about an MCP server', () => {
  it('a crash loop is told once per episode', () => {
    const { clock, notifier, sent, events } = setup();
    notifier.serverState('calc', 'starting');
    notifier.serverState('calc', 'restarting', { restarts: 3 });
    notifier.serverState('calc', 'failed', { restarts: 6, lastError: 'exited with code 1' });
    expect(sent[0]!.body).toMatchObject({
      event: 'server.crashloop',
      server: 'calc',
      state: 'failed',
      detail: { restarts: 6, lastError: 'exited with code 1' },
    });
    for (let i = 0; i < 5; i++) {
      notifier.serverState('calc', 'starting');
      notifier.serverState('calc', 'failed', { restarts: 7 + i });
    }
    expect(events()).toEqual(['server.crashloop']);
    notifier.serverState('calc', 'ready');
    clock.advance(60_000); // past the rate limit
    notifier.serverState('calc', 'restarting');
    notifier.serverState('calc', 'failed', { restarts: 6 });
    expect(events()).toEqual(['server.crashloop', 'server.crashloop']);
  });
});

describe('rate limit', () => {
  it('holds a second message about the same endpoint until the interval is over; the newest wins', async () => {
    const { clock, notifier, sent, events } = setup({ downAfterMs: 1_000, minIntervalMs: 60_000 });
    notifier.endpointState('a', 'backoff');
    clock.advance(1_000); // t=1s: down sent
    notifier.endpointState('a', 'ready'); // recovered: held
    await settle();
    expect(events()).toEqual(['endpoint.down']);
    expect(notifier.stats().pending).toBe(1);

    notifier.endpointState('b', 'backoff');
    clock.advance(1_000); // another endpoint is not held back by a
    expect(sent.map((s) => s.body.endpoint)).toEqual(['a', 'b']);

    notifier.endpointState('a', 'backoff');
    clock.advance(1_000); // t=3s: a second outage of a; its down replaces the held recovery
    await settle();
    expect(notifier.stats()).toMatchObject({ pending: 1, superseded: 1 });
    clock.advance(57_999);
    expect(sent).toHaveLength(2);
    clock.advance(1); // t=61s: the window is over
    expect(sent.map((s) => [s.body.event, s.body.endpoint])).toEqual([
      ['endpoint.down', 'a'],
      ['endpoint.down', 'b'],
      ['endpoint.down', 'a'],
    ]);
    await settle();
    expect(notifier.stats()).toMatchObject({ sent: 3, pending: 0 });
  });

  it('a recovery held back by the limit is still sent, with the outage length', () => {
    const { clock, notifier, sent, events } = setup({ downAfterMs: 5_000, minIntervalMs: 60_000 });
    notifier.endpointState('a', 'backoff');
    clock.advance(5_000);
    clock.advance(15_000);
    notifier.endpointState('a', 'ready');
    clock.advance(60_000);
    expect(events()).toEqual(['endpoint.down', 'endpoint.recovered']);
    expect(sent[1]!.body.detail).toEqual({
      downSince: '2025-11-14T10:00:00.000Z',
      outageMs: 20_000,
    });
  });
});

describe('channels and teardown', () => {
  it('reads the channel list again for every message', () => {
    const clock = new ManualClock(START);
    const { post, sent } = recordingPost();
    const channels: Channel[] = [];
    const notifier = new Notifier({
      channels: () => channels,
      logger: silentLogger(),
      clock,
      post,
    });
    notifier.serverState('one', 'failed');
    channels.push(hook, { ...hook, url: 'https://other.example.test/x' });
    notifier.serverState('two', 'failed');
    expect(sent.map((s) => [new URL(s.url).host, s.body.server])).toEqual([
      ['hooks.example.test', 'two'],
      ['other.example.test', 'two'],
    ]);
  });

  it('a channel gets only the events it asked for, and a disabled one gets nothing', () => {
    const clock = new ManualClock(START);
    const { post, sent } = recordingPost();
    const channels: Channel[] = [
      { ...hook, url: 'https://all.example.test/' },
      { ...hook, url: 'https://servers.example.test/', events: ['server.crashloop'] },
      { ...hook, url: 'https://off.example.test/', enabled: false },
    ];
    const notifier = new Notifier({
      channels: () => channels,
      logger: silentLogger(),
      clock,
      post,
    });
    notifier.endpointState('a', 'parked');
    notifier.serverState('calc', 'failed');
    expect(sent.map((s) => [new URL(s.url).host, s.body.event])).toEqual([
      ['all.example.test', 'endpoint.parked'],
      ['all.example.test', 'server.crashloop'],
      ['servers.example.test', 'server.crashloop'],
    ]);
  });

  it('a channel list that throws is logged, not thrown at the hub', () => {
    const clock = new ManualClock(START);
    const notifier = new Notifier({
      channels: () => {
        throw new Error('config gone');
      },
      logger: silentLogger(),
      clock,
    });
    expect(() => notifier.serverState('calc', 'failed')).not.toThrow();
  });

  it('close() cancels outage timers, held messages and retries, and leaves no timer', async () => {
    const clock = new ManualClock(START);
    const failing: Post = () => Promise.resolve({ status: 503, retryAfter: null, body: 'busy' });
    const notifier = new Notifier({
      channels: () => [hook],
      logger: silentLogger(),
      clock,
      post: failing,
      downAfterMs: 1_000,
    });
    notifier.endpointState('a', 'backoff'); // will be told: retry timer after a 503
    clock.advance(1_000);
    await settle();
    notifier.endpointState('a', 'ready'); // held back by the rate limit
    notifier.endpointState('b', 'backoff'); // waiting for downAfterMs
    expect(clock.pending).toBe(3);
    expect(notifier.stats().pending).toBe(2);
    notifier.close();
    expect(clock.pending).toBe(0);
    expect(notifier.stats().pending).toBe(0);
    notifier.endpointState('c', 'backoff');
    notifier.serverState('calc', 'failed');
    expect(clock.pending).toBe(0);
    notifier.close();
  });
});
