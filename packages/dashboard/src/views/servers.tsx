import type { ServerView } from '@tether/protocol';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { ConfirmDialog, HealthBar, Since, StateBadge, useActions } from '../ui.js';
import { ServerForm } from './server-form.js';

/** Upstream MCP servers: what runs, how it is doing, and what it last wrote to stderr. */
export function ServersSection(props: {
  servers: ServerView[];
  loaded: boolean;
  onSaved: (server: ServerView) => void;
  onRemoved: (id: string) => void;
}) {
  const { t } = useI18n();
  const actions = useActions();
  const [editing, setEditing] = useState<ServerView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<ServerView | null>(null);
  return (
    <section id="servers" class="panel" aria-labelledby="servers-title">
      <header class="panel-head">
        <h2 id="servers-title">{t('servers.title')}</h2>
        <button
          type="button"
          class="primary"
          data-testid="add-server"
          onClick={() => setEditing('new')}
        >
          {t('servers.add')}
        </button>
      </header>
      {!props.loaded ? (
        <p class="muted">{t('loading')}</p>
      ) : props.servers.length === 0 ? (
        <p class="empty">{t('servers.empty')}</p>
      ) : (
        <ul class="cards">
          {props.servers.map((server) => (
            <ServerCard
              key={server.id}
              server={server}
              onEdit={() => setEditing(server)}
              onDelete={() => setDeleting(server)}
            />
          ))}
        </ul>
      )}
      {editing && (
        <ServerForm
          server={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={props.onSaved}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={t('servers.delete.title', { name: deleting.name })}
          message={t('servers.delete.message')}
          confirm={t('action.delete')}
          onClose={() => setDeleting(null)}
          onConfirm={() =>
            actions.run(
              `delete-${deleting.id}`,
              async () => {
                await api.deleteServer(deleting.id);
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

function ServerCard(props: { server: ServerView; onEdit: () => void; onDelete: () => void }) {
  const { t } = useI18n();
  const s = props.server;
  return (
    <li class="card" data-testid={`server-row-${s.id}`}>
      <header class="card-head">
        <h3 class="mono">{s.name}</h3>
        <StateBadge
          state={s.state}
          testId={`server-state-${s.id}`}
          describe={`serverState.${s.state}`}
        />
      </header>
      <dl class="kv">
        <div>
          <dt>{t('servers.type')}</dt>
          <dd>{s.type}</dd>
        </div>
        <div>
          <dt>{t('servers.since')}</dt>
          <dd>
            {s.since ? (
              <Since at={s.since} template="plain" />
            ) : (
              <span class="muted">{t('none')}</span>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('servers.tools')}</dt>
          <dd>{s.tools}</dd>
        </div>
        <div>
          <dt>{t('servers.restarts')}</dt>
          <dd data-testid={`server-restarts-${s.id}`}>{s.restarts}</dd>
        </div>
        {s.health !== null && (
          <div>
            <dt>{t('endpoints.col.health')}</dt>
            <dd>
              <HealthBar score={s.health} />
            </dd>
          </div>
        )}
        <div class="full">
          <dt>{t('servers.target')}</dt>
          <dd class="mono small wrap">{s.target}</dd>
        </div>
      </dl>
      {s.lastError && <p class="small error-text wrap">{s.lastError}</p>}
      {s.stderrTail.length > 0 ? (
        <details class="stderr" open={s.state === 'failed'}>
          <summary>{t('servers.stderr', { n: s.stderrTail.length })}</summary>
          <pre class="code" data-testid={`server-stderr-${s.id}`}>
            {s.stderrTail.join('\n')}
          </pre>
        </details>
      ) : (
        <p class="small muted">{t('servers.noStderr')}</p>
      )}
      <div class="card-actions">
        {s.source === 'api' ? (
          <>
            <button
              type="button"
              data-testid={`edit-server-${s.id}`}
              aria-label={`${t('action.edit')} — ${s.name}`}
              onClick={props.onEdit}
            >
              {t('action.edit')}
            </button>
            <button
              type="button"
              class="danger"
              data-testid={`delete-server-${s.id}`}
              aria-label={`${t('action.delete')} — ${s.name}`}
              onClick={props.onDelete}
            >
              {t('action.delete')}
            </button>
          </>
        ) : (
          <span class="small muted" data-testid={`readonly-server-${s.id}`}>
            {t('readonly.file')}
          </span>
        )}
      </div>
    </li>
  );
}
