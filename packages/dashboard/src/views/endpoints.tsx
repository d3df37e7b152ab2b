import type { EndpointView, ServerView } from '@tether/protocol';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { countStates, filterEndpoints, pageOf } from '../fleet.js';
import type { EndpointFilter, PageSlice } from '../fleet.js';
import { closeCodeKey, formatCount } from '../format.js';
import { ConfirmDialog, Countdown, HealthBar, Since, StateBadge, useActions } from '../ui.js';
import { EndpointForm } from './endpoint-form.js';

/**
 * The endpoint list, a page at a time: with 10,000 endpoints only PAGE_SIZE rows are in the
 * page, whatever the fleet does. Above it, the whole fleet's counts by state (each one a filter)
 * and a text filter; the pager sits above and below the rows.
 */
export function EndpointsSection(props: {
  endpoints: EndpointView[];
  servers: ServerView[];
  loaded: boolean;
  selectedId: string | null;
  onSelect: (id: string) => void;
  onSaved: (endpoint: EndpointView) => void;
  onRemoved: (id: string) => void;
}) {
  const { t, lang } = useI18n();
  const actions = useActions();
  const [editing, setEditing] = useState<EndpointView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<EndpointView | null>(null);
  const [filter, setFilter] = useState<EndpointFilter>({ text: '', state: null });
  const [page, setPage] = useState(0);

  const counts = useMemo(() => {
    const all = countStates(props.endpoints);
    // The state listed stays offered while no endpoint is in it, so it can be unchosen.
    const chosen = filter.state;
    return chosen === null || all.some((c) => c.state === chosen)
      ? all
      : [...all, { state: chosen, n: 0 }];
  }, [props.endpoints, filter.state]);
  const matching = useMemo(
    () => filterEndpoints(props.endpoints, filter),
    [props.endpoints, filter],
  );
  const shown = pageOf(matching, page);
  const filtered = filter.text.trim() !== '' || filter.state !== null;
  const refilter = (next: EndpointFilter) => {
    setFilter(next);
    setPage(0);
  };
  const n = (value: number) => formatCount(value, lang);

  return (
    <section id="endpoints" class="panel" aria-labelledby="endpoints-title">
      <header class="panel-head">
        <h2 id="endpoints-title">{t('endpoints.title')}</h2>
        <button
          type="button"
          class="primary"
          data-testid="add-endpoint"
          onClick={() => setEditing('new')}
        >
          {t('endpoints.add')}
        </button>
      </header>
      {!props.loaded ? (
        <p class="muted">{t('loading')}</p>
      ) : props.endpoints.length === 0 ? (
        <p class="empty">{t('endpoints.empty')}</p>
      ) : (
        <>
          <div
            class="fleet"
            role="group"
            aria-label={t('endpoints.byState')}
            data-testid="endpoint-counts"
          >
            <span class="fleet-total" data-testid="endpoint-total">
              {t('endpoints.total', { n: n(props.endpoints.length) })}
            </span>
            {counts.map(({ state, n: count }) => (
              <button
                type="button"
                key={state}
                class="chip"
                data-state={state}
                data-testid={`count-${state}`}
                aria-pressed={filter.state === state}
                title={t('endpoints.onlyState', { state })}
                onClick={() =>
                  refilter({ ...filter, state: filter.state === state ? null : state })
                }
              >
                <span class="chip-n">{n(count)}</span> {state}
              </button>
            ))}
          </div>
          <div class="list-tools">
            <div class="inline-field list-filter">
              <label for="endpoint-filter">{t('endpoints.filter')}</label>
              <input
                id="endpoint-filter"
                type="search"
                data-testid="endpoint-filter"
                placeholder={t('endpoints.filterHint')}
                autocomplete="off"
                spellcheck={false}
                value={filter.text}
                onInput={(e) => refilter({ ...filter, text: e.currentTarget.value })}
              />
            </div>
            <Pager slice={shown} onPage={setPage} testId="pager" announce />
          </div>
          {matching.length === 0 ? (
            <p class="empty" data-testid="endpoints-no-match">
              {t('endpoints.noMatch')}{' '}
              {filtered && (
                <button
                  type="button"
                  class="link"
                  onClick={() => refilter({ text: '', state: null })}
                >
                  {t('endpoints.clearFilter')}
                </button>
              )}
            </p>
          ) : (
            <table class="table stack" data-testid="endpoints-table">
              <thead>
                <tr>
                  <th scope="col">{t('endpoints.col.endpoint')}</th>
                  <th scope="col">{t('endpoints.col.state')}</th>
                  <th scope="col">{t('endpoints.col.lastClose')}</th>
                  <th scope="col">{t('endpoints.col.retry')}</th>
                  <th scope="col">{t('endpoints.col.health')}</th>
                  <th scope="col">{t('endpoints.col.tools')}</th>
                  <th scope="col">
                    <span class="sr-only">{t('col.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.items.map((endpoint) => (
                  <EndpointRow
                    key={endpoint.id}
                    endpoint={endpoint}
                    selected={endpoint.id === props.selectedId}
                    onSelect={() => props.onSelect(endpoint.id)}
                    onEdit={() => setEditing(endpoint)}
                    onDelete={() => setDeleting(endpoint)}
                    actions={actions}
                  />
                ))}
              </tbody>
            </table>
          )}
          {shown.items.length > 10 && (
            <div class="list-tools end">
              <Pager
                slice={shown}
                onPage={(next) => {
                  setPage(next);
                  // The next page starts at the top of the list, not where this one ended.
                  document.getElementById('endpoints')?.scrollIntoView();
                }}
                testId="pager-bottom"
              />
            </div>
          )}
        </>
      )}
      {editing && (
        <EndpointForm
          endpoint={editing === 'new' ? null : editing}
          servers={props.servers}
          onClose={() => setEditing(null)}
          onSaved={props.onSaved}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={t('endpoints.delete.title', { name: deleting.name })}
          message={t('endpoints.delete.message')}
          confirm={t('action.delete')}
          onClose={() => setDeleting(null)}
          onConfirm={() =>
            actions.run(
              `delete-${deleting.id}`,
              async () => {
                await api.deleteEndpoint(deleting.id);
                props.onRemoved(deleting.id);
              },
              t('notice.deleted', { name: deleting.name }),
            )
          }
        />
      )}
    </section>
  );
}

