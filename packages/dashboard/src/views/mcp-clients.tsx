import type { McpSessionItem } from '@tether/protocol';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { Since, errorText } from '../ui.js';

/** How often the list is read again: sessions come and go without an event of their own. */
const REFRESH_MS = 5_000;

/** The MCP clients on /mcp now (Cursor, Claude Desktop…): who, which tools, how busy. */
export function McpClientsSection(props: { syncStamp: number }) {
  const { t } = useI18n();
  const [sessions, setSessions] = useState<McpSessionItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api.mcpSessions().then(
        (items) => {
          if (!alive) return;
          setSessions(items);
          setError(null);
        },
        (failure: unknown) => alive && setError(errorText(failure, t)),
      );
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [props.syncStamp, t]);

  return (
    <section id="mcp-clients" class="panel" aria-labelledby="mcp-title">
      <header class="panel-head">
        <h2 id="mcp-title">{t('mcp.title')}</h2>
      </header>
      {error && <p class="error-text">{error}</p>}
      {sessions === null && !error ? (
        <p class="muted">{t('loading')}</p>
      ) : sessions !== null && sessions.length === 0 ? (
        <p class="empty">{t('mcp.empty')}</p>
      ) : sessions !== null ? (
        <table class="table stack" data-testid="mcp-table">
          <thead>
            <tr>
              <th scope="col">{t('mcp.client')}</th>
              <th scope="col">{t('mcp.scope')}</th>
              <th scope="col">{t('mcp.connected')}</th>
              <th scope="col">{t('mcp.lastActivity')}</th>
              <th scope="col" class="num">
                {t('mcp.inFlight')}
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} data-testid="mcp-row">
                <td data-label={t('mcp.client')}>
                  {s.client ? (
                    `${s.client.name} ${s.client.version}`
                  ) : (
                    <span class="muted">{t('mcp.unnamed')}</span>
                  )}
                </td>
                <td data-label={t('mcp.scope')} class="mono">
                  {s.endpoint === null ? t('mcp.allTools') : `/mcp/${s.endpoint}`}
                </td>
                <td data-label={t('mcp.connected')}>
                  <Since at={s.createdAt} template="ago" />
                </td>
                <td data-label={t('mcp.lastActivity')}>
                  <Since at={s.lastActivityAt} template="ago" />
                </td>
                <td data-label={t('mcp.inFlight')} class="num mono">
                  {s.callsInFlight}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
