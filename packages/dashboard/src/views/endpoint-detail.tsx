import type { EndpointView, Health, TimelineItem } from '@tether/protocol';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { EndpointUptime } from '../figures.js';
import { closeCodeKey, formatDuration, formatMs, formatPercent } from '../format.js';
import { appendOlder, mergeNewest } from '../state.js';
import { HealthBar, StateBadge, clock, dateTime, errorText } from '../ui.js';

const PAGE = 20;
const HEALTH_EVERY_MS = 30_000;

/**
 * The selected endpoint's health and timeline. Mounted with the endpoint id as its key, so a
 * new selection starts clean. The first page reloads whenever the endpoint's state moves.
 */
export function EndpointDetail(props: { endpoint: EndpointView; syncStamp: number }) {
  const { t, lang } = useI18n();
  const e = props.endpoint;
  const [health, setHealth] = useState<Health | null>(null);
  const [healthError, setHealthError] = useState<string | null>(null);
  const [timeline, setTimeline] = useState({
    items: [] as TimelineItem[],
    next: null as number | null,
    loaded: false,
  });
  const [timelineError, setTimelineError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  useEffect(() => {
    let alive = true;
    // A burst of transitions becomes one request.
    const timer = setTimeout(() => {
      api.timeline(e.id, null, PAGE).then(
        (page) => {
          if (!alive) return;
          setTimeline((shown) => mergeNewest(shown, page));
          setTimelineError(null);
        },
        (error: unknown) => alive && setTimelineError(errorText(error, t)),
      );
    }, 150);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [e.id, e.state, e.since, props.syncStamp, t]);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api.health(e.id).then(
        (parts) => {
          if (!alive) return;
          setHealth(parts);
          setHealthError(null);
        },
        (error: unknown) => alive && setHealthError(errorText(error, t)),
      );
    void load();
    const timer = setInterval(load, HEALTH_EVERY_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [e.id, e.state, props.syncStamp, t]);

  const loadMore = async () => {
    if (timeline.next === null) return;
    setLoadingMore(true);
    try {
      const page = await api.timeline(e.id, timeline.next, PAGE);
      setTimeline((shown) => appendOlder(shown, page));
    } catch (error) {
      setTimelineError(errorText(error, t));
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <section id="detail" class="panel" aria-labelledby="detail-title" data-testid="endpoint-detail">
      <header class="panel-head">
        <h2 id="detail-title">
          {t('detail.title')} <span class="mono">{e.name}</span>
        </h2>
        <StateBadge state={e.state} describe={`state.${e.state}`} />
      </header>

      <h3>{t('detail.health')}</h3>
      {healthError ? (
        <p class="error-text">{healthError}</p>
      ) : !health ? (
        <p class="muted">{t('loading')}</p>
      ) : (
        <dl class="stats" data-testid="health">
          <div>
            <dt>{t('health.score')}</dt>
            <dd>
              <HealthBar score={health.score} />
            </dd>
          </div>
          <div>
            <dt>{t('health.uptime')}</dt>
            <dd>{formatPercent(health.uptime)}</dd>
          </div>
          <div>
            <dt>{t('health.flaps')}</dt>
            <dd>{health.flaps}</dd>
          </div>
          <div>
            <dt>{t('health.failures')}</dt>
            <dd>{health.failures}</dd>
          </div>
          <div>
            <dt>{t('health.handshake')}</dt>
            <dd>{health.handshakeMs === null ? t('none') : formatMs(health.handshakeMs, t)}</dd>
          </div>
          <div>
            <dt>{t('health.window')}</dt>
            <dd>{formatDuration(health.windowMs, t)}</dd>
          </div>
        </dl>
      )}

      <EndpointUptime endpointId={e.id} state={e.state} syncStamp={props.syncStamp} />

      <h3>{t('detail.timeline')}</h3>
      {timelineError && <p class="error-text">{timelineError}</p>}
      {!timeline.loaded && !timelineError ? (
        <p class="muted">{t('loading')}</p>
      ) : timeline.loaded && timeline.items.length === 0 ? (
        <p class="empty">{t('timeline.empty')}</p>
      ) : (
        <ol class="timeline" data-testid="timeline">
          {timeline.items.map((item) => (
            <TimelineEntry key={item.id} item={item} />
          ))}
        </ol>
      )}
      {timeline.next !== null && (
        <button
          type="button"
          class="more"
          data-testid="timeline-more"
          disabled={loadingMore}
          onClick={() => void loadMore()}
        >
          {loadingMore ? t('loading') : t('action.loadMore')}
        </button>
      )}
      <p class="small muted">
        {t('detail.owner', { owner: e.owner })} ·{' '}
        {t('detail.since', { at: dateTime(e.since, lang) })}
      </p>
    </section>
  );
}

function TimelineEntry({ item }: { item: TimelineItem }) {
  const { t, lang } = useI18n();
  const closeKey = item.code === null ? null : closeCodeKey(item.code);
  return (
    <li>
      <time dateTime={item.at} title={dateTime(item.at, lang)} class="mono small">
        {clock(item.at, lang)}
      </time>
      <span
        class="transition"
        aria-label={t('timeline.transition', { from: item.from, to: item.to })}
      >
        <StateBadge state={item.from} />
        <span aria-hidden="true">→</span>
        <StateBadge state={item.to} />
      </span>
      <span class="cause">{item.cause}</span>
      {item.code !== null && (
        <span class="small">
          <span class="mono">{item.code}</span>
          {closeKey && ` ${t(closeKey)}`}
        </span>
      )}
      {item.reason && <span class="small wrap">“{item.reason}”</span>}
      {item.detectedBy && (
        <span class="small muted">{t('timeline.detectedBy', { by: item.detectedBy })}</span>
      )}
    </li>
  );
}