/** Previous, "1–50 of 10,000", a page number to type, next. Nothing when there is one page. */
function Pager(props: {
  slice: PageSlice<unknown>;
  onPage: (page: number) => void;
  testId: string;
  /** Reads the new range out after a page change (one pager of the two does). */
  announce?: boolean;
}) {
  const { t, lang } = useI18n();
  const { page, pages, from, to, total } = props.slice;
  // What is typed stays as typed until it is committed (Enter, blur): a render for an event
  // must not overwrite it.
  const [draft, setDraft] = useState(String(page + 1));
  useEffect(() => setDraft(String(page + 1)), [page]);
  if (pages <= 1) return null;
  const n = (value: number) => formatCount(value, lang);
  const commit = (text: string) => {
    const wanted = Number.parseInt(text, 10);
    if (Number.isFinite(wanted)) props.onPage(Math.min(Math.max(wanted, 1), pages) - 1);
    else setDraft(String(page + 1));
  };
  return (
    <nav class="pager" aria-label={t('pager.label')} data-testid={props.testId}>
      <button
        type="button"
        data-testid={`${props.testId}-prev`}
        disabled={page === 0}
        onClick={() => props.onPage(page - 1)}
      >
        <span aria-hidden="true">‹ </span>
        {t('pager.prev')}
      </button>
      <span
        class="pager-range"
        data-testid={`${props.testId}-range`}
        aria-live={props.announce ? 'polite' : undefined}
      >
        {t('pager.range', { from: n(from), to: n(to), total: n(total) })}
      </span>
      <span class="pager-page">
        {t('pager.page')}{' '}
        <input
          type="number"
          inputMode="numeric"
          min={1}
          max={pages}
          aria-label={t('pager.pageInput')}
          data-testid={`${props.testId}-input`}
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onChange={(e) => commit(e.currentTarget.value)}
        />{' '}
        {t('pager.of', { pages: n(pages) })}
      </span>
      <button
        type="button"
        data-testid={`${props.testId}-next`}
        disabled={page >= pages - 1}
        onClick={() => props.onPage(page + 1)}
      >
        {t('pager.next')}
        <span aria-hidden="true"> ›</span>
      </button>
    </nav>
  );
}

