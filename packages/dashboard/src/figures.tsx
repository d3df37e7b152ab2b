import type { ToolStats, ToolStatsItem, Uptime, UptimeBucket, UptimeCause } from '@tether/protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { useI18n } from './context.js';
import { closeCodeKey, formatCount, formatDuration, formatMs, formatPercent } from './format.js';
import type { Lang, Translate } from './i18n.js';
import { Refresher } from './refresh.js';
import { Since, errorText } from './ui.js';

/**
 * The pictures: an endpoint's uptime strip with its losses by cause, and a tool's last day in
 * figures. The hub computes both (GET /api/endpoints/:id/uptime, GET /api/tools/stats; the
 * levels are defined in the hub's monitor/uptime.ts); this file only fetches and draws them.
 */

export const UPTIME_HOURS = 24;
/** Quarter hours on a wide screen; half hours on a phone, so a bar stays wider than a line. */
const BUCKETS_WIDE = 96;
const BUCKETS_NARROW = 48;
const NARROW = '(max-width: 600px)';
/** Refetch no more often than this, however often the state moves (a flapping endpoint). */
const UPTIME_SPACING_MS = 5_000;
const UPTIME_EVERY_MS = 60_000;
const STATS_SPACING_MS = 10_000;
const STATS_EVERY_MS = 60_000;

function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(() => matchMedia(NARROW).matches);
  useEffect(() => {
    const query = matchMedia(NARROW);
    const change = () => setNarrow(query.matches);
    query.addEventListener('change', change);
    return () => query.removeEventListener('change', change);
  }, []);
  return narrow;
}

/**
 * Loads `load()` while the view is shown: again when `stamps` move (at most once per
 * `spacingMs`) and every `everyMs`, one request at a time, never a request per event; nothing
 * while the page is hidden. A change of `key` (what is shown) fetches at once, and an answer
 * for another key is never returned. The loop (refresh.ts) lives as long as the component, so
 * a call event arriving while a request is on its way does not discard its answer.
 */
function useThrottled<T>(
  load: () => Promise<T>,
  key: string,
  stamps: unknown[],
  spacingMs: number,
  everyMs: number,
): { data: T | null; error: unknown } {
  const [state, setState] = useState<{ key: string; data: T | null; error: unknown }>({
    key,
    data: null,
    error: null,
  });
  const loader = useRef(load);
  loader.current = load;
  const keyRef = useRef(key);
  keyRef.current = key;
  const refresher = useRef<Refresher<{ asked: string; data: T }> | null>(null);
  useEffect(() => {
    const loop = new Refresher<{ asked: string; data: T }>({
      load: () => {
        const asked = keyRef.current;
        return loader.current().then((data) => ({ asked, data }));
      },
      onAnswer: (answer) =>
        setState((shown) =>
          'error' in answer
            ? { ...shown, error: answer.error }
            : { key: answer.data.asked, data: answer.data.data, error: null },
        ),
      spacingMs,
      everyMs,
    });
    refresher.current = loop;
    const seen = () => loop.visibility();
    document.addEventListener('visibilitychange', seen);
    loop.start();
    return () => {
      document.removeEventListener('visibilitychange', seen);
      loop.stop();
      refresher.current = null;
    };
  }, [spacingMs, everyMs]);
  // Mounting already fetched: these follow changes after it.
  const asked = useRef(key);
  useEffect(() => {
    if (asked.current === key) return;
    asked.current = key;
    refresher.current?.restart();
  }, [key]);
  const mounted = useRef(false);
  useEffect(() => {
    if (mounted.current) refresher.current?.poke();
    mounted.current = true;
    // The caller names what a reload follows; `load` itself is read through the ref.
  }, stamps);
  return state.key === key ? state : { data: null, error: state.error };
}

const timeFormats = new Map<Lang, Intl.DateTimeFormat>();
function hhmm(iso: string, lang: Lang): string {
  let format = timeFormats.get(lang);
  if (!format)
    timeFormats.set(
      lang,
      (format = new Intl.DateTimeFormat(lang, {
        hour: '2-digit',
        minute: '2-digit',
        hour12: false,
      })),
    );
  return format.format(new Date(iso));
}

/** "heartbeat", "close 1006": the link's own words, as the timeline shows them. */
export function causeLabel(cause: UptimeCause): string {
  return cause.code === null ? cause.cause : `${cause.cause} ${cause.code}`;
}

const PARTS = ['down', 'degraded', 'ready', 'disabled', 'unknown'] as const;

