import { HubClient, hubUrl } from './client.js';
import { renderEndpoints, renderTools } from './views.js';
import type { EndpointView, ToolView } from './views.js';

export interface ClientFlags {
  url?: string;
  json?: boolean;
  once?: boolean;
}

const colour = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

/** `tether status`: live on a terminal (refreshed every second), once for scripts or --json. */
export async function status(flags: ClientFlags): Promise<void> {
  const client = new HubClient(hubUrl(flags.url));
  const fetchOnce = () => client.get<EndpointView[]>('/api/endpoints');
  if (flags.json) return void console.log(JSON.stringify(await fetchOnce(), null, 2));
  if (flags.once || !process.stdout.isTTY)
    return void console.log(renderEndpoints(await fetchOnce(), colour()));
  for (;;) {
    let screen: string;
    try {
      screen = renderEndpoints(await fetchOnce(), true);
    } catch (error) {
      screen = (error as Error).message;
    }
    process.stdout.write(
      `\x1b[2J\x1b[H tether · ${client.baseUrl} · ${new Date().toLocaleTimeString()} · Ctrl-C to quit\n\n${screen}\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

export async function tools(flags: ClientFlags): Promise<void> {
  const list = await new HubClient(hubUrl(flags.url)).get<ToolView[]>('/api/tools');
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
  const response = await new HubClient(hubUrl(flags.url)).post<{
    result: { content?: Array<{ type: string; text?: string }>; isError?: boolean };
    ms: number;
  }>('/api/tools/call', { name, ...(args ? { arguments: args } : {}) });
  if (flags.json) return void console.log(JSON.stringify(response, null, 2));
  const texts = (response.result.content ?? []).map((c) =>
    c.type === 'text' ? c.text : `[${c.type}]`,
  );
  console.log(texts.join('\n'));
  if (response.result.isError) process.exitCode = 1;
}
