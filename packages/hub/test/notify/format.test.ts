import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_KINDS,
  formatMessage,
  parseRetryAfter,
  retryDelay,
} from '../../src/notify/index.js';
import type { NotifyEvent } from '../../src/notify/index.js';

const T0 = Date.UTC(2025, 10, 14, 10, 2, 31);
const LEAKY_ERROR =
  'Unexpected server response: 401 from wss://api.xiaozhi.me/mcp/?token=eyJSECRETTOKEN';

const down: NotifyEvent = {
  type: 'endpoint.down',
  endpoint: 'living-room',
  since: T0,
  at: T0 + 35_000,
  state: 'backoff',
  detail: {
    lastClose: { code: 1008, reason: 'token invalid' },
    lastError: LEAKY_ERROR,
    attempts: 4,
  },
};
const parked: NotifyEvent = {
  type: 'endpoint.parked',
  endpoint: 'living-room',
  since: T0,
  at: T0 + 300_000,
  detail: { lastClose: { code: 1006, reason: '' }, attempts: 8 },
};
const recovered: NotifyEvent = {
  type: 'endpoint.recovered',
  endpoint: 'living-room',
  downSince: T0,
  at: T0 + 130_000,
  state: 'ready',
};
const crashloop: NotifyEvent = {
  type: 'server.crashloop',
  server: 'calc',
  restarts: 6,
  lastError: 'exited with code 1',
  at: T0,
};
const events = [down, parked, recovered, crashloop];

/** The text a person reads, whatever the service. */
function readable(kind: (typeof CHANNEL_KINDS)[number], event: NotifyEvent): string {
  const { headers, body } = formatMessage(kind, event);
  if (kind === 'ntfy') return `${headers.title}\n${body}`;
  const json = JSON.parse(body) as {
    text?: string | { content: string };
    content?: string | { text: string };
  };
  const found =
    kind === 'feishu' || kind === 'discord'
      ? typeof json.content === 'string'
        ? json.content
        : json.content?.text
      : typeof json.text === 'string'
        ? json.text
        : json.text?.content;
  return found ?? '';
}

describe('each service gets its documented shape', () => {
  it('generic: {event, endpoint|server, at, state, detail, text}', () => {
    expect(JSON.parse(formatMessage('generic', down).body)).toEqual({
      event: 'endpoint.down',
      endpoint: 'living-room',
      at: '2025-11-14T10:03:06.000Z',
      state: 'backoff',
      detail: {
        since: '2025-11-14T10:02:31.000Z',
        lastClose: { code: 1008, reason: 'token invalid' },
        lastError: 'Unexpected server response: 401 from api.xiaozhi.me',
        attempts: 4,
      },
      text: expect.any(String) as unknown,
    });
    expect(JSON.parse(formatMessage('generic', recovered).body)).toMatchObject({
      event: 'endpoint.recovered',
      endpoint: 'living-room',
      state: 'ready',
      detail: { downSince: '2025-11-14T10:02:31.000Z', outageMs: 130_000 },
    });
    expect(JSON.parse(formatMessage('generic', crashloop).body)).toMatchObject({
      event: 'server.crashloop',
      server: 'calc',
      state: 'failed',
      detail: { restarts: 6, lastError: 'exited with code 1' },
    });
    expect(formatMessage('generic', down).headers['content-type']).toMatch(/^application\/json/);
  });

  it('feishu: {msg_type: "text", content: {text}}', () => {
    expect(JSON.parse(formatMessage('feishu', down).body)).toEqual({
      msg_type: 'text',
      content: { text: expect.stringContaining('living-room') as unknown },
    });
  });

  it('feishu with a secret: timestamp (seconds) and sign in the body, verifiable', () => {
    const secret = 'feishu-secret';
    const now = T0 + 1_234;
    const body = JSON.parse(formatMessage('feishu', down, { secret, now }).body) as Record<
      string,
      string
    >;
    expect(body.timestamp).toBe(String(Math.floor(now / 1000)));
    const expected = createHmac('sha256', `${body.timestamp}\n${secret}`)
      .update('')
      .digest('base64');
    expect(body.sign).toBe(expected);
    expect(body.msg_type).toBe('text');
  });

  it('dingtalk: {msgtype: "text", text: {content}}, signed in the URL when there is a secret', () => {
    expect(JSON.parse(formatMessage('dingtalk', down).body)).toEqual({
      msgtype: 'text',
      text: { content: expect.stringContaining('living-room') as unknown },
    });
    const url = 'https://oapi.dingtalk.com/robot/send?access_token=abc';
    expect(formatMessage('dingtalk', down, { url }).url).toBe(url);
    const signed = new URL(formatMessage('dingtalk', down, { url, secret: 'SECx', now: T0 }).url!);
    expect(signed.searchParams.get('access_token')).toBe('abc');
    expect(signed.searchParams.get('timestamp')).toBe(String(T0));
    expect(signed.searchParams.get('sign')).toBe(
      createHmac('sha256', 'SECx').update(`${T0}\nSECx`).digest('base64'),
    );
  });

  it('wecom: {msgtype: "text", text: {content}} within 2048 bytes', () => {
    const body = JSON.parse(formatMessage('wecom', down).body) as { text: { content: string } };
    expect(body).toEqual({ msgtype: 'text', text: { content: expect.any(String) as unknown } });
    const long: NotifyEvent = { ...crashloop, server: '很长的名字'.repeat(200) };
    const content = (JSON.parse(formatMessage('wecom', long).body) as typeof body).text.content;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(2048);
  });

  it('slack: {text} in mrkdwn with &, < and > escaped', () => {
    const event: NotifyEvent = { ...crashloop, server: '<!channel> & co' };
    const body = JSON.parse(formatMessage('slack', event).body) as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toContain('*Tether: MCP server "&lt;!channel&gt; &amp; co" keeps crashing*');
    expect(body.text).not.toContain('<!channel>');
  });

  it('discord: {content, allowed_mentions: {parse: []}} within 2000 characters', () => {
    const body = JSON.parse(formatMessage('discord', down).body) as Record<string, unknown>;
    expect(body).toEqual({
      content: expect.stringMatching(
        /^\*\*Tether: endpoint "living-room" is down\*\*\n/,
      ) as unknown,
      allowed_mentions: { parse: [] },
    });
    const long: NotifyEvent = { ...crashloop, server: 'x'.repeat(3000) };
    const content = (JSON.parse(formatMessage('discord', long).body) as { content: string })
      .content;
    expect([...content].length).toBeLessThanOrEqual(2000);
  });

  it('ntfy: text body; Title, Priority and Tags headers; ASCII title as is', () => {
    const { headers, body } = formatMessage('ntfy', recovered);
    expect(headers).toEqual({
      'content-type': 'text/plain; charset=utf-8',
      title: 'Tether: endpoint "living-room" is back',
      priority: 'default',
      tags: 'white_check_mark,tether',
    });
    expect(body).toContain('down for 2m 10s');
    expect(formatMessage('ntfy', parked).headers).toMatchObject({
      priority: 'high',
      tags: 'rotating_light,tether',
    });
  });
});

