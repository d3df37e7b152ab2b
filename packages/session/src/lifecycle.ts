import { attachPageLifecycle } from '@tether/link';
import type { Link, PageLifecycleSources } from '@tether/link';

export interface PageHooks {
  /** The page is about to stop running (hidden, frozen, put in the back/forward cache). */
  leaving(): void;
  /** The page runs again. */
  back(): void;
}

/**
 * Wires a session client to the page. The link's own hooks (attachPageLifecycle) hold retries
 * while offline and, on the way back, retry at once or check the open socket; on top of that
 * the session sends its "pausing" hint on the way out, so the server marks the session paused
 * instead of wondering why the app went silent, and a ping on the way back, so it is active
 * again before the next heartbeat would have said so. Returns the teardown.
 */
export function attachSessionLifecycle(
  link: Link,
  hooks: PageHooks,
  sources: PageLifecycleSources,
): () => void {
  const detachLink = attachPageLifecycle(link, sources);
  const { window: win, document: doc } = sources;
  const visibility = () => (doc?.visibilityState === 'hidden' ? hooks.leaving() : hooks.back());
  const leaving = () => hooks.leaving();
  const back = () => hooks.back();
  doc?.addEventListener('visibilitychange', visibility);
  doc?.addEventListener('freeze', leaving);
  doc?.addEventListener('resume', back);
  win?.addEventListener('pagehide', leaving);
  win?.addEventListener('pageshow', back);
  return () => {
    detachLink();
    doc?.removeEventListener('visibilitychange', visibility);
    doc?.removeEventListener('freeze', leaving);
    doc?.removeEventListener('resume', back);
    win?.removeEventListener('pagehide', leaving);
    win?.removeEventListener('pageshow', back);
  };
}

/** The page's window and document when there is a page (never in Node). */
export function currentPage(): PageLifecycleSources | undefined {
  const g = globalThis as PageLifecycleSources & { document?: unknown };
  return g.document ? { window: g.window, document: g.document } : undefined;
}
