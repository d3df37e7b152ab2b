import type { HubEvent } from '@tether/protocol';
import { useCallback, useEffect, useReducer, useState } from 'preact/hooks';
import { ApiFailure, api } from './api.js';
import { Batcher } from './batch.js';
import { HubStream } from './events.js';
import { initialHubState, reduce } from './state.js';
import type { HubAction, HubState } from './state.js';

const RESYNC_AFTER_FAILURE_MS = 3000;
const TOOLS_DEBOUNCE_MS = 150;

/**
 * The hub as this page sees it. The event stream opens first; every time it (re)opens, the
 * lists are fetched again, because events sent while it was down are gone. Events that arrive
 * during the fetch are held and replayed on top of the snapshot (see `reduce`).
 *
 * Events are not dispatched one by one: those that arrive before the next frame (under a flood,
 * within 100 ms of the last hand-over; see `Batcher`) go to the reducer as one `events` action,
 * so thousands a second cost about ten folds and renders a second. Any other action first hands
 * over the events that wait, so the reducer sees things in the order they happened.
 */
export function useHub(onStreamRefused: () => void): [HubState, (action: HubAction) => void] {
  const [state, apply] = useReducer(reduce, undefined, initialHubState);
  const [batcher] = useState(
    () => new Batcher<HubEvent>({ flush: (events) => apply({ type: 'events', events }) }),
  );
  const dispatch = useCallback(
    (action: HubAction) => {
      batcher.flush();
      apply(action);
    },
    [batcher],
  );

  useEffect(() => {
    let generation = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const sync = async () => {
      const mine = ++generation;
      clearTimeout(retry);
      dispatch({ type: 'sync-start' });
      try {
        const [endpoints, servers] = await Promise.all([api.endpoints(), api.servers()]);
        if (mine === generation) dispatch({ type: 'synced', endpoints, servers });
      } catch (error) {
        if (mine !== generation) return;
        dispatch({ type: 'sync-failed', message: (error as Error).message });
        if (!(error instanceof ApiFailure && error.status === 401))
          retry = setTimeout(() => void sync(), RESYNC_AFTER_FAILURE_MS);
      }
    };
    const stream = new HubStream({
      url: '/api/events',
      create: (url) => new EventSource(url),
      onOpen: () => {
        dispatch({ type: 'stream', status: 'live' });
        void sync();
      },
      onDown: (closed) => {
        dispatch({ type: 'stream', status: 'down' });
        // The browser gave up: often a 401 because the session ended.
        if (closed) onStreamRefused();
      },
      onEvent: (event) => batcher.push(event),
    });
    return () => {
      generation++;
      clearTimeout(retry);
      stream.close();
      batcher.close();
    };
    // The stream lives as long as the page; the caller passes a stable callback.
  }, []);

  // Tool lists change in bursts (a server restarting lists again): one fetch per burst.
  useEffect(() => {
    if (state.toolsStamp === 0) return;
    let alive = true;
    const timer = setTimeout(() => {
      api.tools().then(
        (tools) => alive && dispatch({ type: 'tools-loaded', tools }),
        (error: unknown) => console.warn('tether: tools not loaded:', error),
      );
    }, TOOLS_DEBOUNCE_MS);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [state.toolsStamp]);

  return [state, dispatch];
}
