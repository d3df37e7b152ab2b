import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startConversationServer } from '../../../examples/conversation/app.mjs';
import type { ConversationServer } from '../../../examples/conversation/app.mjs';
import { settle } from './helpers.js';
import { CHROMIUM, chromiumLaunchOptions } from '@tether/testkit';

// Skipped only on a machine without Debian's Chromium; under CI a missing browser is a failure.
const run = existsSync(CHROMIUM) || process.env.CI === 'true';

interface Probe {
  received: Array<{ kind: string; n?: number; conversationId?: string }>;
  resumed: unknown[];
  newSessions: Array<{ reason: string; previousSessionId: string | null }>;
}
declare const tether: Probe;

let browser: Browser;
beforeAll(async () => {
  if (!run) return;
  browser = await chromium.launch(chromiumLaunchOptions);
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

/**
 * The example with a fast heartbeat: paused after 1.5 s of app silence, detached 1 s later.
 * Slack enough that a page whose timers run late on a loaded CI machine is not taken for a
 * frozen one (a spurious pause would count as a second connection).
 */
async function example(resumeWindowMs: number): Promise<ConversationServer> {
  return startConversationServer({
    port: 0,
    heartbeatMs: 250,
    pauseAfterMs: 1_500,
    detachAfterMs: 1_000,
    pingIntervalMs: 250,
    resumeWindowMs,
  });
}

async function open(app: ConversationServer): Promise<{ page: Page; conversation: string }> {
  const page = await browser.newPage();
  await page.goto(app.url);
  await page.waitForFunction(() => tether.received.some((m) => m.kind === 'conversation'));
  return { page, conversation: (await page.textContent('#conversation'))! };
}

/**
 * Stops the page's JavaScript while its socket stays open. `Page.setWebLifecycleState` frozen
 * does not stop timers in headless Chromium (measured: they keep firing); a paused debugger
 * does, and the browser's network stack keeps answering ping frames meanwhile, exactly like
 * the Unity app whose main thread stopped while its OS kept the TCP connection up.
 */
async function freeze(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  return async () => {
    await cdp.send('Debugger.resume');
    await cdp.send('Debugger.disable');
    await cdp.detach();
  };
}

describe.skipIf(!run)('the conversation example in a real browser (Chromium)', () => {
  it('resumes the same conversation after a freeze longer than the heartbeat timeout, missing nothing', async () => {
    const app = await example(60_000);
    try {
      const { page, conversation } = await open(app);
      await page.fill('#text', '/count 30 100');
      await page.press('#text', 'Enter');
      await page.waitForFunction(
        () => tether.received.filter((m) => m.kind === 'tick').length >= 3,
      );
      const before = app.stats().connections;

      const unfreeze = await freeze(page);
      await settle('the server to give up on the silent page', () => {
        return app.stats().sessions[0]?.status === 'detached';
      });
      await settle('the stream to end, sent into the replay buffer', () => {
        return app.stats().sessions[0]?.streaming === false;
      });
      await unfreeze();

      await page.waitForFunction(
        () =>
          tether.received.filter((m) => m.kind === 'tick').length >= 30 &&
          tether.resumed.length > 0,
        undefined,
        { timeout: 5_000 },
      );
      await page.waitForTimeout(300);
      const ticks = await page.evaluate(() =>
        tether.received.filter((m) => m.kind === 'tick').map((m) => m.n),
      );
      expect(ticks).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(app.stats().connections - before).toBe(1);
      expect(await page.evaluate(() => tether.resumed.length)).toBe(1);
      expect(await page.evaluate(() => tether.newSessions.length)).toBe(1);
      expect(await page.textContent('#conversation')).toBe(conversation);
      expect(await page.textContent('#notice')).toBe('Resumed the same conversation.');
      expect(app.stats().sessions).toEqual([
        expect.objectContaining({ status: 'active', conversationId: conversation }),
      ]);
    } finally {
      await app.close();
    }
  });

  it('says plainly that a new conversation started when the freeze outlasted the resume window', async () => {
    const app = await example(1_000);
    try {
      const { page, conversation } = await open(app);
      const unfreeze = await freeze(page);
      await settle('the session to expire on the server', () => {
        return !app.stats().sessions.some((s) => s.conversationId === conversation);
      });
      await unfreeze();

      await page.waitForFunction(() => tether.newSessions.length === 2, undefined, {
        timeout: 5_000,
      });
      await page.waitForFunction(
        (old) => document.querySelector('#conversation')?.textContent !== old,
        conversation,
      );
      expect(await page.textContent('#notice')).toBe(
        'A new conversation started: the previous one expired while this page was away.',
      );
      expect(await page.evaluate(() => tether.resumed.length)).toBe(0);
      expect(await page.evaluate(() => tether.newSessions[1])).toMatchObject({ reason: 'expired' });
    } finally {
      await app.close();
    }
  });
});
