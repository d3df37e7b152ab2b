import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiFailure } from './api.js';
import { useI18n, useNotify } from './context.js';
import { formatDuration, healthLevel } from './format.js';
import type { Lang, MessageKey, Translate } from './i18n.js';
import { useNow } from './ticker.js';

/**
 * A state as a badge. The text is the state's own name (`ready`, `backoff`…) in every
 * language: it is the word the CLI, the logs and the metrics use; the tooltip explains it.
 */
export function StateBadge(props: { state: string; testId?: string; describe?: MessageKey }) {
  const { t } = useI18n();
  const title = props.describe ? t(props.describe) : undefined;
  // The description sits beside the badge, so the badge's text is exactly the state's name.
  return (
    <>
      <span class="badge" data-state={props.state} data-testid={props.testId} title={title}>
        {props.state}
      </span>
      {title && <span class="sr-only">{title}</span>}
    </>
  );
}

/**
 * One formatter per language and style, made once: `toLocaleString` with options builds a new
 * Intl.DateTimeFormat on every call, which a page of rows re-rendering each frame feels.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(lang: Lang, style: 'full' | 'time' | 'short'): Intl.DateTimeFormat {
  const key = `${lang} ${style}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Intl.DateTimeFormat(
      lang,
      style === 'full'
        ? { dateStyle: 'medium', timeStyle: 'medium' }
        : style === 'time'
          ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }
          : { dateStyle: 'short', timeStyle: 'medium', hour12: false },
    );
    formatters.set(key, made);
  }
  return made;
}

export function dateTime(iso: string, lang: Lang): string {
  return formatter(lang, 'full').format(new Date(iso));
}

/** Time of day, with the date only when it is not today. */
export function clock(iso: string, lang: Lang): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return formatter(lang, today ? 'time' : 'short').format(date);
}

/** How long since `at`, ticking. */
export function Since(props: { at: string; template?: 'for' | 'ago' | 'plain' }) {
  const now = useNow();
  const { t, lang } = useI18n();
  const d = formatDuration(now - Date.parse(props.at), t);
  return (
    <time dateTime={props.at} title={dateTime(props.at, lang)}>
      {props.template === 'ago'
        ? t('time.ago', { d })
        : props.template === 'plain'
          ? d
          : t('time.for', { d })}
    </time>
  );
}

/** How long until `at`, ticking; "due" once it has passed. */
export function Countdown(props: { at: string }) {
  const now = useNow();
  const { t, lang } = useI18n();
  const left = Date.parse(props.at) - now;
  return (
    <time dateTime={props.at} title={dateTime(props.at, lang)} class="countdown">
      {left > 0 ? t('time.in', { d: formatDuration(left, t, 'ceil') }) : t('time.due')}
    </time>
  );
}

export function HealthBar(props: { score: number | null }) {
  const { t } = useI18n();
  const level = healthLevel(props.score);
  if (props.score === null) return <span class="muted">{t('none')}</span>;
  const score = Math.round(props.score);
  return (
    <span class="health" data-level={level} title={t(`health.${level}`)}>
      <span class="bar" aria-hidden="true">
        <span style={{ width: `${Math.max(0, Math.min(100, score))}%` }} />
      </span>
      <span class="health-score">{score}</span>
    </span>
  );
}

/**
 * A modal on the native <dialog>: the browser traps focus and turns Escape into `cancel`;
 * focus goes back to whatever opened it.
 */
export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  testId?: string;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      data-testid={props.testId}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
      onClick={(event) => {
        // A click on the backdrop lands on the dialog element itself.
        if (event.target === ref.current) props.onClose();
      }}
    >
      <div class="dialog-body">
        <header class="dialog-head">
          <h2 id={titleId}>{props.title}</h2>
          <button
            type="button"
            class="icon-button"
            aria-label={t('action.close')}
            onClick={props.onClose}
          >
            ×
          </button>
        </header>
        {props.children}
      </div>
    </dialog>
  );
}

export function ConfirmDialog(props: {
  title: string;
  message: string;
  confirm: string;
  onConfirm: () => Promise<boolean>;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={props.title} onClose={props.onClose} testId="confirm-dialog">
      <p>{props.message}</p>
      <div class="dialog-actions">
        <button type="button" onClick={props.onClose} autofocus>
          {t('action.cancel')}
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          data-testid="confirm"
          onClick={async () => {
            setBusy(true);
            const done = await props.onConfirm();
            setBusy(false);
            if (done) props.onClose();
          }}
        >
          {props.confirm}
        </button>
      </div>
    </Dialog>
  );
}

/** A labelled control with its hint and error wired for screen readers. */
export function Field(props: {
  id: string;
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  children: ComponentChildren;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** aria-describedby for a Field's control. */
export function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

export function errorText(error: unknown, t: Translate): string {
  if (error instanceof ApiFailure && error.code === 'NETWORK') return t('error.network');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs operator actions: marks each busy by key (its button is disabled meanwhile) and reports
 * failures, with the hub's own message, to the notice area.
 */
export function useActions() {
  const notify = useNotify();
  const { t } = useI18n();
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const run = useCallback(
    async (key: string, action: () => Promise<unknown>, success?: string): Promise<boolean> => {
      setBusy((keys) => new Set(keys).add(key));
      try {
        await action();
        if (success) notify({ kind: 'ok', text: success });
        return true;
      } catch (error) {
        notify({ kind: 'error', text: errorText(error, t) });
        return false;
      } finally {
        setBusy((keys) => {
          const next = new Set(keys);
          next.delete(key);
          return next;
        });
      }
    },
    [notify, t],
  );
  return { run, busy: (key: string) => busy.has(key) };
}
