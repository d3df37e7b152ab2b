import type { EndpointDetail, NotifyEvent } from './types.js';

/** A notification in plain words: a one-line title and a few lines of body. */
export interface Words {
  title: string;
  lines: string[];
}

/**
 * What a person reads. Every message names the endpoint (or server), says what happened and
 * since when, and gives the last close or error Tether saw; a recovery says how long the
 * outage lasted. Every title starts with "Tether", so a DingTalk robot guarded by the keyword
 * "Tether" accepts it.
 */
export function wordsFor(event: NotifyEvent): Words {
  switch (event.type) {
    case 'endpoint.down':
      return {
        title: `Tether: endpoint "${event.endpoint}" is down`,
        lines: [
          `${event.endpoint} has not been connected since ${clockTime(event.since)} (${duration(event.at - event.since)}).`,
          ...cause(event.detail),
          'Tether keeps retrying; you will get one message when it is back.',
        ],
      };
    case 'endpoint.parked':
      return {
        title: `Tether: endpoint "${event.endpoint}" is parked`,
        lines: [
          `${event.endpoint} has been down since ${clockTime(event.since)} (${duration(event.at - event.since)})` +
            `${attempts(event.detail)}, so Tether stopped retrying quickly and only probes it now and then.`,
          ...cause(event.detail),
          'If the cause is on your side (a wrong or replaced token), fix it and press Retry on the dashboard.',
        ],
      };
    case 'endpoint.recovered':
      return {
        title: `Tether: endpoint "${event.endpoint}" is back`,
        lines: [
          `${event.endpoint} is connected again since ${clockTime(event.at)}, ` +
            `after being down for ${duration(event.at - event.downSince)} (since ${clockTime(event.downSince)}).`,
        ],
      };
    case 'server.crashloop':
      return {
        title: `Tether: MCP server "${event.server}" keeps crashing`,
        lines: [
          `${event.server} has failed ${event.restarts} restarts in a row as of ${clockTime(event.at)}; ` +
            'its tools are unavailable and Tether now restarts it only slowly.',
          ...(event.lastError ? [`Last error: ${scrub(event.lastError)}`] : []),
          'You will not hear about it again until it has been up again.',
        ],
      };
  }
}

/** Title and body as one text, for services that take a single string. */
export function plainText(words: Words): string {
  return [words.title, ...words.lines].join('\n');
}

function attempts(detail: EndpointDetail): string {
  return detail.attempts ? ` and failed ${detail.attempts} attempts in a row` : '';
}

function cause(detail: EndpointDetail): string[] {
  const out: string[] = [];
  if (detail.lastClose) {
    const { code, reason } = detail.lastClose;
    const meaning = CLOSE_MEANINGS[code];
    const said = reason ? `"${scrub(reason)}"` : 'no reason given';
    out.push(`Last close: code ${code}${meaning ? ` (${meaning})` : ''}, ${said}.`);
  }
  if (detail.lastError) out.push(`Last error: ${scrub(detail.lastError)}`);
  return out;
}

/** The close codes people actually meet on a Xiaozhi endpoint, in words. */
const CLOSE_MEANINGS: Record<number, string> = {
  1000: 'normal close',
  1001: 'going away',
  1006: 'connection lost without a close frame',
  1008: 'policy violation, often a bad token',
  1011: 'server error',
  1012: 'server restarting',
  1013: 'try again later',
};

const MAX_DETAIL = 300;

/**
 * Error text can carry the endpoint URL, and the URL carries the token: every URL is cut down
 * to its host and anything shaped like `token=…` is masked. Long text is shortened.
 */
export function scrub(text: string): string {
  const cleaned = text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => {
      try {
        return new URL(url).host || '<url>';
      } catch {
        return '<url>';
      }
    })
    .replace(
      /\b(token|access_token|key|secret|password|sign|auth)=[^&\s'"]+/gi,
      (_m, k: string) => `${k}=***`,
    )
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > MAX_DETAIL ? `${cleaned.slice(0, MAX_DETAIL - 1)}…` : cleaned;
}

/** "2025-11-14 10:02:31 UTC": unambiguous wherever the reader is. */
export function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "45s", "2m 5s", "3h 12m", "2d 4h": two units at most. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}
