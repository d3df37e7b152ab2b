import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockServer } from './mock-server.mjs';
import type { MockHub } from './mock-server.mjs';
import { CHROMIUM, chromiumLaunchOptions } from '@tether/testkit';

/**
 * The built dashboard (dist/) in Debian's Chromium against the mock hub: live state, actions,
 * keyboard, languages, a phone's width, login. The hub's own browser test covers the real thing.
 */
const DIST = new URL('../dist/app.js', import.meta.url);
const runnable = existsSync(CHROMIUM) && existsSync(DIST);

describe.skipIf(!runnable)('dashboard in a browser', () => {
  let browser: Browser;
  let hub: MockHub;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await chromium.launch(chromiumLaunchOptions);
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(
    options: { width?: number; locale?: string; token?: string; statsDelayMs?: number } = {},
  ) {
    hub = await startMockServer({
      ...(options.token ? { token: options.token } : {}),
      ...(options.statsDelayMs ? { statsDelayMs: options.statsDelayMs } : {}),
    });
    context = await browser.newContext({
      viewport: { width: options.width ?? 1280, height: 900 },
      locale: options.locale ?? 'en-US',
    });
    page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(hub.url);
    return errors;
  }

  const state = (id: string) => page.getByTestId(`endpoint-state-${id}`);

  beforeEach(() => {
    page = undefined as unknown as Page;
  });
  afterEach(async () => {
    await context?.close();
    await hub?.close();
  });

  it('shows every endpoint with its state, and a change within a second', async () => {
    const errors = await open();
    await expect.poll(() => state('living-room').textContent()).toContain('ready');
    await expect.poll(() => state('kitchen').textContent()).toBe('backoff');
    expect(await state('kitchen').getAttribute('data-state')).toBe('backoff');
    await expect.poll(() => page.getByTestId('stream').getAttribute('data-state')).toBe('live');
    expect(await page.getByTestId('readonly-living-room').textContent()).toContain(
      'tether.config.json',
    );
    expect(await page.getByTestId('delete-living-room').count()).toBe(0);
    expect(await page.getByTestId('delete-lab').count()).toBe(1);

    const started = Date.now();
    hub.transition('living-room', 'backoff', {
      lastClose: { code: 1006, reason: 'cut', at: new Date().toISOString() },
      attempts: 1,
      nextRetryAt: new Date(Date.now() + 30_000).toISOString(),
    });
    await page
      .getByTestId('endpoint-state-living-room')
      .filter({ hasText: 'backoff' })
      .waitFor({ timeout: 1000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await page.getByTestId('endpoint-close-living-room').textContent()).toContain('1006');
    expect(await page.getByTestId('endpoint-next-living-room').textContent()).toMatch(/in \d+s/);
    expect(errors).toEqual([]);
  });

  it('retries now, disables and enables', async () => {
    await open();
    await state('kitchen').filter({ hasText: 'backoff' }).waitFor();
    await page.getByTestId('retry-kitchen').click();
    await state('kitchen').filter({ hasText: 'ready' }).waitFor({ timeout: 3000 });
    await page.getByTestId('toggle-kitchen').click();
    await state('kitchen').filter({ hasText: 'disabled' }).waitFor({ timeout: 2000 });
    expect(await page.getByTestId('retry-kitchen').isDisabled()).toBe(true);
    await page.getByTestId('toggle-kitchen').click();
    await state('kitchen').filter({ hasText: 'ready' }).waitFor({ timeout: 3000 });
  });

  it('toggles a tool for the selected endpoint', async () => {
    await open();
    const box = page.getByTestId('tool-toggle-notes__delete');
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await expect.poll(() => hub.data.off.get('living-room')?.has('notes__delete')).toBe(false);
    await page.getByTestId('tool-toggle-calc__add').uncheck();
    await expect.poll(() => hub.data.off.get('living-room')?.has('calc__add')).toBe(true);
    // Another endpoint, chosen from the tools view, has its own set.
    await page.getByTestId('tools-endpoint').selectOption('kitchen');
    await expect.poll(() => page.getByTestId('tool-toggle-calc__add').isChecked()).toBe(true);
  });

  it("shows a tool's figures while calls keep coming faster than the hub answers for them", async () => {
    const errors = await open({ statsDelayMs: 400 });
    await page.getByTestId('tool-toggle-calc__add').waitFor();
    // A call every 100 ms: every answer for the figures is overtaken by a newer call.
    const traffic = setInterval(
      () =>
        hub.logCall({
          endpointId: 'living-room',
          tool: 'calc__add',
          server: 'calc',
          at: new Date().toISOString(),
          durationMs: 12,
          outcome: 'ok',
          argsBytes: 10,
          resultBytes: 10,
          error: null,
        }),
      100,
    );
    try {
      await page.getByTestId('tool-figures-calc__add').waitFor({ timeout: 3_000 });
    } finally {
      clearInterval(traffic);
    }
    // The mock says its log no longer holds all of calc__add's day: p95 is marked as an estimate.
    expect(await page.getByTestId('tool-p95-calc__add').textContent()).toMatch(/^≈/);
    expect(await page.getByTestId('tool-p95-calc__add').getAttribute('title')).toContain(
      'Estimated',
    );
    expect(errors).toEqual([]);
  });

  it('pages the timeline and the call log', async () => {
    await open();
    const timeline = page.getByTestId('timeline').locator('li');
    await expect.poll(() => timeline.count()).toBe(20);
    await page.getByTestId('timeline-more').click();
    await expect.poll(() => timeline.count()).toBe(40);
    const rows = page.getByTestId('call-row');
    await expect.poll(() => rows.count()).toBe(25);
    await page.getByTestId('calls-more').click();
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByTestId('calls-tool').selectOption('calc__add');
    await expect
      .poll(async () => (await rows.allTextContents()).every((t) => t.includes('calc__add')))
      .toBe(true);
  });

  it("the call log names the MCP client, the router's search and the repaired arguments", async () => {
    await open();
    const rows = page.getByTestId('call-row');
    await expect.poll(() => rows.count()).toBe(25);
    // Newest first: the /mcp call, then the router's.
    expect(await rows.nth(0).getByTestId('call-door').textContent()).toBe('MCP: Cursor 1.2');
    expect(await rows.nth(1).getByTestId('call-router').textContent()).toBe(
      'through the router · searched for “天气” → weather__forecast, weather__now',
    );
    const repairs = rows.nth(1).getByTestId('call-repairs');
    expect(await repairs.locator('summary').textContent()).toBe('1 argument(s) repaired');
    await repairs.locator('summary').click();
    expect(await repairs.locator('li').first().textContent()).toBe(
      '/city_name: cityName → city_name (rename)',
    );
  });

  it('lists the MCP clients on /mcp: who, which tools, how busy', async () => {
    await open();
    const rows = page.getByTestId('mcp-row');
    await expect.poll(() => rows.count()).toBe(2);
    const first = await rows.nth(0).textContent();
    expect(first).toContain('Cursor 1.2');
    expect(first).toContain('every tool (/mcp)');
    expect(await rows.nth(1).textContent()).toContain('/mcp/kitchen');
  });

  it('tries a tool: refuses bad JSON, then shows the result and the call', async () => {
    await open();
    await page.getByTestId('try-tool-name').selectOption('calc__add');
    await page.getByTestId('try-args').fill('{"a": 2,');
    await page.getByTestId('try-run').click();
    expect(await page.locator('#try-args-error').textContent()).toContain('Not valid JSON');
    expect(await page.getByTestId('try-args').getAttribute('aria-invalid')).toBe('true');
    await page.getByTestId('try-args').fill('{"a": 2, "b": 40}');
    await page.getByTestId('try-args').press('Control+Enter');
    await expect.poll(() => page.getByTestId('try-result').textContent()).toContain('42');
    await expect
      .poll(() => page.getByTestId('call-row').first().textContent())
      .toContain('calc__add');
  });

  it('works from the keyboard: dialogs open, trap focus, close on Escape and give focus back', async () => {
    await open();
    const add = page.getByTestId('add-endpoint');
    await add.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('endpoint-form');
    await dialog.waitFor();
    expect(await page.evaluate("document.activeElement?.closest('dialog') !== null")).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe(
      'add-endpoint',
    );

    // Add one through the form, with a mistake first.
    await page.keyboard.press('Enter');
    await page.locator('#ep-name').fill('new one');
    await page.locator('#ep-url').fill('https://nope');
    await page.getByTestId('save-endpoint').click();
    expect(await page.locator('#ep-name-error').isVisible()).toBe(true);
    expect(await page.locator('#ep-url-error').isVisible()).toBe(true);
    await page.locator('#ep-name').fill('office');
    await page.locator('#ep-url').fill('wss://api.xiaozhi.me/mcp/?token=secret');
    await page.getByTestId('save-endpoint').click();
    await dialog.waitFor({ state: 'detached' });
    await state('office').filter({ hasText: 'ready' }).waitFor({ timeout: 3000 });
    await page.getByTestId('delete-office').click();
    await page.getByTestId('confirm').click();
    await page.getByTestId('endpoint-row-office').waitFor({ state: 'detached' });
  });

  it('shows the hub’s error message when an action is refused', async () => {
    await open();
    await page.getByTestId('endpoint-row-lab').waitFor();
    hub.data.endpoints = hub.data.endpoints.filter((e) => e.id !== 'lab');
    await page.getByTestId('retry-lab').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('no endpoint lab');
  });

  it('switches language, keeps the choice, and defaults to the browser’s', async () => {
    await open();
    await page.getByTestId('lang-switch').selectOption('zh-CN');
    await expect.poll(() => page.getByTestId('retry-living-room').textContent()).toBe('立即重试');
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    // State names stay the product's words in every language.
    expect(await state('living-room').textContent()).toContain('ready');
    await page.reload();
    await expect.poll(() => page.getByTestId('retry-living-room').textContent()).toBe('立即重试');
    await context.close();
    await hub.close();
    await open({ locale: 'zh-CN' });
    await expect.poll(() => page.getByTestId('retry-living-room').textContent()).toBe('立即重试');
  });

  it('fits a 375 px phone without sideways scrolling', async () => {
    await open({ width: 375 });
    await state('living-room').waitFor();
    await page.getByTestId('call-row').first().waitFor();
    // The pictures too: the uptime strip (half hours on a phone) and a tool's figures.
    await page.getByTestId('uptime-strip').waitFor();
    expect(await page.getByTestId('uptime-bucket').count()).toBe(48);
    const widths = await page.evaluate<[number, number]>(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    );
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
  });

  it('refetches after the stream comes back', async () => {
    await open();
    await expect.poll(() => page.getByTestId('stream').getAttribute('data-state')).toBe('live');
    hub.dropStreams();
    // A change the page cannot hear about: it must fetch it after reconnecting.
    const lab = hub.data.endpoints.find((e) => e.id === 'lab');
    if (lab) Object.assign(lab, { state: 'ready' });
    await state('lab').filter({ hasText: 'ready' }).waitFor({ timeout: 8000 });
  });

  it('asks for the admin token when the hub needs one', async () => {
    await open({ token: 'sesame' });
    const form = page.getByTestId('login-form');
    await form.waitFor();
    await page.locator('#token').fill('wrong');
    await page.locator('#token').press('Enter');
    await expect.poll(() => page.getByTestId('login-error').textContent()).toContain('wrong token');
    await page.locator('#token').fill('sesame');
    await page.locator('#token').press('Enter');
    await state('living-room').waitFor();
    await page.getByTestId('logout').click();
    await form.waitFor();
  });
});