describe('what the messages say', () => {
  it.each(CHANNEL_KINDS)(
    '%s: names the endpoint, what happened, since when and the last close',
    (kind) => {
      const text = readable(kind, down);
      expect(text).toContain('living-room');
      expect(text).toContain('is down');
      expect(text).toContain('since 2025-11-14 10:02:31 UTC (35s)');
      expect(text).toMatch(/code 1008 \(policy violation, often a bad token\), "token invalid"/);
    },
  );

  it.each(CHANNEL_KINDS)('%s: a recovery says how long the outage lasted', (kind) => {
    expect(readable(kind, recovered)).toContain(
      'after being down for 2m 10s (since 2025-11-14 10:02:31 UTC)',
    );
  });

  it.each(CHANNEL_KINDS)('%s: parked and crash-loop messages say what happened', (kind) => {
    expect(readable(kind, parked)).toContain('is parked');
    expect(readable(kind, parked)).toContain('failed 8 attempts in a row');
    expect(readable(kind, crashloop)).toContain('calc');
    expect(readable(kind, crashloop)).toContain('failed 6 restarts in a row');
    expect(readable(kind, crashloop)).toContain('exited with code 1');
  });

  it.each(CHANNEL_KINDS)('%s: never carries an endpoint URL or token', (kind) => {
    for (const event of events) {
      const { headers, body } = formatMessage(kind, event);
      const all = JSON.stringify(headers) + body;
      expect(all).not.toContain('SECRETTOKEN');
      expect(all).not.toContain('wss://');
      expect(all).not.toContain('/mcp/');
    }
  });

  it('is pure: the same arguments give the same request', () => {
    for (const kind of CHANNEL_KINDS) {
      const options = { url: 'https://x.test/h?access_token=a', secret: 's', now: T0 };
      expect(formatMessage(kind, down, options)).toEqual(formatMessage(kind, down, options));
    }
  });
});

describe('retry timing values', () => {
  const policy = { attempts: 5, baseMs: 1_000, maxMs: 60_000 };

  it('doubles from baseMs up to maxMs, jittered within [d/2, d]', () => {
    expect([1, 2, 3, 4, 7, 8].map((n) => retryDelay(n, policy, () => 1))).toEqual([
      1_000, 2_000, 4_000, 8_000, 60_000, 60_000,
    ]);
    expect([1, 2, 3].map((n) => retryDelay(n, policy, () => 0))).toEqual([500, 1_000, 2_000]);
  });

  it('equals baseMs·2^(n−1) capped at maxMs, drawn in [d/2, d], for failures 1–10', () => {
    const draws = [0, 0.1, 0.25, 0.5, 0.618, 0.75, 0.9, 0.999_999, 0.3, 0.42];
    const delays = draws.map((r, i) => retryDelay(i + 1, policy, () => r));
    const formula = draws.map((r, i) => {
      const d = Math.min(policy.maxMs, policy.baseMs * 2 ** i);
      return Math.round(d / 2 + (r * d) / 2);
    });
    expect(delays).toEqual(formula);
  });

  it('a Retry-After wins, up to maxMs', () => {
    expect(retryDelay(1, policy, () => 1, 7_000)).toBe(7_000);
    expect(retryDelay(1, policy, () => 1, 3_600_000)).toBe(60_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2025, 10, 14, 10, 0, 0);
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
    expect(parseRetryAfter('Fri, 14 Nov 2025 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