function EndpointRow(props: {
  endpoint: EndpointView;
  selected: boolean;
  onSelect: () => void;
  onEdit: () => void;
  onDelete: () => void;
  actions: ReturnType<typeof useActions>;
}) {
  const { t } = useI18n();
  const { endpoint: e, actions } = props;
  const closeKey = e.lastClose ? closeCodeKey(e.lastClose.code) : null;
  return (
    <tr data-testid={`endpoint-row-${e.id}`} class={props.selected ? 'selected' : undefined}>
      <td data-label={t('endpoints.col.endpoint')}>
        <button
          type="button"
          class="link strong"
          aria-pressed={props.selected}
          title={t('endpoints.select')}
          onClick={props.onSelect}
        >
          {e.name}
        </button>
        <div class="mono small wrap">{e.url}</div>
        {e.source !== 'api' && (
          <div class="small muted" data-testid={`readonly-${e.id}`}>
            {t(`readonly.${e.source}`)}
          </div>
        )}
      </td>
      <td data-label={t('endpoints.col.state')}>
        <StateBadge
          state={e.state}
          testId={`endpoint-state-${e.id}`}
          describe={`state.${e.state}`}
        />
        <div class="small muted" data-testid={`endpoint-since-${e.id}`}>
          <Since at={e.since} />
        </div>
        {e.callsInFlight > 0 && (
          <div class="small">{t('endpoints.inFlight', { n: e.callsInFlight })}</div>
        )}
      </td>
      <td data-label={t('endpoints.col.lastClose')} data-testid={`endpoint-close-${e.id}`}>
        {e.lastClose ? (
          <>
            <div>
              <span class="mono">{e.lastClose.code}</span>
              {closeKey && <span class="small"> {t(closeKey)}</span>}
            </div>
            {e.lastClose.reason && <div class="small wrap">“{e.lastClose.reason}”</div>}
            <div class="small muted">
              <Since at={e.lastClose.at} template="ago" />
            </div>
          </>
        ) : (
          <span class="muted">{t('none')}</span>
        )}
        {e.lastError && <div class="small error-text wrap">{e.lastError}</div>}
      </td>
      <td data-label={t('endpoints.col.retry')}>
        <div class="small nowrap">{t('endpoints.attempts', { n: e.attempts })}</div>
        {e.nextRetryAt ? (
          <div data-testid={`endpoint-next-${e.id}`}>
            <Countdown at={e.nextRetryAt} />
          </div>
        ) : (
          <span class="muted">{t('none')}</span>
        )}
      </td>
      <td data-label={t('endpoints.col.health')}>
        <HealthBar score={e.health} />
      </td>
      <td data-label={t('endpoints.col.tools')}>{e.tools}</td>
      <td class="actions">
        <div class="buttons">
          <button
            type="button"
            data-testid={`retry-${e.id}`}
            disabled={!e.enabled || actions.busy(`retry-${e.id}`)}
            title={e.enabled ? undefined : t('endpoints.retryDisabled')}
            aria-label={`${t('action.retry')} — ${e.name}`}
            onClick={() =>
              void actions.run(
                `retry-${e.id}`,
                () => api.endpointAction(e.id, 'retry'),
                t('notice.retried', { name: e.name }),
              )
            }
          >
            {t('action.retry')}
          </button>
          <button
            type="button"
            data-testid={`toggle-${e.id}`}
            disabled={actions.busy(`toggle-${e.id}`)}
            aria-label={`${e.enabled ? t('action.disable') : t('action.enable')} — ${e.name}`}
            onClick={() =>
              void actions.run(`toggle-${e.id}`, () =>
                api.endpointAction(e.id, e.enabled ? 'disable' : 'enable'),
              )
            }
          >
            {e.enabled ? t('action.disable') : t('action.enable')}
          </button>
          {e.source === 'api' && (
            <>
              <button
                type="button"
                data-testid={`edit-${e.id}`}
                aria-label={`${t('action.edit')} — ${e.name}`}
                onClick={props.onEdit}
              >
                {t('action.edit')}
              </button>
              <button
                type="button"
                class="danger"
                data-testid={`delete-${e.id}`}
                aria-label={`${t('action.delete')} — ${e.name}`}
                onClick={props.onDelete}
              >
                {t('action.delete')}
              </button>
            </>
          )}
        </div>
      </td>
    </tr>
  );
}
