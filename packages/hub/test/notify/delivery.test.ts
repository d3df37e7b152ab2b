import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, waitUntil } from '@tether/testkit';
import { Notifier } from '../../src/notify/index.js';
import type { Channel, NotifierOptions } from '../../src/notify/index.js';
import { capturedLogger, refusedUrl, startReceiver } from './helpers.js';
import type { Receiver } from './helpers.js';

const receivers: Receiver[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** Every receiver here is on loopback, which a channel reaches only with allowPrivate. */
function notifier(channels: Channel[], options: Partial<NotifierOptions> = {}) {
  const clock = new ManualClock(Date.UTC(2025, 10, 14, 10, 0, 0));
  const log = capturedLogger();
  const local = channels.map((channel) => ({ ...channel, allowPrivate: true }));
  const n = new Notifier({
    channels: () => local,
    logger: log.logger,
    clock,
    random: () => 1, // the longest delay of each jittered step: d
    ...options,
  });
  notifiers.push(n);
  return { clock, notifier: n, log };
}

/** The retry timer is the only one whose delay is not the 10 s request timeout. */
async function retryScheduledIn(clock: ManualClock, ms: number): Promise<void> {
  await waitUntil(() => clock.pending === 1 && clock.nextAt === clock.now() + ms, {
    what: `a retry in ${ms} ms`,
  });
}

describe('delivering to a webhook', () => {
  it('a 500 is retried, then delivered once', async () => {
    const hook = await receiver();
    hook.replies.push({ status: 500, body: 'oops' });
    const { clock, notifier: n } = notifier([{ kind: 'generic', url: hook.url }]);
    n.serverState('calc', 'failed', { restarts: 6, lastError: 'exited with code 1' });
    await retryScheduledIn(clock, 1_000);
    expect(hook.requests).toHaveLength(1);
    expect(n.stats()).toMatchObject({ sent: 0, failed: 0, pending: 1 });
    clock.advance(1_000);
    await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.body).toBe(hook.requests[0]!.body);
    expect(n.stats()).toMatchObject({ sent: 1, failed: 0, pending: 0 });
    expect(clock.pending).toBe(0);
  });

  it('a 429 is retried after exactly its Retry-After', async () => {
    const hook = await receiver();
    hook.replies.push({ status: 429, headers: { 'retry-after': '7' }, body: 'slow down' });
    const { clock, notifier: n } = notifier([{ kind: 'slack', url: hook.url }]);
    n.serverState('calc', 'failed');
    await retryScheduledIn(clock, 7_000);
    clock.advance(6_999);
    expect(hook.requests).toHaveLength(1);
    clock.advance(1);
    await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
    expect(hook.requests).toHaveLength(2);
  });

  it('backs off exponentially, gives up after the attempts and logs it without the URL', async () => {
    const hook = await receiver();
    for (let i = 0; i < 10; i++) hook.replies.push({ status: 503 });
    const {
      clock,
      notifier: n,
      log,
    } = notifier([{ name: 'team-chat', kind: 'discord', url: hook.url }], {
      retry: { attempts: 4, baseMs: 500, maxMs: 1_500 },
    });
    n.serverState('calc', 'failed');
    for (const delay of [500, 1_000, 1_500]) {
      await retryScheduledIn(clock, delay);
      clock.advance(delay);
    }
    await waitUntil(() => n.stats().failed === 1, { what: 'giving up' });
    expect(hook.requests).toHaveLength(4);
    expect(n.stats()).toMatchObject({ sent: 0, failed: 1, pending: 0 });
    expect(clock.pending).toBe(0);
    const warning = log.lines().find((l) => l.level === 40);
    expect(warning).toMatchObject({
      msg: 'notification not delivered; giving up after the last attempt',
      channel: expect.stringContaining('team-chat') as unknown,
      event: 'server.crashloop',
      attempts: 4,
      why: 'HTTP 503',
    });
    expect(JSON.stringify(log.lines())).not.toContain('SECRET-PATH-TOKEN');
  });

  it('a 400 is not retried', async () => {
    const hook = await receiver();
    hook.replies.push({ status: 400, body: 'invalid_payload' });
    const { clock, notifier: n, log } = notifier([{ kind: 'slack', url: hook.url }]);
    n.serverState('calc', 'failed');
    await waitUntil(() => n.stats().failed === 1, { what: 'the refusal' });
    expect(hook.requests).toHaveLength(1);
    expect(clock.pending).toBe(0);
    expect(log.lines().find((l) => l.level === 40)).toMatchObject({
      msg: 'notification refused; not retrying',
      why: 'HTTP 400: invalid_payload',
    });
  });

  it('a robot that answers 200 with an error code counts as refused', async () => {
    const hook = await receiver();
    hook.replies.push({ status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' });
    const { notifier: n } = notifier([{ kind: 'dingtalk', url: hook.url }]);
    n.serverState('calc', 'failed');
    await waitUntil(() => n.stats().failed === 1, { what: 'the refusal' });
    expect(n.stats()).toMatchObject({ sent: 0, failed: 1, pending: 0 });
  });

  it('a webhook that never answers is abandoned after the request timeout and retried', async () => {
    const hook = await receiver();
    hook.replies.push('hang');
    const { clock, notifier: n } = notifier([{ kind: 'generic', url: hook.url }], {
      requestTimeoutMs: 5_000,
    });
    n.serverState('calc', 'failed');
    await waitUntil(() => hook.requests.length === 1, { what: 'the first request' });
    clock.advance(5_000);
    await retryScheduledIn(clock, 1_000);
    clock.advance(1_000);
    await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
  });

  it('a channel that refuses connections does not throw and does not delay the others', async () => {
    const hook = await receiver();
    const { clock, notifier: n } = notifier([
      { name: 'dead', kind: 'ntfy', url: await refusedUrl() },
      { name: 'alive', kind: 'wecom', url: hook.url },
    ]);
    expect(() => n.serverState('calc', 'failed')).not.toThrow();
    await waitUntil(() => n.stats().sent === 1, { what: 'the live channel' });
    expect(hook.requests).toHaveLength(1);
    await retryScheduledIn(clock, 1_000); // the dead one waits for its retry, alone
    expect(n.stats()).toMatchObject({ sent: 1, failed: 0, pending: 1 });
    n.close();
    expect(clock.pending).toBe(0);
    expect(n.stats().pending).toBe(0);
  });

  it('a header node cannot send is refused at once, without quoting its value', async () => {
    const hook = await receiver();
    const {
      clock,
      notifier: n,
      log,
    } = notifier([
      { kind: 'ntfy', url: hook.url, headers: { authorization: 'Bearer tk_SECRET\r\nX-Evil: 1' } },
    ]);
    n.serverState('calc', 'failed');
    await waitUntil(() => n.stats().failed === 1, { what: 'the refusal' });
    expect(hook.requests).toHaveLength(0);
    expect(clock.pending).toBe(0);
    expect(log.lines().find((l) => l.level === 40)).toMatchObject({
      msg: 'notification refused; not retrying',
      why: 'the channel URL or a header is not valid',
    });
    expect(JSON.stringify(log.lines())).not.toContain('tk_SECRET');
  });

  it('close() abandons a request in flight and leaves no timer', async () => {
    const hook = await receiver();
    hook.replies.push('hang');
    const { clock, notifier: n } = notifier([{ kind: 'generic', url: hook.url }]);
    n.serverState('calc', 'failed');
    await waitUntil(() => hook.requests.length === 1, { what: 'the request' });
    n.close();
    expect(clock.pending).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(n.stats()).toMatchObject({ sent: 0, failed: 0, pending: 0 });
    expect(clock.pending).toBe(0);
  });
});

describe('what arrives at each service', () => {
  it('DingTalk: signed with timestamp and sign query parameters that verify with the secret', async () => {
    const hook = await receiver();
    const secret = 'SECdeadbeef0123456789';
    const url = `${hook.url}?access_token=abc123`;
    const { clock, notifier: n } = notifier([{ kind: 'dingtalk', url, secret }]);
    n.serverState('calc', 'failed');
    await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
    const query = new URL(hook.requests[0]!.path, 'http://x').searchParams;
    expect(query.get('access_token')).toBe('abc123');
    const timestamp = query.get('timestamp')!;
    expect(timestamp).toBe(String(clock.now()));
    const expected = createHmac('sha256', secret)
      .update(`${timestamp}\n${secret}`)
      .digest('base64');
    expect(query.get('sign')).toBe(expected);
    expect(JSON.parse(hook.requests[0]!.body)).toEqual({
      msgtype: 'text',
      text: { content: expect.stringContaining('calc') as unknown },
    });
  });

  it('ntfy: a plain text body with Title, Priority and Tags headers, a Chinese title intact', async () => {
    const hook = await receiver();
    const { clock, notifier: n } = notifier([{ kind: 'ntfy', url: hook.url }], {
      downAfterMs: 1_000,
    });
    n.endpointState('客厅', 'backoff', { lastClose: { code: 1006, reason: '' } });
    clock.advance(1_000);
    await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
    const { headers, body } = hook.requests[0]!;
    expect(headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(headers.priority).toBe('high');
    expect(headers.tags).toBe('warning,tether');
    const title = /^=\?UTF-8\?B\?(.*)\?=$/.exec(String(headers.title))![1]!;
    expect(Buffer.from(title, 'base64').toString('utf8')).toBe('Tether: endpoint "客厅" is down');
    expect(body).toContain('客厅 has not been connected since');
    expect(body).toContain('code 1006');
  });

  it('extra channel headers (an ntfy access token) are sent', async () => {
    const hook = await receiver();
    const { notifier: n } = notifier([
      { kind: 'ntfy', url: hook.url, headers: { authorization: 'Bearer tk_test' } },
    ]);
    n.serverState('calc', 'failed');
    await waitUntil(() => n.stats().sent === 1, { what: 'the delivery' });
    expect(hook.requests[0]!.headers.authorization).toBe('Bearer tk_test');
  });
});
