/** The CLI's side of the API: `tether status`, `tools`, `call` talk to a running hub. */
export class HubClient {
  constructor(readonly baseUrl: string) {}

  async get<T>(path: string): Promise<T> {
    return this.request<T>(path, { method: 'GET' });
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  private async request<T>(path: string, init: RequestInit): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        ...init,
        signal: AbortSignal.timeout(330_000),
      });
    } catch (error) {
      throw new Error(
        `cannot reach the hub at ${this.baseUrl} (${(error as Error).cause ?? (error as Error).message}); is \`tether start\` running?`,
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => ({}))) as T & {
      error?: { code: string; message: string };
    };
    if (!response.ok)
      throw new Error(
        body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`,
      );
    return body;
  }
}

/** Where the hub listens: --url, TETHER_URL, or the default. */
export function hubUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.TETHER_URL ?? 'http://127.0.0.1:8765';
}
