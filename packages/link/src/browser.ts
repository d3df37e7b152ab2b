import type { Link } from './link.js';

/** The few page objects the hooks listen to; `window` and `document` fit, and so do fakes. */
export interface PageLifecycleSources {
  window?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & {
    navigator?: { onLine?: boolean };
  };
  document?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & {
    visibilityState?: string;
  };
}

/**
 * Wires a link to the page lifecycle: `offline` holds retries and checks the open socket,
 * `online` retries at once; coming back to `visible` (or `resume` after a freeze) retries a
 * waiting link now and checks an open one instead of trusting it. Returns the teardown.
 */
export function attachPageLifecycle(
  link: Link,
  sources: PageLifecycleSources = globalThis as PageLifecycleSources,
): () => void {
  const { window: win, document: doc } = sources;
  const online = () => link.setOnline(true);
  const offline = () => link.setOnline(false);
  const visibility = () => link.setVisible(doc?.visibilityState !== 'hidden');
  const resume = () => link.setVisible(true);
  win?.addEventListener('online', online);
  win?.addEventListener('offline', offline);
  doc?.addEventListener('visibilitychange', visibility);
  doc?.addEventListener('resume', resume);
  if (win?.navigator?.onLine === false) link.setOnline(false);
  return () => {
    win?.removeEventListener('online', online);
    win?.removeEventListener('offline', offline);
    doc?.removeEventListener('visibilitychange', visibility);
    doc?.removeEventListener('resume', resume);
  };
}
