// The dashboard in a real browser (playwright-core driving Debian's Chromium): the truth at a
// glance, changes within a second, and the operator's actions reaching the endpoint.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EndpointSimulator,
  FaultProxy,
  fakeStdioServerParams,
  CHROMIUM,
  chromiumLaunchOptions,
} from '@tether/testkit';
import { DEFAULT_HUB } from '../src/config/index.js';
import { Hub } from '../src/hub.js';
import { createApi } from '../src/http/api.js';
import { listen } from '../src/http/server.js';
import type { RunningServer } from '../src/http/server.js';
import { silentLogger } from '../src/log/logger.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';

const SCREENSHOT = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));
// Skipped only on a developer machine without Chromium; CI installs it and must run this.
const runnable = existsSync(CHROMIUM) || process.env.CI === 'true';

let sim: EndpointSimulator;
let proxy: FaultProxy;
let store: Store;
let hub: Hub;
let api: RunningServer;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

// The pictures are checked against history written straight into the store: an outage of
// seven minutes (lost by heartbeat) six hours ago, and ten calls of a tool with known times.
const MIN = 60_000;
const QUARTER = 15 * MIN;
let hubStartedAt = 0;
let outageAt = 0;

async function seedHistory(): Promise<void> {
  const now = Date.now();
  const lastStart = Math.floor(now / QUARTER) * QUARTER;
  const windowFrom = lastStart - 95 * QUARTER;
  outageAt = lastStart - 24 * QUARTER + 2 * MIN;
  const step = (at: number, from: string, to: string, cause: string, detectedBy?: string) =>
    store.timeline.append({
      endpointId: 'home',
      at,
      from,
      to,
      cause,
      code: null,
      reason: null,
      detectedBy: detectedBy ?? null,
      instance: 'earlier-hub',
    });
  await step(windowFrom - 60 * MIN, 'connecting', 'open', 'open');
  await step(windowFrom - 60 * MIN + 500, 'open', 'ready', 'ready');
  await step(outageAt, 'ready', 'backoff', 'heartbeat', 'heartbeat');
  await step(outageAt + 1_000, 'backoff', 'connecting', 'timer');
  await step(outageAt + 11_000, 'connecting', 'backoff', 'timeout', 'connect timeout');
  await step(outageAt + 5 * MIN, 'backoff', 'connecting', 'timer');
  await step(outageAt + 7 * MIN - 500, 'connecting', 'open', 'open');
  await step(outageAt + 7 * MIN, 'open', 'ready', 'ready');
  // The earlier hub stopped cleanly just before this one started.
  await step(hubStartedAt - 2_000, 'ready', 'disabled', 'person');
  // fake__echo: 10, 20 … 100 ms three hours ago, the last one failing.
  await store.toolCalls.appendMany(
    Array.from({ length: 10 }, (_, i) => ({
      endpointId: 'home',
      tool: 'fake__echo',
      server: 'fake',
      at: now - 3 * 60 * MIN + i * 1_000,
      durationMs: (i + 1) * 10,
      outcome: i === 9 ? ('error' as const) : ('ok' as const),
      argsBytes: 10,
      resultBytes: 10,
      error: i === 9 ? 'failed' : null,
    })),
  );
}

