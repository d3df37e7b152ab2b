import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tether/testkit';
import { Link, attachPageLifecycle } from '../src/index.js';
import { fakeFactory } from './fake-socket.js';

function page() {
  const win = Object.assign(new EventTarget(), { navigator: { onLine: true } });
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  return { win, doc };
}

describe('page lifecycle hooks', () => {
  it('holds retries while the page is offline and retries the moment it is back online', () => {
    const clock = new ManualClock();
    const fake = fakeFactory();
    const link = new Link({ url: 'ws://e.test/', socketFactory: fake.factory, clock });
    const { win, doc } = page();
    attachPageLifecycle(link, { window: win, document: doc });
    void link.connect();
    fake.last().fail();
    win.dispatchEvent(new Event('offline'));
    clock.advance(120_000);
    expect(fake.sockets).toHaveLength(1);
    win.dispatchEvent(new Event('online'));
    expect(fake.sockets).toHaveLength(2);
  });

  it('retries at once when a hidden page becomes visible, and stops listening when detached', () => {
    const clock = new ManualClock();
    const fake = fakeFactory();
    const link = new Link({ url: 'ws://e.test/', socketFactory: fake.factory, clock });
    const { win, doc } = page();
    const detach = attachPageLifecycle(link, { window: win, document: doc });
    void link.connect();
    fake.last().open();
    fake.last().peerClose(1001, 'going away');
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(link.status.name).toBe('connecting');
    fake.last().open();
    fake.last().peerClose(1001);
    detach();
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(link.status.name).toBe('backoff');
  });
});
