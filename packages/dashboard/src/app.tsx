import type { EndpointView, ServerView, SessionInfo } from '@tether/protocol';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, onUnauthorized } from './api.js';
import { I18nContext, NotifyContext, useI18n, useLanguage } from './context.js';
import type { Notice } from './context.js';
import { rosterOf } from './fleet.js';
import type { Roster } from './fleet.js';
import { useHub } from './hub.js';
import { LANGUAGES } from './i18n.js';
import type { Lang } from './i18n.js';
import { errorText } from './ui.js';
import { CallsSection } from './views/calls.js';
import { EndpointDetail } from './views/endpoint-detail.js';
import { EndpointsSection } from './views/endpoints.js';
import { McpClientsSection } from './views/mcp-clients.js';
import { ServersSection } from './views/servers.js';
import { ToolsSection } from './views/tools.js';
import { TryTool } from './views/try-tool.js';

/** Session first: a login when the hub needs one, the dashboard otherwise. */
export function App() {
  const i18n = useLanguage();
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  const check = useCallback(() => {
    api.session().then(
      (info) => {
        setSession(info);
        setError(null);
      },
      (failure: unknown) => setError(errorText(failure, i18n.t)),
    );
  }, [i18n.t]);

  useEffect(() => {
    check();
    onUnauthorized(check);
    return () => onUnauthorized(undefined);
  }, [check]);

  const signedIn = session !== null && (!session.authRequired || session.authenticated);
  return (
    <I18nContext.Provider value={i18n}>
      <a class="skip" href="#main">
        {i18n.t('app.skip')}
      </a>
      <Header
        nav={signedIn}
        onLogout={
          session?.authRequired && session.authenticated
            ? () => void api.logout().finally(check)
            : undefined
        }
      />
      {session === null ? (
        <main id="main" class="page">
          {error ? (
            <div class="notice error" role="alert">
              {error}{' '}
              <button type="button" onClick={check}>
                {i18n.t('action.tryAgain')}
              </button>
            </div>
          ) : (
            <p class="muted">{i18n.t('loading')}</p>
          )}
        </main>
      ) : signedIn ? (
        <Dashboard onSessionLost={check} />
      ) : (
        <Login onDone={check} />
      )}
    </I18nContext.Provider>
  );
}

function Header(props: { nav: boolean; onLogout: (() => void) | undefined }) {
  const { t, lang, setLang } = useI18n();
  return (
    <header class="top">
      <div class="top-inner">
        <a class="brand" href="#main">
          <span class="logo" aria-hidden="true" />
          Tether
        </a>
        {props.nav && (
          <nav aria-label={t('nav.label')}>
            <a href="#endpoints">{t('endpoints.title')}</a>
            <a href="#tools">{t('tools.title')}</a>
            <a href="#servers">{t('servers.title')}</a>
            <a href="#mcp-clients">{t('mcp.title')}</a>
            <a href="#calls">{t('calls.title')}</a>
          </nav>
        )}
        <div class="top-tools">
          <label for="lang" class="sr-only">
            {t('app.language')}
          </label>
          <select
            id="lang"
            data-testid="lang-switch"
            value={lang}
            onChange={(e) => setLang(e.currentTarget.value as Lang)}
          >
            {LANGUAGES.map((code) => (
              <option key={code} value={code}>
                {t(`lang.${code}`)}
              </option>
            ))}
          </select>
          {props.onLogout && (
            <button type="button" data-testid="logout" onClick={props.onLogout}>
              {t('action.logout')}
            </button>
          )}
        </div>
      </div>
    </header>
  );
}