describe.skipIf(!runnable)('dashboard in a browser', () => {
  beforeAll(async () => {
    sim = await EndpointSimulator.start();
    proxy = await FaultProxy.start({ target: { port: sim.port } });
    store = await openStore({ file: ':memory:' });
    await store.migrate();
    const { command, args } = fakeStdioServerParams();
    hub = new Hub(
      {
        endpoints: [
          {
            name: 'home',
            url: proxy.url('/mcp/?token=test-token'),
            enabled: true,
            tools: { include: ['*'], exclude: [] },
            source: 'file',
          },
        ],
        servers: [{ name: 'fake', type: 'stdio', command, args, env: {}, enabled: true }],
        hub: { ...DEFAULT_HUB, port: 0, toolChangeDebounceMs: 100 },
        notifications: [],
      },
      // Retries stay slow enough that the page can be seen waiting, and "retry now" matters.
      {
        logger: silentLogger(),
        store,
        instance: 'browser-test',
        linkOptions: { backoff: { firstRetryMaxMs: 10_000, floorMs: 10_000 } },
      },
    );
    hubStartedAt = Date.now();
    await hub.start();
    await seedHistory();
    api = await listen(createApi(hub), '127.0.0.1', 0);
    await sim.waitForReady({ timeoutMs: 10_000 });
    browser = await chromium.launch(chromiumLaunchOptions);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(api.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await hub?.stop();
    await store?.close();
    await proxy?.close();
    await sim?.close();
  });

  const state = () => page.getAttribute('[data-testid="endpoint-state-home"]', 'data-state');

  it('shows the endpoint ready', async () => {
    await page.waitForSelector('[data-testid="endpoint-state-home"][data-state="ready"]', {
      timeout: 10_000,
    });
  });

  it.each([
    { width: 1280, locale: 'en-US', buckets: 96 },
    { width: 1280, locale: 'zh-CN', buckets: 96 },
    { width: 390, locale: 'en-US', buckets: 48 },
    { width: 390, locale: 'zh-CN', buckets: 48 },
  ])(
    "draws the day's outage as a red bar and the tool's figures ($width px, $locale)",
    async ({ width, locale, buckets }) => {
      const zh = locale === 'zh-CN';
      const context = await browser.newContext({ viewport: { width, height: 900 }, locale });
      try {
        const phone = await context.newPage();
        await phone.goto(api.url);
        const strip = phone.getByTestId('uptime-strip');
        await strip.waitFor({ timeout: 10_000 });
        expect(await phone.getAttribute('html', 'lang')).toBe(zh ? 'zh-CN' : 'en');
        const bars = phone.getByTestId('uptime-bucket');
        expect(await bars.count()).toBe(buckets);

        // The outage's bar, and only it, is red; every bar before this hub started is green.
        const span = (24 * 60 * MIN) / buckets;
        const outageBar = new Date(Math.floor(outageAt / span) * span).toISOString();
        const all = await bars.evaluateAll((nodes) =>
          nodes.map((n) => [n.getAttribute('data-start')!, n.getAttribute('data-level')!] as const),
        );
        expect(all.filter(([, level]) => level === 'down')).toEqual([[outageBar, 'down']]);
        const before = all.filter(
          ([start]) => Date.parse(start) + span <= hubStartedAt - 2_000 && start !== outageBar,
        );
        expect(before.length).toBeGreaterThan(buckets - 4);
        expect(before.filter(([, level]) => level !== 'ready')).toEqual([]);

        // Its details on hover: the level, six minutes down, the cause.
        const red = phone.locator(`[data-testid="uptime-bucket"][data-start="${outageBar}"]`);
        const title = (await red.getAttribute('title'))!;
        expect(title).toContain(zh ? '中断' : 'Down');
        expect(title).toContain(zh ? '中断 6分' : 'down 6m');
        expect(title).toContain('heartbeat ×1');
        await red.hover();
        await expect.poll(() => phone.getByTestId('uptime-detail').textContent()).toBe(title);

        // The losses by cause name the heartbeat.
        const cause = phone.locator('[data-testid="uptime-causes"] li[data-cause="heartbeat"]');
        await cause.waitFor();
        expect(await phone.getByTestId('cause-count-heartbeat').textContent()).toBe('1');

        // The tool's figures: what was logged above.
        const figure = (name: string) => phone.getByTestId(`tool-${name}-fake__echo`);
        await figure('calls').waitFor({ timeout: 10_000 });
        expect(await figure('calls').textContent()).toBe('10');
        expect(await figure('p50').textContent()).toBe(zh ? '50 毫秒' : '50 ms');
        expect(await figure('p95').textContent()).toBe(zh ? '100 毫秒' : '100 ms');
        expect(await figure('errors').textContent()).toBe('10%');
        expect(await figure('usage').textContent()).toBe('10');
        expect(await figure('last').textContent()).toMatch(zh ? /前$/ : /ago$/);

        // Readable on a phone: nothing wider than the screen, bars at least a few pixels wide.
        const [scroll, inner] = await phone.evaluate<[number, number]>(
          '[document.documentElement.scrollWidth, window.innerWidth]',
        );
        expect(scroll).toBeLessThanOrEqual(inner);
        const box = (await red.boundingBox())!;
        expect(box.width).toBeGreaterThanOrEqual(3);
      } finally {
        await context.close();
      }
    },
  );

  it('shows a cut link within a second', async () => {
    await proxy.refuse();
    const cutAt = Date.now();
    proxy.resetAll();
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="endpoint-state-home"]')
          ?.getAttribute('data-state') !== 'ready',
      undefined,
      { timeout: 5_000 },
    );
    const seenMs = Date.now() - cutAt;
    console.log(`dashboard showed the cut after ${seenMs} ms`);
    expect(seenMs).toBeLessThan(1_000);
    expect(await state()).toMatch(/backoff|connecting/);
  });

  it('reconnects at once when "retry now" is pressed', async () => {
    await proxy.accept();
    const handshakes = sim.accounting().handshakes;
    await page.click('[data-testid="retry-home"]');
    await sim.waitForReady({ count: handshakes + 1, timeoutMs: 3_000 });
    await page.waitForSelector('[data-testid="endpoint-state-home"][data-state="ready"]', {
      timeout: 3_000,
    });
  });

  it("switches a tool off for the endpoint, and the endpoint's next tools/list leaves it out", async () => {
    const handshakes = sim.accounting().handshakes;
    await page.selectOption('[data-testid="tools-endpoint"]', 'home');
    const toggle = page.locator('[data-testid="tool-toggle-fake__add"]');
    await toggle.waitFor({ timeout: 5_000 });
    expect(await toggle.isChecked()).toBe(true);
    await toggle.uncheck();
    const next = await sim.waitForReady({ count: handshakes + 1, timeoutMs: 5_000 });
    expect(next.tools.map((t) => t.name)).not.toContain('fake__add');
    expect(next.tools.map((t) => t.name)).toContain('fake__echo');
    await page.waitForSelector('[data-testid="endpoint-state-home"][data-state="ready"]', {
      timeout: 3_000,
    });
    // The README's picture is refreshed only when asked, not by every test run.
    if (process.env.UPDATE_SCREENSHOTS === '1')
      await page.screenshot({ path: SCREENSHOT, fullPage: false });
  });

  it('ran every step under its content security policy without a single violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
