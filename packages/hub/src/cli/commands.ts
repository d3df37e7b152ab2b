import { setTimeout as sleep } from 'node:timers/promises';
import { HubClient, HubClientError, hubTarget } from './client.js';
import { printable } from '../log/printable.js';
import { renderEndpoints, renderTools } from './views.js';
import type { EndpointView, ToolView } from './views.js';

export interface ClientFlags {
  url?: string;
  token?: string;
  json?: boolean;
  once?: boolean;
}

const colour = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const connect = (flags: ClientFlags) => new HubClient(hubTarget(flags));

/** `tether status`: live on a terminal (fed by the event stream), once for scripts or --json. */
export async function status(flags: ClientFlags): Promise<void> {
  const client = connect(flags);
  const fetchOnce = () => client.get<EndpointView[]>('/api/endpoints');
  if (flags.json) return void console.log(JSON.stringify(await fetchOnce(), null, 2));
  if (flags.once || !process.stdout.isTTY)
    return void console.log(renderEndpoints(await fetchOnce(), colour()));
  await live(client);
}

async function live(client: HubClient): Promise<void> {
  let view: LiveView | undefined;
  const draw = () => {
    const screen = !view
      ? 'connecting…'
      : view.problem
        ? `${printable(view.problem)} (trying again)`
        : renderEndpoints(view.endpoints, colour());
    process.stdout.write(
      `\x1b[2J\x1b[H tether · ${printable(client.shownUrl)} · ${new Date().toLocaleTimeString()} · Ctrl-C to quit\n\n${screen}\n`,
    );
  };
  // Ages and retry countdowns move every second even when the hub has nothing new to say.
  const tick = setInterval(draw, 1_000);
  try {
    await watchEndpoints(
      client,
      (next) => {
        view = next;
        draw();
      },
      new AbortController().signal,
    );
  } finally {
    clearInterval(tick);
  }
}

export interface LiveView {
  endpoints: EndpointView[];
  /** Why the view may be stale: the hub cannot be reached, the stream broke. */
  problem?: string;
}

/**
 * Keeps a list of endpoints current from GET /api/events until `signal` aborts.
 *
 *   open /api/events ── hello ──▶ GET /api/endpoints (the full list; again after `tools`)
 *          │                        then each `endpoint` / `endpoint-removed` event patches it
 *          └── fails or ends ──▶ show the problem, wait a second, open again
 *
 * The list is fetched after `hello` because the hub subscribes before it says hello: a change
 * made while the list is in flight arrives as an event afterwards, so nothing is lost. A refused
 * token ends the watch, since asking again cannot help.
 */
export async function watchEndpoints(
  client: HubClient,
  show: (view: LiveView) => void,
  signal: AbortSignal,
): Promise<void> {
  let endpoints: EndpointView[] = [];
  while (!signal.aborted) {
    let problem: string;
    try {
      for await (const frame of client.events(signal)) {
        // A new tool set changes every endpoint's tool count, and no endpoint event says so.
        if (frame.event === 'hello' || frame.event === 'tools') {
          endpoints = await client.get<EndpointView[]>('/api/endpoints', signal);
        } else if (frame.event === 'endpoint') {
          const changed = (JSON.parse(frame.data) as { endpoint?: EndpointView }).endpoint;
          if (typeof changed?.name !== 'string') continue;
          const at = endpoints.findIndex((e) => e.name === changed.name);
          endpoints =
            at === -1 ? [...endpoints, changed] : endpoints.map((e, i) => (i === at ? changed : e));
        } else if (frame.event === 'endpoint-removed') {
          const { id } = JSON.parse(frame.data) as { id?: string };
          endpoints = endpoints.filter((e) => e.name !== id);
        } else continue;
        show({ endpoints });
      }
      problem = 'the hub closed the event stream';
    } catch (error) {
      if (signal.aborted) return;
      if (
        error instanceof HubClientError &&
        (error.code === 'UNAUTHORIZED' || error.code === 'BAD_TOKEN')
      )
        throw error;
      problem =
        error instanceof SyntaxError
          ? 'the hub sent an event that is not JSON'
          : (error as Error).message;
    }
    show({ endpoints, problem });
    await sleep(1_000, undefined, { signal }).catch(() => {});
  }
}

export async function tools(flags: ClientFlags): Promise<void> {
  const list = await connect(flags).get<ToolView[]>('/api/tools');
  console.log(flags.json ? JSON.stringify(list, null, 2) : renderTools(list, colour()));
}

export async function call(name: string, flags: ClientFlags & { args?: string }): Promise<void> {
  let args: unknown;
  try {
    args = flags.args === undefined ? undefined : JSON.parse(flags.args);
  } catch (error) {
    throw new Error(`--args is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    throw new Error('--args must be a JSON object, e.g. \'{"a": 1}\'');
  }
  const response = await connect(flags).post<{
    result: { content?: Array<{ type: string; text?: string }>; isError?: boolean };
    ms: number;
  }>('/api/tools/call', { name, ...(args ? { arguments: args } : {}) });
  if (flags.json) return void console.log(JSON.stringify(response, null, 2));
  // A tool's answer may span lines; anything that would drive the terminal is still escaped.
  const texts = (response.result.content ?? []).map((c) =>
    printable(c.type === 'text' ? String(c.text ?? '') : `[${String(c.type)}]`, { lines: true }),
  );
  console.log(texts.join('\n'));
  if (response.result.isError) process.exitCode = 1;
}