function Login(props: { onDone: () => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!token) {
      setError(t('login.empty'));
      return;
    }
    setBusy(true);
    try {
      await api.login(token);
      setError(null);
      props.onDone();
    } catch (failure) {
      setError(errorText(failure, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="page login">
      <form class="panel login-form" data-testid="login-form" onSubmit={submit} noValidate>
        <h1>{t('login.title')}</h1>
        <p class="hint">{t('login.hint')}</p>
        <div class="field">
          <label for="token">{t('login.token')}</label>
          <input
            id="token"
            type="password"
            autocomplete="current-password"
            value={token}
            autofocus
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'login-error' : undefined}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </div>
        {error && (
          <p class="field-error" id="login-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {t('login.submit')}
        </button>
      </form>
    </main>
  );
}

const NOTICE_MS = 5000;

function Dashboard(props: { onSessionLost: () => void }) {
  const { t } = useI18n();
  const lost = useRef(props.onSessionLost);
  lost.current = props.onSessionLost;
  const [state, dispatch] = useHub(useCallback(() => lost.current(), []));
  const [selected, setSelected] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);

  useEffect(() => {
    if (notice?.kind !== 'ok') return;
    const timer = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);

  // The selection survives as long as its endpoint does; the first endpoint otherwise.
  const selectedId = state.endpoints.some((e) => e.id === selected)
    ? selected
    : (state.endpoints[0]?.id ?? null);
  const endpoint = state.endpoints.find((e) => e.id === selectedId);
  // Pickers need only ids and names: the same roster as long as those stay the same.
  const roster = useRef<Roster>([]);
  roster.current = rosterOf(roster.current, state.endpoints);

  const savedEndpoint = useCallback(
    (view: EndpointView) =>
      dispatch({ type: 'event', event: { type: 'endpoint', endpoint: view } }),
    [dispatch],
  );
  const removedEndpoint = useCallback(
    (id: string) => dispatch({ type: 'event', event: { type: 'endpoint-removed', id } }),
    [dispatch],
  );
  const savedServer = useCallback(
    (view: ServerView) => dispatch({ type: 'event', event: { type: 'server', server: view } }),
    [dispatch],
  );
  const removedServer = useCallback(
    (id: string) => dispatch({ type: 'server-removed', id }),
    [dispatch],
  );

  return (
    <NotifyContext.Provider value={setNotice}>
      <main id="main" class="page" tabIndex={-1}>
        <div class="status-line">
          <span class="stream" data-state={state.stream} data-testid="stream" role="status">
            {t(`stream.${state.stream}`)}
          </span>
          {state.syncError && (
            <span class="small error-text" data-testid="sync-error">
              {t('app.syncFailed', { message: state.syncError })}
            </span>
          )}
          <div class="notices" aria-live="polite">
            {notice && (
              <div
                class={`notice ${notice.kind}`}
                role={notice.kind === 'error' ? 'alert' : 'status'}
                data-testid="notice"
              >
                <span>{notice.text}</span>
                <button
                  type="button"
                  class="icon-button"
                  aria-label={t('action.dismiss')}
                  onClick={() => setNotice(null)}
                >
                  ×
                </button>
              </div>
            )}
          </div>
        </div>
        <EndpointsSection
          endpoints={state.endpoints}
          servers={state.servers}
          loaded={state.loaded}
          selectedId={selectedId}
          onSelect={setSelected}
          onSaved={savedEndpoint}
          onRemoved={removedEndpoint}
        />
        <div class="columns">
          {endpoint && (
            <EndpointDetail key={endpoint.id} endpoint={endpoint} syncStamp={state.syncStamp} />
          )}
          <div class="stack-column">
            <ToolsSection
              tools={state.tools}
              roster={roster.current}
              selectedId={selectedId}
              onSelect={setSelected}
              toolsStamp={state.toolsStamp}
              callStamp={state.callStamp}
            />
            <TryTool tools={state.tools} />
          </div>
        </div>
        <ServersSection
          servers={state.servers}
          loaded={state.loaded}
          onSaved={savedServer}
          onRemoved={removedServer}
        />
        <McpClientsSection syncStamp={state.syncStamp} />
        <CallsSection
          calls={state.calls}
          roster={roster.current}
          tools={state.tools}
          syncStamp={state.syncStamp}
          dispatch={dispatch}
        />
      </main>
    </NotifyContext.Provider>
  );
}
