import type { EndpointInput, EndpointView, ServerView } from '@tether/protocol';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { list } from '../forms.js';
import { Dialog, Field, describedBy, useActions } from '../ui.js';
import { endpointProblems } from '../validate.js';

type Errors = Partial<Record<'name' | 'url' | 'servers', string>>;

/** Add (endpoint null) or edit an endpoint made through the API. */
export function EndpointForm(props: {
  endpoint: EndpointView | null;
  servers: ServerView[];
  onClose: () => void;
  onSaved: (endpoint: EndpointView) => void;
}) {
  const { t } = useI18n();
  const { run, busy } = useActions();
  const editing = props.endpoint;
  const [name, setName] = useState(editing?.name ?? '');
  // The hub only ever shows a masked URL, so an edit needs the real one typed again.
  const [url, setUrl] = useState('');
  const [enabled, setEnabled] = useState(editing?.enabled ?? true);
  const [include, setInclude] = useState('*');
  const [exclude, setExclude] = useState('');
  const [allServers, setAllServers] = useState(true);
  const [servers, setServers] = useState<string[]>([]);
  const [errors, setErrors] = useState<Errors>({});

  const submit = async (event: Event) => {
    event.preventDefault();
    const input: EndpointInput = {
      name: name.trim(),
      url: url.trim(),
      enabled,
      tools: { include: list(include), exclude: list(exclude) },
      servers: allServers ? null : servers,
    };
    const found: Errors = {};
    const problems = endpointProblems(input);
    if (problems.includes('name')) found.name = t('endpointForm.nameInvalid');
    if (problems.includes('url')) found.url = t('endpointForm.urlInvalid');
    if (input.url.includes('***')) found.url = t('endpointForm.urlMasked');
    if (!allServers && servers.length === 0) found.servers = t('endpointForm.serversNone');
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const saved = await run(
      'save',
      async () => {
        const view = editing
          ? await api.updateEndpoint(editing.id, input)
          : await api.createEndpoint(input);
        props.onSaved(view);
      },
      t('notice.saved', { name: input.name }),
    );
    if (saved) props.onClose();
  };

  const urlHint = editing
    ? t('endpointForm.urlHintEdit', { url: editing.url })
    : t('endpointForm.urlHint');
  return (
    <Dialog
      title={editing ? t('endpointForm.edit', { name: editing.name }) : t('endpointForm.add')}
      onClose={props.onClose}
      testId="endpoint-form"
    >
      <form onSubmit={submit} noValidate>
        <Field
          id="ep-name"
          label={t('field.name')}
          error={errors.name}
          hint={t('endpointForm.nameHint')}
        >
          <input
            id="ep-name"
            value={name}
            required
            readOnly={editing !== null}
            autocomplete="off"
            spellcheck={false}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={describedBy('ep-name', true, errors.name)}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <Field id="ep-url" label={t('field.url')} error={errors.url} hint={urlHint}>
          <input
            id="ep-url"
            value={url}
            required
            inputMode="url"
            autocomplete="off"
            spellcheck={false}
            placeholder="wss://api.xiaozhi.me/mcp/?token=…"
            aria-invalid={errors.url ? true : undefined}
            aria-describedby={describedBy('ep-url', true, errors.url)}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
        </Field>
        <div class="field check">
          <input
            id="ep-enabled"
            type="checkbox"
            checked={enabled}
            onChange={(e) => setEnabled(e.currentTarget.checked)}
          />
          <label for="ep-enabled">{t('field.enabled')}</label>
        </div>
        <Field id="ep-include" label={t('endpointForm.include')} hint={t('endpointForm.globHint')}>
          <input
            id="ep-include"
            value={include}
            spellcheck={false}
            aria-describedby="ep-include-hint"
            onInput={(e) => setInclude(e.currentTarget.value)}
          />
        </Field>
        <Field id="ep-exclude" label={t('endpointForm.exclude')}>
          <input
            id="ep-exclude"
            value={exclude}
            spellcheck={false}
            placeholder="files__delete*"
            onInput={(e) => setExclude(e.currentTarget.value)}
          />
        </Field>
        <fieldset class="field">
          <legend>{t('endpointForm.servers')}</legend>
          <div class="check">
            <input
              id="ep-all-servers"
              type="checkbox"
              checked={allServers}
              onChange={(e) => setAllServers(e.currentTarget.checked)}
            />
            <label for="ep-all-servers">{t('endpointForm.allServers')}</label>
          </div>
          {!allServers &&
            props.servers.map((server) => (
              <div class="check" key={server.id}>
                <input
                  id={`ep-server-${server.id}`}
                  type="checkbox"
                  checked={servers.includes(server.name)}
                  onChange={(e) =>
                    setServers((current) =>
                      e.currentTarget.checked
                        ? [...current, server.name]
                        : current.filter((s) => s !== server.name),
                    )
                  }
                />
                <label for={`ep-server-${server.id}`}>{server.name}</label>
              </div>
            ))}
          {errors.servers && <p class="field-error">{errors.servers}</p>}
        </fieldset>
        {editing && <p class="hint">{t('endpointForm.replaceNote')}</p>}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('action.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy('save')} data-testid="save-endpoint">
            {t('action.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
