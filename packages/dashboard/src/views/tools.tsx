import type { EndpointTool, ToolStatsItem, ToolView } from '@tether/protocol';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { ToolFigures, UPTIME_HOURS, useToolStats } from '../figures.js';
import type { Roster } from '../fleet.js';
import { errorText, useActions } from '../ui.js';

/**
 * Which tools the selected endpoint gets: one checkbox per tool. A change is saved at once;
 * the hub then reconnects the endpoint so it reads the new list.
 */
export function ToolsSection(props: {
  tools: ToolView[];
  /** Ids and names only: a state change does not touch the picker's (maybe 10,000) options. */
  roster: Roster;
  selectedId: string | null;
  onSelect: (id: string) => void;
  toolsStamp: number;
  /** Moves with every call: the figures reload (throttled). */
  callStamp: number;
}) {
  const { t } = useI18n();
  const { run, busy } = useActions();
  const stats = useToolStats(props.toolsStamp, props.callStamp);
  const [shown, setShown] = useState<{ id: string; tools: EndpointTool[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = props.selectedId;

  useEffect(() => {
    if (id === null) return;
    let alive = true;
    api.endpointTools(id).then(
      (tools) => {
        if (!alive) return;
        setShown({ id, tools });
        setError(null);
      },
      (failure: unknown) => alive && setError(errorText(failure, t)),
    );
    return () => {
      alive = false;
    };
  }, [id, props.toolsStamp, t]);

  const options = useMemo(
    () => (
      <>
        {props.roster.map((endpoint) => (
          <option key={endpoint.id} value={endpoint.id}>
            {endpoint.name}
          </option>
        ))}
      </>
    ),
    [props.roster],
  );
  const descriptions = new Map(props.tools.map((tool) => [tool.name, tool]));
  const rows = shown && shown.id === id ? shown.tools : null;

  const toggle = (name: string, enabled: boolean) => {
    if (id === null) return;
    const flip = (list: EndpointTool[], value: boolean) =>
      list.map((tool) => (tool.name === name ? { ...tool, enabled: value } : tool));
    // Shown at once; put back if the hub refuses.
    setShown((current) =>
      current && current.id === id ? { id, tools: flip(current.tools, enabled) } : current,
    );
    void run(`tool-${name}`, async () => {
      try {
        const tools = await api.setEndpointTool(id, name, enabled);
        setShown((current) => (current && current.id === id ? { id, tools } : current));
      } catch (failure) {
        setShown((current) =>
          current && current.id === id ? { id, tools: flip(current.tools, !enabled) } : current,
        );
        throw failure;
      }
    });
  };

  return (
    <section id="tools" class="panel" aria-labelledby="tools-title">
      <header class="panel-head">
        <h2 id="tools-title">{t('tools.title')}</h2>
        {props.roster.length > 0 && id !== null && (
          <div class="inline-field">
            <label for="tools-endpoint">{t('tools.for')}</label>
            <select
              id="tools-endpoint"
              data-testid="tools-endpoint"
              value={id}
              onChange={(e) => props.onSelect(e.currentTarget.value)}
            >
              {options}
            </select>
          </div>
        )}
      </header>
      {id === null ? (
        <>
          <p class="hint">{t('tools.noEndpoint')}</p>
          <p class="small muted">{t('toolStats.hint', { hours: UPTIME_HOURS })}</p>
          <Catalog tools={props.tools} stats={stats.byName} />
        </>
      ) : (
        <>
          <p class="hint">{t('tools.hint')}</p>
          {error && <p class="error-text">{error}</p>}
          {rows === null ? (
            !error && <p class="muted">{t('loading')}</p>
          ) : rows.length === 0 ? (
            <p class="empty">{t('tools.empty')}</p>
          ) : (
            <>
              <p class="small muted" data-testid="tools-count">
                {t('tools.count', { on: rows.filter((r) => r.enabled).length, all: rows.length })}
                {' · '}
                {t('toolStats.hint', { hours: UPTIME_HOURS })}
              </p>
              <ul class="tool-list" data-testid="tool-list">
                {rows.map((tool) => {
                  const view = descriptions.get(tool.name);
                  return (
                    <li key={tool.name}>
                      <input
                        type="checkbox"
                        id={`tool-${tool.name}`}
                        data-testid={`tool-toggle-${tool.name}`}
                        checked={tool.enabled}
                        disabled={busy(`tool-${tool.name}`)}
                        aria-describedby={view?.description ? `tool-${tool.name}-desc` : undefined}
                        onChange={(e) => toggle(tool.name, e.currentTarget.checked)}
                      />
                      <div>
                        <label for={`tool-${tool.name}`} class="mono">
                          {tool.name}
                        </label>{' '}
                        <span class="tag">{tool.server}</span>
                        {view?.description && (
                          <p class="small muted" id={`tool-${tool.name}-desc`}>
                            {view.description}
                          </p>
                        )}
                        <ToolFigures stats={stats.byName.get(tool.name)} />
                      </div>
                    </li>
                  );
                })}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}

function Catalog(props: { tools: ToolView[]; stats: Map<string, ToolStatsItem> }) {
  const { t } = useI18n();
  if (props.tools.length === 0) return <p class="empty">{t('tools.empty')}</p>;
  return (
    <ul class="tool-list plain">
      {props.tools.map((tool) => (
        <li key={tool.name}>
          <div>
            <span class="mono">{tool.name}</span> <span class="tag">{tool.server}</span>
            {tool.description && <p class="small muted">{tool.description}</p>}
            <ToolFigures stats={props.stats.get(tool.name)} />
          </div>
        </li>
      ))}
    </ul>
  );
}
