import type { Lang, MessageKey, Translate } from './i18n.js';

/**
 * A duration as a person reads it at a glance: the two largest units ("2h 5m", "45s"), each
 * language through its own templates. `ceil` suits countdowns, which must not say 0 too early.
 */
export function formatDuration(
  ms: number,
  t: Translate,
  round: 'floor' | 'ceil' = 'floor',
): string {
  const total = Math.max(0, Math[round](ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return h > 0 ? t('duration.dh', { d, h }) : t('duration.d', { d });
  if (h > 0) return m > 0 ? t('duration.hm', { h, m }) : t('duration.h', { h });
  if (m > 0) return s > 0 ? t('duration.ms', { m, s }) : t('duration.m', { m });
  return t('duration.s', { s });
}

/** A short measured time: "142 ms", "1.25 s", "12.4 s", then as a duration. */
export function formatMs(ms: number, t: Translate): string {
  if (ms < 1000) return t('duration.millis', { n: Math.round(ms) });
  if (ms < 10_000) return t('duration.seconds', { n: (ms / 1000).toFixed(2) });
  if (ms < 60_000) return t('duration.seconds', { n: (ms / 1000).toFixed(1) });
  return formatDuration(ms, t);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const counters = new Map<Lang, Intl.NumberFormat>();

/** A count with the language's digit grouping: "9,870". */
export function formatCount(n: number, lang: Lang): string {
  let format = counters.get(lang);
  if (!format) counters.set(lang, (format = new Intl.NumberFormat(lang)));
  return format.format(n);
}

/** 0–1 as a percentage with one decimal, without a trailing ".0". */
export function formatPercent(share: number): string {
  const value = Math.round(share * 1000) / 10;
  return `${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)}%`;
}

const CLOSE_CODES = new Set([
  1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013,
]);

/** What a WebSocket close code means, as a dictionary key; null when it means nothing known. */
export function closeCodeKey(code: number): MessageKey | null {
  if (CLOSE_CODES.has(code)) return `close.${code}` as MessageKey;
  if (code >= 4000 && code <= 4999) return 'close.app';
  return null;
}

/** Health score bands, shared by the colour of the bar and its label. */
export function healthLevel(score: number | null): 'good' | 'fair' | 'poor' | 'none' {
  if (score === null) return 'none';
  if (score >= 80) return 'good';
  if (score >= 50) return 'fair';
  return 'poor';
}