function bucketText(b: UptimeBucket, t: Translate, lang: Lang): string {
  const parts = PARTS.map((part) => [part, b[`${part}Ms`]] as const)
    .filter(([, ms]) => ms >= 1000)
    .map(([part, ms]) => t(`uptime.part.${part}`, { d: formatDuration(ms, t) }));
  const causes = b.causes.map((c) => `${causeLabel(c)} ×${c.count}`).join(', ');
  return [
    `${hhmm(b.start, lang)}–${hhmm(b.end, lang)} · ${t(`uptime.level.${b.level}`)}`,
    parts.join(', '),
    b.reconnects > 0 ? t('uptime.losses', { n: b.reconnects, causes }) : t('uptime.noLosses'),
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The endpoint's last day, for the detail panel: the strip, then the losses by cause. */
export function EndpointUptime(props: { endpointId: string; state: string; syncStamp: number }) {
  const { t } = useI18n();
  const narrow = useNarrow();
  const buckets = narrow ? BUCKETS_NARROW : BUCKETS_WIDE;
  const { data, error } = useThrottled(
    () => api.uptime(props.endpointId, UPTIME_HOURS, buckets),
    `${props.endpointId} ${buckets}`,
    [props.state, props.syncStamp],
    UPTIME_SPACING_MS,
    UPTIME_EVERY_MS,
  );
  // A fetch for the other width may still be on its way: draw only what was asked.
  const shown = data && data.buckets.length === buckets ? data : null;
  return (
    <>
      <h3>{t('uptime.title', { hours: UPTIME_HOURS })}</h3>
      {error !== null && !shown ? (
        <p class="error-text">{errorText(error, t)}</p>
      ) : !shown ? (
        <p class="muted">{t('loading')}</p>
      ) : (
        <>
          <UptimeStrip uptime={shown} />
          <h3>{t('uptime.causes')}</h3>
          <CauseBreakdown causes={shown.causes} />
        </>
      )}
    </>
  );
}

export function UptimeStrip(props: { uptime: Uptime }) {
  const { t, lang } = useI18n();
  const { uptime } = props;
  const [active, setActive] = useState<number | null>(null);
  const count = (level: string) => uptime.buckets.filter((b) => b.level === level).length;
  const summary =
    uptime.totals.uptime === null
      ? t('uptime.summaryNone', { hours: UPTIME_HOURS })
      : t('uptime.summary', {
          hours: UPTIME_HOURS,
          uptime: formatPercent(uptime.totals.uptime),
          down: count('down'),
          degraded: count('degraded'),
          losses: uptime.totals.reconnects,
        });
  const detail = active === null ? null : uptime.buckets[active];
  const last = uptime.buckets.length - 1;
  const onKey = (event: KeyboardEvent) => {
    const moves: Record<string, (i: number) => number> = {
      ArrowLeft: (i) => Math.max(0, i - 1),
      ArrowRight: (i) => Math.min(last, i + 1),
      Home: () => 0,
      End: () => last,
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    setActive((i) => move(i ?? last));
  };
  return (
    <div class="uptime" data-testid="uptime">
      <div
        class="uptime-strip"
        role="img"
        tabIndex={0}
        aria-label={summary}
        aria-describedby="uptime-detail"
        data-testid="uptime-strip"
        onKeyDown={onKey}
        onFocus={() => setActive((i) => i ?? last)}
        onBlur={() => setActive(null)}
        onMouseLeave={() => setActive(null)}
      >
        {uptime.buckets.map((b, i) => (
          <span
            key={b.start}
            class={i === active ? 'uptime-bar active' : 'uptime-bar'}
            data-level={b.level}
            data-start={b.start}
            data-testid="uptime-bucket"
            title={bucketText(b, t, lang)}
            onMouseEnter={() => setActive(i)}
          />
        ))}
      </div>
      <div class="uptime-axis small muted" aria-hidden="true">
        <span>{t('uptime.ago', { hours: UPTIME_HOURS })}</span>
        <span>{t('uptime.now')}</span>
      </div>
      <p
        class="small uptime-detail"
        id="uptime-detail"
        data-testid="uptime-detail"
        aria-live="polite"
      >
        {detail ? bucketText(detail, t, lang) : summary}
      </p>
      <ul class="uptime-legend small muted" aria-hidden="true">
        {(['ready', 'degraded', 'down', 'disabled'] as const).map((level) => (
          <li key={level}>
            <span class="uptime-swatch" data-level={level} />
            {t(`uptime.level.${level}`)}
          </li>
        ))}
      </ul>
      {uptime.truncated && <p class="small muted">{t('uptime.truncated')}</p>}
      <p class="small muted">
        {t('uptime.hint', { grace: formatDuration(uptime.downAfterMs, t) })}
      </p>
    </div>
  );
}

export function CauseBreakdown(props: { causes: UptimeCause[] }) {
  const { t } = useI18n();
  if (props.causes.length === 0) return <p class="empty">{t('uptime.causesNone')}</p>;
  const most = Math.max(...props.causes.map((c) => c.count));
  return (
    <ul class="causes" data-testid="uptime-causes">
      {props.causes.map((c) => {
        const meaning = c.code === null ? null : closeCodeKey(c.code);
        return (
          <li key={`${c.cause} ${c.code} ${c.detectedBy}`} data-cause={c.cause}>
            <span class="cause-label">
              <span class="mono">{causeLabel(c)}</span>
              {meaning && <span class="small"> {t(meaning)}</span>}
              {c.detectedBy && c.detectedBy !== c.cause && (
                <span class="small muted"> · {t('timeline.detectedBy', { by: c.detectedBy })}</span>
              )}
            </span>
            <span class="cause-bar" aria-hidden="true">
              <span style={{ width: `${(c.count / most) * 100}%` }} />
            </span>
            <span class="cause-count" data-testid={`cause-count-${c.cause}`}>
              {c.count}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

/** The per-tool figures for the tools panel, loaded once per view and on new calls (throttled). */
export function useToolStats(toolsStamp: number, callStamp: number) {
  const { data, error } = useThrottled<ToolStats>(
    () => api.toolStats(UPTIME_HOURS),
    'tools',
    [toolsStamp, callStamp],
    STATS_SPACING_MS,
    STATS_EVERY_MS,
  );
  const byName = new Map((data?.tools ?? []).map((tool) => [tool.name, tool]));
  return { byName, error };
}

export function ToolFigures(props: { stats: ToolStatsItem | undefined }) {
  const { t, lang } = useI18n();
  const s = props.stats;
  if (!s) return null;
  const id = s.name;
  // Read from the hourly histogram, not the logged durations: say so, and why on hover.
  const approx = s.latency === 'estimated' ? '≈' : '';
  const estimated =
    s.latency === 'estimated'
      ? { title: t('toolStats.estimated'), 'data-latency': 'estimated' }
      : {};
  return (
    <div class="tool-figures" data-testid={`tool-figures-${id}`}>
      <Sparkline counts={s.perHour} />
      <dl class="figures small">
        <div>
          <dt>{t('toolStats.calls')}</dt>
          <dd data-testid={`tool-calls-${id}`}>{formatCount(s.calls, lang)}</dd>
        </div>
        <div>
          <dt>p50</dt>
          <dd data-testid={`tool-p50-${id}`} {...estimated}>
            {s.p50Ms === null ? t('none') : `${approx}${formatMs(s.p50Ms, t)}`}
          </dd>
        </div>
        <div>
          <dt>p95</dt>
          <dd data-testid={`tool-p95-${id}`} {...estimated}>
            {s.p95Ms === null ? t('none') : `${approx}${formatMs(s.p95Ms, t)}`}
          </dd>
        </div>
        <div>
          <dt>{t('toolStats.errors')}</dt>
          <dd data-testid={`tool-errors-${id}`} data-level={s.errors > 0 ? 'bad' : 'ok'}>
            {s.errorRate === null ? t('none') : formatPercent(s.errorRate)}
          </dd>
        </div>
        <div>
          <dt>{t('toolStats.usage')}</dt>
          <dd data-testid={`tool-usage-${id}`}>{formatCount(s.usageCount, lang)}</dd>
        </div>
        <div>
          <dt>{t('toolStats.lastUsed')}</dt>
          <dd data-testid={`tool-last-${id}`}>
            {s.lastUsedAt === null ? (
              t('toolStats.never')
            ) : (
              <Since at={s.lastUsedAt} template="ago" />
            )}
          </dd>
        </div>
      </dl>
    </div>
  );
}

/** Calls per hour as bars, oldest first; the label says what the picture shows. */
function Sparkline(props: { counts: number[] }) {
  const { t, lang } = useI18n();
  const peak = Math.max(0, ...props.counts);
  const total = props.counts.reduce((a, b) => a + b, 0);
  return (
    <span
      class="sparkline"
      role="img"
      aria-label={t('toolStats.perHour', {
        hours: props.counts.length,
        total: formatCount(total, lang),
        peak: formatCount(peak, lang),
      })}
      title={t('toolStats.perHour', {
        hours: props.counts.length,
        total: formatCount(total, lang),
        peak: formatCount(peak, lang),
      })}
    >
      {props.counts.map((n, i) => (
        <span
          key={i}
          class={n > 0 ? 'spark on' : 'spark'}
          style={{ height: `${peak > 0 ? Math.max(8, (n / peak) * 100) : 8}%` }}
        />
      ))}
    </span>
  );
}
