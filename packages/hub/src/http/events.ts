import type { HubEvent } from '@tether/protocol';
import type { HubPort } from '../hub/port.js';
import { callItem, endpointView, serverViews } from './views.js';

/** Gets each event as a finished `text/event-stream` frame. */
type Listener = (frame: string) => void;

/** An event as one server-sent-events frame (JSON has no raw newlines: one data line). */
export function sseFrame(event: HubEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * One subscription to the hub for every open event stream: each hub event is turned into its
 * view and serialized once, whatever the number of streams, and the number of streams is capped so a client
 * that opens hundreds cannot tie up the process. The hub's listeners are attached while at
 * least one stream is open and removed with the last one.
 */
export class EventFeed {
  private readonly listeners = new Set<Listener>();
  private detach: (() => void) | undefined;

  constructor(
    private readonly hub: HubPort,
    private readonly max: () => number,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a stream; undefined when the cap is reached. */
  subscribe(listener: Listener): (() => void) | undefined {
    if (this.listeners.size >= this.max()) return undefined;
    this.listeners.add(listener);
    this.detach ??= this.attach();
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      this.detach?.();
      this.detach = undefined;
    };
  }

  private attach(): () => void {
    const hub = this.hub;
    const send = (event: HubEvent) => {
      const frame = sseFrame(event);
      for (const listener of this.listeners) listener(frame);
    };
    const onEndpoint = (name: string) => {
      const endpoint = endpointView(hub, name);
      if (endpoint) send({ type: 'endpoint', endpoint });
    };
    const onRemoved = (id: string) => send({ type: 'endpoint-removed', id });
    const onServer = (name: string) => {
      const server = serverViews(hub, hub.fileServerNames()).find((s) => s.id === name);
      if (server) send({ type: 'server', server });
    };
    const onTools = () => send({ type: 'tools' });
    const onCall = (entry: Parameters<typeof callItem>[0]) =>
      send({ type: 'call', call: callItem(entry) });
    hub.on('endpoint', onEndpoint);
    hub.on('endpoint-removed', onRemoved);
    hub.on('server', onServer);
    hub.on('tools', onTools);
    hub.on('call', onCall);
    return () => {
      hub.off('endpoint', onEndpoint);
      hub.off('endpoint-removed', onRemoved);
      hub.off('server', onServer);
      hub.off('tools', onTools);
      hub.off('call', onCall);
    };
  }
}
