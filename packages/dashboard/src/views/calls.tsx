import type { ToolView } from '@tether/protocol';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { callDoor, repairLine } from '../call-meta.js';
import { useI18n } from '../context.js';
import type { Roster } from '../fleet.js';
import { formatBytes, formatMs } from '../format.js';
import type { HubAction, HubState } from '../state.js';
import { StateBadge, clock, dateTime, errorText } from '../ui.js';

const PAGE = 25;

/**
 * The tool-call log, newest first. New calls arrive over SSE (the reducer prepends those that
 * match the filter); older ones are paged in with "load more".
 */
export function CallsSection(props: {
  calls: HubState['calls'];
  /** Ids and names only: a state change does not touch the picker's (maybe 10,000) options. */
  roster: Roster;
  tools: ToolView[];
  syncStamp: number;
  dispatch: (action: HubAction) => void;
}) {
  const { t, lang } = useI18n();
  const { calls, dispatch } = props;
  const { filter } = calls;
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  useEffect(() => {
    let alive = true;
    api.calls({ ...filter, before: null, limit: PAGE }).then(
      (page) => {
        if (!alive) return;
        dispatch({ type: 'calls-loaded', filter, page, append: false });
        setError(null);
      },
      (failure: unknown) => alive && setError(errorText(failure, t)),
    );
    return () => {
      alive = false;
    };
  }, [filter, props.syncStamp, dispatch, t]);

  const loadMore = async () => {
    if (calls.next === null) return;
    setLoadingMore(true);
    try {
      const page = await api.calls({ ...filter, before: calls.next, limit: PAGE });
      dispatch({ type: 'calls-loaded', filter, page, append: true });
    } catch (failure) {
      setError(errorText(failure, t));
    } finally {
      setLoadingMore(false);
    }
  };

  const { roster } = props;
  const endpointNames = useMemo(() => new Map(roster.map((e) => [e.id, e.name])), [roster]);
  const endpointOptions = useMemo(
    () => (
      <>
        {roster.map((e) => (
          <option key={e.id} value={e.id}>
            {e.name}
          </option>
        ))}
      </>
    ),
    [roster],
  );
  // Up to CALLS_KEPT rows: rebuilt when the log or the language changes, not for every
  // endpoint event that re-renders the page.
  const rows = useMemo(
    () => (
      <>
        {calls.items.map((call) => (
          <tr key={call.key} data-testid="call-row">
            <td data-label={t('calls.at')}>
              <time dateTime={call.at} title={dateTime(call.at, lang)} class="mono small">
                {clock(call.at, lang)}
              </time>
            </td>
            <td data-label={t('calls.endpoint')}>
              {call.endpointId === null ? (
                <span class="muted" data-testid="call-door">
                  {callDoor(call, t)}
                </span>
              ) : (
                (endpointNames.get(call.endpointId) ?? call.endpointId)
              )}
            </td>
            <td data-label={t('calls.tool')} class="wrap">
              <span class="mono">{call.tool}</span>
              {call.meta?.via === 'router' && (
                <div class="small muted" data-testid="call-router">
                  {t('calls.viaRouter')}
                  {call.meta.query && <> · {t('calls.routerQuery', { query: call.meta.query })}</>}
                  {call.meta.found && (
                    <>
                      {' → '}
                      <span class="mono">
                        {call.meta.found.length > 0
                          ? call.meta.found.join(', ')
                          : t('calls.routerNone')}
                      </span>
                    </>
                  )}
                </div>
              )}
              {call.meta?.repairs && call.meta.repairs.length > 0 && (
                <details class="small" data-testid="call-repairs">
                  <summary>{t('calls.repaired', { n: call.meta.repairs.length })}</summary>
                  <ul class="plain mono">
                    {call.meta.repairs.map((r, i) => (
                      <li key={i}>{repairLine(r)}</li>
                    ))}
                    {call.meta.repairsOmitted ? (
                      <li>{t('calls.repairedMore', { n: call.meta.repairsOmitted })}</li>
                    ) : null}
                  </ul>
                </details>
              )}
            </td>
            <td data-label={t('calls.outcome')}>
              <StateBadge state={call.outcome} describe={`outcome.${call.outcome}`} />
              {call.error && <div class="small error-text wrap">{call.error}</div>}
            </td>
            <td data-label={t('calls.duration')} class="num mono">
              {formatMs(call.durationMs, t)}
            </td>
            <td data-label={t('calls.size')} class="num small">
              {formatBytes(call.argsBytes)} → {formatBytes(call.resultBytes)}
            </td>
          </tr>
        ))}
      </>
    ),
    [calls.items, endpointNames, t, lang],
  );
  return (
    <section id="calls" class="panel" aria-labelledby="calls-title">
      <header class="panel-head">
        <h2 id="calls-title">{t('calls.title')}</h2>
        <div class="filters">
          <div class="inline-field">
            <label for="calls-endpoint">{t('calls.endpoint')}</label>
            <select
              id="calls-endpoint"
              data-testid="calls-endpoint"
              value={filter.endpoint}
              onChange={(e) =>
                dispatch({
                  type: 'calls-filter',
                  filter: { ...filter, endpoint: e.currentTarget.value },
                })
              }
            >
              <option value="">{t('calls.any')}</option>
              {endpointOptions}
            </select>
          </div>
          <div class="inline-field">
            <label for="calls-tool">{t('calls.tool')}</label>
            <select
              id="calls-tool"
              data-testid="calls-tool"
              value={filter.tool}
              onChange={(e) =>
                dispatch({
                  type: 'calls-filter',
                  filter: { ...filter, tool: e.currentTarget.value },
                })
              }
            >
              <option value="">{t('calls.any')}</option>
              {props.tools.map((tool) => (
                <option key={tool.name} value={tool.name}>
                  {tool.name}
                </option>
              ))}
            </select>
          </div>
        </div>
      </header>
      {error && <p class="error-text">{error}</p>}
      {!calls.loaded && !error ? (
        <p class="muted">{t('loading')}</p>
      ) : calls.loaded && calls.items.length === 0 ? (
        <p class="empty">{t('calls.empty')}</p>
      ) : (
        <table class="table stack" data-testid="calls-table">
          <thead>
            <tr>
              <th scope="col">{t('calls.at')}</th>
              <th scope="col">{t('calls.endpoint')}</th>
              <th scope="col">{t('calls.tool')}</th>
              <th scope="col">{t('calls.outcome')}</th>
              <th scope="col" class="num">
                {t('calls.duration')}
              </th>
              <th scope="col" class="num">
                {t('calls.size')}
              </th>
            </tr>
          </thead>
          <tbody>{rows}</tbody>
        </table>
      )}
      {calls.next !== null && (
        <button
          type="button"
          class="more"
          data-testid="calls-more"
          disabled={loadingMore}
          onClick={() => void loadMore()}
        >
          {loadingMore ? t('loading') : t('action.loadMore')}
        </button>
      )}
    </section>
  );
}
