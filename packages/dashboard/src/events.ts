import type { HubEvent } from '@tether/protocol';

/** The part of the browser's EventSource this module uses; tests pass a fake. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  close(): void;
}

export interface HubStreamOptions {
  url: string;
  create: (url: string) => EventSourceLike;
  onEvent: (event: HubEvent) => void;
  /** Connected, first time or again: events may have been missed, so refetch what is shown. */
  onOpen: () => void;
  /** Lost. `closed` when the browser gave up on its own retries (a non-200 answer, e.g. 401). */
  onDown: (closed: boolean) => void;
  /** Delay before a new source after the browser gave up; default 1 s doubling to 15 s. */
  reopenDelayMs?: (attempt: number) => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

const CLOSED = 2;

/**
 * Every `event:` name the hub sends. The check below fails to compile when @tether/protocol
 * gains an event type this list lacks, so the two cannot drift.
 */
export const HUB_EVENT_TYPES = [
  'endpoint',
  'endpoint-removed',
  'server',
  'tools',
  'call',
] as const satisfies readonly HubEvent['type'][];
type Unlisted = Exclude<HubEvent['type'], (typeof HUB_EVENT_TYPES)[number]>;
const everyTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTypeListed;

/** What each event type must carry to be applied; the payloads are trusted past that. */
const PAYLOAD: Record<HubEvent['type'], string | null> = {
  endpoint: 'endpoint',
  'endpoint-removed': 'id',
  server: 'server',
  tools: null,
  call: 'call',
};

export function isHubEvent(value: unknown): value is HubEvent {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in PAYLOAD)) return false;
  const field = PAYLOAD[type as HubEvent['type']];
  if (field === null) return true;
  const payload = (value as Record<string, unknown>)[field];
  return field === 'id'
    ? typeof payload === 'string'
    : typeof payload === 'object' && payload !== null;
}

/**
 * GET /api/events as a stream of validated HubEvents.
 *
 *   open ──► onOpen (refetch) ──► events … ──► error ──► onDown(false)
 *                ▲                                  │ browser retries by itself
 *                └──────────────────────────────────┘
 *   error with readyState CLOSED ──► onDown(true) ──► wait ──► new EventSource
 *
 * EventSource retries network errors on its own but gives up for good on an HTTP error, so that
 * case gets a new source after a growing delay. close() is the one teardown path.
 */
export class HubStream {
  private source: EventSourceLike | undefined;
  private timer: unknown;
  private attempt = 0;
  private stopped = false;
  /** Events that were not HubEvents: a sign the hub and this page were built apart. */
  rejected = 0;

  constructor(private readonly options: HubStreamOptions) {
    this.open();
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clear(this.timer);
    this.timer = undefined;
    this.source?.close();
    this.source = undefined;
  }

  private open(): void {
    if (this.stopped) return;
    const source = this.options.create(this.options.url);
    this.source = source;
    const current = () => this.source === source;
    source.addEventListener('open', () => {
      if (!current()) return;
      this.attempt = 0;
      this.options.onOpen();
    });
    source.addEventListener('error', () => {
      if (!current()) return;
      const closed = source.readyState === CLOSED;
      this.options.onDown(closed);
      if (closed) this.reopen();
    });
    const receive = (message: { data?: unknown }) => {
      if (current()) this.receive(message.data);
    };
    for (const type of HUB_EVENT_TYPES) source.addEventListener(type, receive);
    // An event without an `event:` line arrives as `message`; the payload carries its type.
    source.addEventListener('message', receive);
  }

  private reopen(): void {
    this.source?.close();
    this.source = undefined;
    const delay = (this.options.reopenDelayMs ?? defaultDelay)(this.attempt++);
    this.timer = this.set(() => {
      this.timer = undefined;
      this.open();
    }, delay);
  }

  private receive(data: unknown): void {
    let value: unknown;
    try {
      value = JSON.parse(String(data));
    } catch {
      this.rejected++;
      return;
    }
    if (!isHubEvent(value)) {
      this.rejected++;
      return;
    }
    this.options.onEvent(value);
  }

  private set(fn: () => void, ms: number): unknown {
    return (this.options.setTimer ?? ((f, t) => setTimeout(f, t)))(fn, ms);
  }

  private clear(timer: unknown): void {
    (this.options.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>)))(timer);
  }
}

function defaultDelay(attempt: number): number {
  const base = Math.min(15_000, 1000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}
