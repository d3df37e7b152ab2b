import { styleText } from 'node:util';
import type { EndpointView as ApiEndpointView, ServerView } from '@tether/protocol';
import { printable } from '../log/printable.js';

type Style = Parameters<typeof styleText>[0];

export interface EndpointView {
  name: string;
  url: string;
  state: string;
  since: string;
  lastClose: { code: number; reason: string; at: string } | null;
  lastError: string | null;
  attempts: number;
  nextRetryAt: string | null;
  tools: number;
  callsInFlight: number;
}

export interface ToolView {
  name: string;
  server: string;
  description: string | null;
  endpoints: string[];
}

const STATE_STYLE: Record<string, Style> = {
  ready: 'green',
  open: 'cyan',
  connecting: 'yellow',
  backoff: 'yellow',
  parked: 'red',
  disabled: 'gray',
};

/** A field of an API answer, whatever its type turns out to be, as printable text. */
const shown = (value: unknown): string => printable(String(value));

function paint(style: Style, text: string, colour: boolean): string {
  return colour ? styleText(style, text) : text;
}

function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** `tether status`: one line per endpoint, what a person needs at a glance. */
export function renderEndpoints(
  endpoints: EndpointView[],
  colour: boolean,
  now = Date.now(),
): string {
  if (endpoints.length === 0) return 'No endpoints configured.';
  // Every field came over the network: escaped before it is measured or printed.
  const names = endpoints.map((e) => shown(e.name));
  const width = Math.max(8, ...names.map((n) => n.length));
  const lines = endpoints.map((e, i) => {
    const style = Object.hasOwn(STATE_STYLE, e.state) ? STATE_STYLE[e.state]! : 'white';
    const state = paint(style, pad(shown(e.state), 10), colour);
    const parts = [
      `${pad(names[i]!, width)}  ${state} ${pad(`for ${ago(e.since, now)}`, 12)} ${shown(e.tools)} tools`,
    ];
    if (e.callsInFlight > 0) parts.push(`${shown(e.callsInFlight)} calls running`);
    if (e.nextRetryAt)
      parts.push(
        `next try in ${Math.max(0, Math.ceil((Date.parse(e.nextRetryAt) - now) / 1000))}s`,
      );
    if (e.lastClose)
      parts.push(
        paint(
          'gray',
          `last close ${shown(e.lastClose.code)}${e.lastClose.reason ? ` ${shown(e.lastClose.reason)}` : ''}`,
          colour,
        ),
      );
    if (e.lastError && e.state !== 'ready') parts.push(paint('red', shown(e.lastError), colour));
    return `${parts.join(' · ')}\n${' '.repeat(width + 2)}${paint('gray', shown(e.url), colour)}`;
  });
  return lines.join('\n');
}

/** `tether tools`: every tool and which endpoints see it. */
export function renderTools(tools: ToolView[], colour: boolean): string {
  if (tools.length === 0) return 'No tools: no server is ready, or none is configured.';
  const names = tools.map((t) => shown(t.name));
  const width = Math.max(...names.map((n) => n.length));
  return tools
    .map((t, i) => {
      const seenBy = shown(t.endpoints.join(', ')) || '(no endpoint)';
      const description = t.description == null ? '' : shown(t.description);
      return `${paint('bold', pad(names[i]!, width), colour)}  ${description}${colour ? paint('gray', `  → ${seenBy}`, colour) : `  -> ${seenBy}`}`;
    })
    .join('\n');
}

/** A table's rows, each column as wide as its widest cell; the last column is not padded. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : pad(cell, widths[i]!))).join('  '),
  );
}

/** `tether endpoint list`: where each endpoint comes from, its state, its tools, its URL masked. */
export function renderEndpointList(endpoints: ApiEndpointView[], colour: boolean): string {
  if (endpoints.length === 0)
    return 'No endpoints. Add one with `tether endpoint add NAME wss://…`.';
  const rows = [
    ['NAME', 'STATE', 'FROM', 'TOOLS', 'URL'],
    ...endpoints.map((e) => [
      shown(e.name),
      shown(e.state),
      shown(e.source),
      shown(e.tools),
      shown(e.url),
    ]),
  ];
  return table(rows)
    .map((line, i) => {
      if (i === 0) return paint('bold', line, colour);
      const e = endpoints[i - 1]!;
      const state = shown(e.state);
      const style = Object.hasOwn(STATE_STYLE, e.state) ? STATE_STYLE[e.state]! : 'white';
      // The state is painted in place: the padding was measured on the plain text.
      const at = line.indexOf(state, shown(e.name).length);
      const painted = `${line.slice(0, at)}${paint(style, state, colour)}${line.slice(at + state.length)}`;
      return e.lastError && e.state !== 'ready'
        ? `${painted}\n    ${paint('red', shown(e.lastError), colour)}`
        : painted;
    })
    .join('\n');
}

const SERVER_STYLE: Record<string, Style> = {
  ready: 'green',
  starting: 'yellow',
  restarting: 'yellow',
  unresponsive: 'red',
  failed: 'red',
  stopped: 'gray',
  disabled: 'gray',
};

/**
 * `tether server list`: each server's state, kind, source and tool count; with `tools`, each
 * server's tools under it (as exposed to endpoints, with their descriptions).
 */
export function renderServers(
  servers: ServerView[],
  colour: boolean,
  tools?: ReadonlyMap<string, ToolView[]>,
): string {
  if (servers.length === 0)
    return 'No servers. Add one with `tether server add NAME -- COMMAND ARGS…` or `--url URL`.';
  const rows = [
    ['NAME', 'STATE', 'TYPE', 'FROM', 'TOOLS', 'RESTARTS', 'RUNS'],
    ...servers.map((s) => [
      shown(s.name),
      shown(s.state),
      shown(s.type),
      shown(s.source),
      shown(s.tools),
      shown(s.restarts),
      shown(s.target),
    ]),
  ];
  return table(rows)
    .map((line, i) => {
      if (i === 0) return paint('bold', line, colour);
      const s = servers[i - 1]!;
      const state = shown(s.state);
      const style = Object.hasOwn(SERVER_STYLE, s.state) ? SERVER_STYLE[s.state]! : 'white';
      const at = line.indexOf(state, shown(s.name).length);
      const parts = [
        `${line.slice(0, at)}${paint(style, state, colour)}${line.slice(at + state.length)}`,
      ];
      if (s.lastError && s.state !== 'ready')
        parts.push(`    ${paint('red', shown(s.lastError), colour)}`);
      if (tools) {
        const own = tools.get(s.name) ?? [];
        if (own.length === 0) parts.push(paint('gray', '    (no tools listed)', colour));
        const width = Math.max(0, ...own.map((t) => shown(t.name).length));
        for (const t of own)
          parts.push(
            `    ${pad(shown(t.name), width)}${t.description == null ? '' : `  ${paint('gray', shown(t.description.split('\n')[0]!), colour)}`}`,
          );
      }
      return parts.join('\n');
    })
    .join('\n');
}
