import type { ServerInput, ServerView } from '@tether/protocol';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { lines, pairs, splitCommand } from '../forms.js';
import { Dialog, Field, describedBy, useActions } from '../ui.js';
import { serverProblems } from '../validate.js';

type Kind = 'stdio' | 'http' | 'sse';
type Errors = Partial<Record<'name' | 'command' | 'url' | 'env' | 'headers', string>>;

/** Add (server null) or edit an upstream server made through the API. */
export function ServerForm(props: {
  server: ServerView | null;
  onClose: () => void;
  onSaved: (server: ServerView) => void;
}) {
  const { t } = useI18n();
  const { run, busy } = useActions();
  const editing = props.server;
  // The hub shows a command line, not its parts; split on blanks as a starting point.
  const split =
    editing?.type === 'stdio' ? splitCommand(editing.target) : { command: '', args: [] };
  const [name, setName] = useState(editing?.name ?? '');
  const [type, setType] = useState<Kind>(editing?.type ?? 'stdio');
  const [command, setCommand] = useState(split.command);
  const [args, setArgs] = useState(split.args.join('\n'));
  const [env, setEnv] = useState('');
  const [cwd, setCwd] = useState('');
  const [url, setUrl] = useState('');
  const [headers, setHeaders] = useState('');
  const [enabled, setEnabled] = useState(editing?.enabled ?? true);
  const [errors, setErrors] = useState<Errors>({});

  const submit = async (event: Event) => {
    event.preventDefault();
    const found: Errors = {};
    let input: ServerInput;
    if (type === 'stdio') {
      const envPairs = pairs(env, '=');
      if (!envPairs.ok) found.env = t('serverForm.badLine', { line: envPairs.line });
      input = {
        name: name.trim(),
        type,
        command: command.trim(),
        args: lines(args),
        env: envPairs.ok ? envPairs.value : {},
        enabled,
        ...(cwd.trim() ? { cwd: cwd.trim() } : {}),
      };
    } else {
      const headerPairs = pairs(headers, ':');
      if (!headerPairs.ok) found.headers = t('serverForm.badLine', { line: headerPairs.line });
      input = {
        name: name.trim(),
        type,
        url: url.trim(),
        headers: headerPairs.ok ? headerPairs.value : {},
        enabled,
      };
    }
    const problems = serverProblems(input);
    if (problems.includes('name')) found.name = t('serverForm.nameInvalid');
    if (problems.includes('command')) found.command = t('serverForm.commandRequired');
    if (problems.includes('url')) found.url = t('serverForm.urlInvalid');
    if (type !== 'stdio' && url.includes('***')) found.url = t('endpointForm.urlMasked');
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const saved = await run(
      'save',
      async () => {
        const view = editing
          ? await api.updateServer(editing.id, input)
          : await api.createServer(input);
        props.onSaved(view);
      },
      t('notice.saved', { name: input.name }),
    );
    if (saved) props.onClose();
  };

  return (
    <Dialog
      title={editing ? t('serverForm.edit', { name: editing.name }) : t('serverForm.add')}
      onClose={props.onClose}
      testId="server-form"
    >
      <form onSubmit={submit} noValidate>
        <Field
          id="sv-name"
          label={t('field.name')}
          error={errors.name}
          hint={t('serverForm.nameHint')}
        >
          <input
            id="sv-name"
            value={name}
            readOnly={editing !== null}
            autocomplete="off"
            spellcheck={false}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={describedBy('sv-name', true, errors.name)}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <Field id="sv-type" label={t('servers.type')}>
          <select
            id="sv-type"
            value={type}
            onChange={(e) => setType(e.currentTarget.value as Kind)}
          >
            <option value="stdio">{t('serverForm.stdio')}</option>
            <option value="http">{t('serverForm.http')}</option>
            <option value="sse">{t('serverForm.sse')}</option>
          </select>
        </Field>
        {type === 'stdio' ? (
          <>
            <Field id="sv-command" label={t('serverForm.command')} error={errors.command}>
              <input
                id="sv-command"
                class="mono"
                value={command}
                spellcheck={false}
                placeholder="node"
                aria-invalid={errors.command ? true : undefined}
                aria-describedby={describedBy('sv-command', false, errors.command)}
                onInput={(e) => setCommand(e.currentTarget.value)}
              />
            </Field>
            <Field id="sv-args" label={t('serverForm.args')} hint={t('serverForm.argsHint')}>
              <textarea
                id="sv-args"
                class="mono"
                rows={3}
                spellcheck={false}
                value={args}
                aria-describedby="sv-args-hint"
                onInput={(e) => setArgs(e.currentTarget.value)}
              />
            </Field>
            <Field
              id="sv-env"
              label={t('serverForm.env')}
              hint={t('serverForm.envHint')}
              error={errors.env}
            >
              <textarea
                id="sv-env"
                class="mono"
                rows={3}
                spellcheck={false}
                value={env}
                placeholder="API_KEY=…"
                aria-invalid={errors.env ? true : undefined}
                aria-describedby={describedBy('sv-env', true, errors.env)}
                onInput={(e) => setEnv(e.currentTarget.value)}
              />
            </Field>
            <Field id="sv-cwd" label={t('serverForm.cwd')}>
              <input
                id="sv-cwd"
                class="mono"
                value={cwd}
                spellcheck={false}
                onInput={(e) => setCwd(e.currentTarget.value)}
              />
            </Field>
          </>
        ) : (
          <>
            <Field
              id="sv-url"
              label={t('field.url')}
              error={errors.url}
              hint={editing ? t('endpointForm.urlHintEdit', { url: editing.target }) : undefined}
            >
              <input
                id="sv-url"
                class="mono"
                value={url}
                inputMode="url"
                spellcheck={false}
                placeholder="https://example.test/mcp"
                aria-invalid={errors.url ? true : undefined}
                aria-describedby={describedBy('sv-url', editing, errors.url)}
                onInput={(e) => setUrl(e.currentTarget.value)}
              />
            </Field>
            <Field
              id="sv-headers"
              label={t('serverForm.headers')}
              hint={t('serverForm.headersHint')}
              error={errors.headers}
            >
              <textarea
                id="sv-headers"
                class="mono"
                rows={3}
                spellcheck={false}
                value={headers}
                placeholder="Authorization: Bearer …"
                aria-invalid={errors.headers ? true : undefined}
                aria-describedby={describedBy('sv-headers', true, errors.headers)}
                onInput={(e) => setHeaders(e.currentTarget.value)}
              />
            </Field>
          </>
        )}
        <div class="field check">
          <input
            id="sv-enabled"
            type="checkbox"
            checked={enabled}
            onChange={(e) => setEnabled(e.currentTarget.checked)}
          />
          <label for="sv-enabled">{t('field.enabled')}</label>
        </div>
        {editing && <p class="hint">{t('serverForm.replaceNote')}</p>}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('action.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy('save')} data-testid="save-server">
            {t('action.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
