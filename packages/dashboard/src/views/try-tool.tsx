import type { ToolView } from '@tether/protocol';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useI18n } from '../context.js';
import { formatMs } from '../format.js';
import { argumentsTemplate, checkArguments } from '../tool-args.js';
import { Field, describedBy, errorText } from '../ui.js';

interface Outcome {
  ok: boolean;
  text: string;
  ms: number | null;
}

/** Calls any aggregated tool through the hub, the way an endpoint would. */
export function TryTool(props: { tools: ToolView[] }) {
  const { t } = useI18n();
  const [chosen, setChosen] = useState('');
  const tool = props.tools.find((x) => x.name === chosen) ?? props.tools[0];
  const [args, setArgs] = useState('{}');
  const [argsError, setArgsError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [running, setRunning] = useState(false);

  // A new tool starts from a template of its arguments; a refreshed list leaves typing alone.
  useEffect(() => {
    setArgs(tool ? argumentsTemplate(tool.inputSchema) : '{}');
    setArgsError(null);
    setOutcome(null);
  }, [tool?.name]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!tool) return;
    const check = checkArguments(args, tool.inputSchema);
    if (!check.ok) {
      setArgsError(
        check.problem === 'json'
          ? t('try.badJson', { detail: check.detail })
          : check.problem === 'object'
            ? t('try.notObject')
            : t('try.missing', { names: check.missing.join(', ') }),
      );
      return;
    }
    setArgsError(null);
    setRunning(true);
    setOutcome(null);
    try {
      const answer = await api.callTool(tool.name, check.value);
      const isError =
        typeof answer.result === 'object' &&
        answer.result !== null &&
        (answer.result as { isError?: unknown }).isError === true;
      setOutcome({ ok: !isError, text: JSON.stringify(answer.result, null, 2), ms: answer.ms });
    } catch (error) {
      setOutcome({ ok: false, text: errorText(error, t), ms: null });
    } finally {
      setRunning(false);
    }
  };

  return (
    <section id="try" class="panel" aria-labelledby="try-title">
      <header class="panel-head">
        <h2 id="try-title">{t('try.title')}</h2>
      </header>
      {!tool ? (
        <p class="empty">{t('tools.empty')}</p>
      ) : (
        <form onSubmit={submit} data-testid="try-tool" noValidate>
          <Field id="try-name" label={t('try.tool')}>
            <select
              id="try-name"
              data-testid="try-tool-name"
              value={tool.name}
              onChange={(e) => setChosen(e.currentTarget.value)}
            >
              {props.tools.map((x) => (
                <option key={x.name} value={x.name}>
                  {x.name}
                </option>
              ))}
            </select>
          </Field>
          {tool.description && <p class="small muted">{tool.description}</p>}
          <details class="schema">
            <summary>{t('try.schema')}</summary>
            <pre class="code">{JSON.stringify(tool.inputSchema, null, 2)}</pre>
          </details>
          <Field
            id="try-args"
            label={t('try.args')}
            hint={t('try.argsHint')}
            error={argsError ?? undefined}
          >
            <textarea
              id="try-args"
              data-testid="try-args"
              class="mono"
              rows={6}
              spellcheck={false}
              value={args}
              aria-invalid={argsError ? true : undefined}
              aria-describedby={describedBy('try-args', true, argsError)}
              onInput={(e) => {
                setArgs(e.currentTarget.value);
                if (argsError) setArgsError(null);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey))
                  e.currentTarget.form?.requestSubmit();
              }}
            />
          </Field>
          <div class="form-actions">
            <button type="submit" class="primary" disabled={running} data-testid="try-run">
              {running ? t('try.running') : t('try.run')}
            </button>
          </div>
        </form>
      )}
      <div aria-live="polite">
        {outcome && (
          <div class={`outcome ${outcome.ok ? 'ok' : 'failed'}`} data-testid="try-outcome">
            <p>
              <strong>{outcome.ok ? t('try.ok') : t('try.failed')}</strong>
              {outcome.ms !== null && ` · ${formatMs(outcome.ms, t)}`}
            </p>
            <pre class="code" data-testid="try-result">
              {outcome.text}
            </pre>
          </div>
        )}
      </div>
    </section>
  );
}
