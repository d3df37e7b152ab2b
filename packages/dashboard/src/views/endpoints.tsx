import type { EndpointView, ServerView } from '@tether/protocol';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { closeCodeKey } from '../format.js';
import { ConfirmDialog, Countdown, HealthBar, Since, StateBadge, useActions } from '../ui.js';
import { EndpointForm } from './endpoint-form.js';

export function EndpointsSection(props: {
  endpoints: EndpointView[];
  servers: ServerView[];
  loaded: boolean;
  selectedId: string | null;
  onSelect: (id: string) => void;
  onSaved: (endpoint: EndpointView) => void;
  onRemoved: (id: string) => void;
}) {
  const { t } = useI18n();
  const actions = useActions();
  const [editing, setEditing] = useState<EndpointView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<EndpointView | null>(null);

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
            {props.endpoints.map((endpoint) => (
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
