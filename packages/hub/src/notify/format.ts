import { dingtalkSignedUrl, feishuSignature } from './sign.js';
import { plainText, scrub, wordsFor } from './text.js';
import type { Words } from './text.js';
import type { ChannelKind, EndpointDetail, FormattedMessage, NotifyEvent } from './types.js';

export interface FormatOptions {
  /** The channel URL; when given, the result's `url` is where to post (signed for DingTalk). */
  url?: string;
  secret?: string;
  /** Signing time; defaults to the event's time. */
  now?: number;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

type Formatter = (event: NotifyEvent, words: Words, options: FormatOptions) => FormattedMessage;

/**
 * One entry per service, each the documented minimal shape of a plain text message:
 *
 *   generic   {event, endpoint|server, at, state, detail, text}
 *   feishu    {msg_type: "text", content: {text}}         (+ timestamp, sign when signed)
 *   dingtalk  {msgtype: "text", text: {content}}          (signed via the URL's query)
 *   wecom     {msgtype: "text", text: {content}}          (content ≤ 2048 bytes)
 *   slack     {text}                                      (mrkdwn; & < > escaped)
 *   discord   {content, allowed_mentions: {parse: []}}    (content ≤ 2000 characters)
 *   ntfy      text body; Title, Priority and Tags headers
 */
const FORMATTERS: Record<ChannelKind, Formatter> = {
  generic: (event, words) => json(genericBody(event, plainText(words))),

  feishu: (event, words, { secret, now }) => {
    const signature = secret ? feishuSignature(secret, now ?? event.at) : {};
    return json({ ...signature, msg_type: 'text', content: { text: plainText(words) } });
  },

  dingtalk: (event, words, { url, secret, now }) => ({
    ...json({ msgtype: 'text', text: { content: plainText(words) } }),
    ...(url !== undefined && secret
      ? { url: dingtalkSignedUrl(url, secret, now ?? event.at) }
      : {}),
  }),

  wecom: (_event, words) =>
    json({ msgtype: 'text', text: { content: cutBytes(plainText(words), 2048) } }),

  slack: (_event, words) =>
    json({ text: [`*${slackEscape(words.title)}*`, ...words.lines.map(slackEscape)].join('\n') }),

  // Names and errors could hold "@everyone"; allowed_mentions keeps a notice from pinging.
  discord: (_event, words) =>
    json({
      content: cutChars([`**${words.title}**`, ...words.lines].join('\n'), 2000),
      allowed_mentions: { parse: [] },
    }),

  ntfy: (event, words) => ({
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      title: headerText(words.title),
      priority: event.type === 'endpoint.recovered' ? 'default' : 'high',
      tags: NTFY_TAGS[event.type],
    },
    body: words.lines.join('\n'),
  }),
};

/** ntfy shows a tag that names an emoji as that emoji. */
const NTFY_TAGS: Record<NotifyEvent['type'], string> = {
  'endpoint.down': 'warning,tether',
  'endpoint.parked': 'rotating_light,tether',
  'endpoint.recovered': 'white_check_mark,tether',
  'server.crashloop': 'boom,tether',
};

/**
 * The request for one event on one kind of channel. Pure: the same arguments give the same
 * request, so signing takes its time from `options.now`, never from a clock.
 */
export function formatMessage(
  kind: ChannelKind,
  event: NotifyEvent,
  options: FormatOptions = {},
): FormattedMessage {
  const message = FORMATTERS[kind](event, wordsFor(event), options);
  return message.url === undefined && options.url !== undefined
    ? { ...message, url: options.url }
    : message;
}

function json(body: unknown): FormattedMessage {
  return { headers: { ...JSON_TYPE }, body: JSON.stringify(body) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function genericBody(event: NotifyEvent, text: string): Record<string, unknown> {
  const common = { event: event.type, at: iso(event.at) };
  switch (event.type) {
    case 'endpoint.down':
    case 'endpoint.parked':
      return {
        ...common,
        endpoint: event.endpoint,
        state: event.type === 'endpoint.down' ? event.state : 'parked',
        detail: { since: iso(event.since), ...scrubbed(event.detail) },
        text,
      };
    case 'endpoint.recovered':
      return {
        ...common,
        endpoint: event.endpoint,
        state: event.state,
        detail: { downSince: iso(event.downSince), outageMs: event.at - event.downSince },
        text,
      };
    case 'server.crashloop':
      return {
        ...common,
        server: event.server,
        state: 'failed',
        detail: {
          restarts: event.restarts,
          ...(event.lastError !== undefined && { lastError: scrub(event.lastError) }),
        },
        text,
      };
  }
}

function scrubbed(detail: EndpointDetail): EndpointDetail {
  return {
    ...(detail.lastClose && {
      lastClose: { code: detail.lastClose.code, reason: scrub(detail.lastClose.reason) },
    }),
    ...(detail.lastError !== undefined && { lastError: scrub(detail.lastError) }),
    ...(detail.attempts !== undefined && { attempts: detail.attempts }),
  };
}

function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * HTTP header values are bytes, and fetch refuses anything past Latin-1 (a Chinese endpoint
 * name, say). ntfy decodes RFC 2047 encoded-words, so non-ASCII titles travel that way.
 */
function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text)
    ? text
    : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function cutChars(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function cutBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  let out = '';
  let used = Buffer.byteLength('…', 'utf8');
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > max) break;
    out += ch;
    used += size;
  }
  return `${out}…`;
}
