import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { EndpointView } from '@tether/protocol';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumLaunchOptions } from '@tether/testkit';
import { BATCH_MIN_GAP_MS } from '../src/batch.js';

/**
 * The built dashboard (dist/) at fleet size, in Debian's Chromium: a fake hub API with 10,000
 * endpoints, whose event stream then floods the page with 5,000 endpoint events a second, as a
 * mass reconnect does. The page must show its first page quickly, count the whole fleet, keep
 * answering clicks and typing during the flood, keep a page's worth of rows in the DOM, render
 * at most once a frame, and end on the hub's truth once the flood stops.
 */
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const runnable = existsSync(CHROMIUM) && existsSync(`${DIST}app.js`);

const FLEET = 10_000;
const CONNECTING = 130;
const RATE = 5000; // endpoint events per second
const PAGE_SIZE = 50;
const ROW_MARGIN = 5;
/**
 * What the person may wait for the answer to a click or to typing while the flood runs, click
 * and all, on a shared 2-core box: usually well under a second. The dashboard before paging and
 * batching took over 10 s to show the list at all, and its tab died in the flood.
 */
const RESPONSIVE_MS = 3000;

const name = (i: number) => `ep-${String(i + 1).padStart(5, '0')}`;
const iso = (ms: number) => new Date(ms).toISOString();

function fleet(now: number): EndpointView[] {
  return Array.from({ length: FLEET }, (_, i) => ({
    id: name(i),
    name: name(i),
    url: `wss://api.xiaozhi.me/mcp/?token=${String(i % 97).padStart(2, '0')}***`,
    enabled: true,
    source: 'file',
    state: i >= FLEET - CONNECTING ? 'connecting' : 'ready',
    since: iso(now - 3600_000),
    lastClose: null,
    lastError: null,
    attempts: 0,
    nextRetryAt: null,
    health: 100,
    owner: 'hub-a1b2',
    tools: 5,
    callsInFlight: 0,
  }));
}

interface FakeHub {
  url: string;
  endpoints: EndpointView[];
  /** Streams RATE endpoint events a second to every open stream until stopped. */
  flood(): { sent: () => number; stop: () => void };
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/** Just the routes the dashboard calls (src/api.ts), with nothing behind them but an array. */
async function startFakeHub(): Promise<FakeHub> {
  const endpoints = fleet(Date.now());
  const byId = new Map(endpoints.map((e, i) => [e.id, i]));
  const streams = new Set<ServerResponse>();
  const json = (res: ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const files: Record<string, string> = {
    '/': 'index.html',
    '/app.js': 'app.js',
    '/app.css': 'app.css',
  };
  const types: Record<string, string> = {
    html: 'text/html; charset=utf-8',
    js: 'text/javascript; charset=utf-8',
    css: 'text/css; charset=utf-8',
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const file = files[path];
    if (file) {
      void readFile(`${DIST}${file}`).then((body) => {
        res.writeHead(200, { 'content-type': types[file.split('.').pop() ?? ''] ?? 'text/plain' });
        res.end(body);
      });
      return;
    }
    if (path === '/api/session') return json(res, { authRequired: false, authenticated: true });
    if (path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (path === '/api/endpoints') return json(res, endpoints);
    if (path === '/api/servers' || path === '/api/tools') return json(res, []);
    if (path === '/api/calls') return json(res, { items: [], next: null });
    const m = path.match(/^\/api\/endpoints\/([^/]+)\/(tools|timeline|health)$/);
    if (m && byId.has(decodeURIComponent(m[1] ?? ''))) {
      if (m[2] === 'tools') return json(res, []);
      if (m[2] === 'timeline') return json(res, { items: [], next: null });
      return json(res, {
        score: 100,
        uptime: 1,
        flaps: 0,
        failures: 0,
        handshakeMs: 120,
        windowMs: 3600_000,
      });
    }
    json(res, { error: { code: 'NOT_FOUND', message: `no route ${path}` } }, 404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    endpoints,
    counts() {
      const counts: Record<string, number> = {};
      for (const e of endpoints) counts[e.state] = (counts[e.state] ?? 0) + 1;
      return counts;
    },
    flood() {
      const started = Date.now();
      let sent = 0;
      // A reconnect wave: endpoints spread over the fleet drop, reconnect and come back.
      const cycle = ['connecting', 'open', 'ready', 'backoff'] as const;
      const send = () => {
        const due = Math.floor(((Date.now() - started) * RATE) / 1000) - sent;
        let frames = '';
        for (let k = 0; k < due; k++, sent++) {
          const e = endpoints[(sent * 7919) % FLEET] as EndpointView;
          const state = cycle[(cycle.indexOf(e.state as (typeof cycle)[number]) + 1) % 4];
          Object.assign(e, { state, since: iso(Date.now()), attempts: e.attempts + 1 });
          frames += `event: endpoint\ndata: ${JSON.stringify({ type: 'endpoint', endpoint: e })}\n\n`;
        }
        for (const res of streams) res.write(frames);
      };
      const timer = setInterval(send, 10);
      return {
        sent: () => sent,
        stop: () => clearInterval(timer),
      };
    },
    async close() {
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!runnable)('dashboard with 10,000 endpoints', () => {
  let browser: Browser;
  let hub: FakeHub;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    browser = await chromium.launch(chromiumLaunchOptions);
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    await hub?.close();
  });

  async function open(options: { width: number; locale: string }) {
    hub = await startFakeHub();
    context = await browser.newContext({
      viewport: { width: options.width, height: 900 },
      locale: options.locale,
    });
    page = await context.newPage();
    errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const started = Date.now();
    await page.goto(hub.url);
    await page.getByTestId(`endpoint-row-${name(0)}`).waitFor({ timeout: 10_000 });
    return Date.now() - started;
  }

  const rows = () => page.locator('[data-testid^="endpoint-row-"]').count();
  const text = (testId: string) => page.getByTestId(testId).textContent();

  it('shows a page, counts the fleet, and stays responsive through 5,000 events a second', async () => {
    const firstPageMs = await open({ width: 1280, locale: 'en-US' });
    expect(firstPageMs).toBeLessThan(10_000);
    expect(await text('endpoint-total')).toBe('10,000 in all');
    expect(await text('count-ready')).toBe(`${(FLEET - CONNECTING).toLocaleString('en')} ready`);
    expect(await text('count-connecting')).toBe(`${CONNECTING} connecting`);
    expect(await text('pager-range')).toBe('1–50 of 10,000');
    expect(await rows()).toBe(PAGE_SIZE);
    await expect.poll(() => page.getByTestId('stream').getAttribute('data-state')).toBe('live');

    // Count, in the page, the frames drawn and the times the fleet's counts were re-rendered.
    await page.evaluate(() => {
      const w = window as unknown as { frames_: number; renders_: number; since_: number };
      w.frames_ = 0;
      w.renders_ = 0;
      w.since_ = performance.now();
      const frame = () => {
        w.frames_++;
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
      const counts = document.querySelector('[data-testid="endpoint-counts"]');
      if (counts)
        new MutationObserver(() => w.renders_++).observe(counts, {
          subtree: true,
          childList: true,
          characterData: true,
        });
    });

    const flood = hub.flood();
    const sampled: number[] = [];
    const sampler = setInterval(
      // A sample in flight when the page closes has nothing to count.
      () =>
        void rows().then(
          (n) => sampled.push(n),
          () => {},
        ),
      100,
    );
    try {
      // Let the wave build up first.
      await expect.poll(() => flood.sent(), { timeout: 5000 }).toBeGreaterThan(1000);

      /** From the person's action to its result on screen, all of it, click included. */
      const answer = async (act: () => Promise<unknown>, shown: () => Promise<unknown>) => {
        const asked = Date.now();
        await act();
        await shown();
        return Date.now() - asked;
      };
      const nextMs = await answer(
        () => page.getByTestId('pager-next').click({ timeout: RESPONSIVE_MS }),
        () =>
          page
            .getByTestId('pager-range')
            .filter({ hasText: '51–100 of 10,000' })
            .waitFor({ timeout: RESPONSIVE_MS }),
      );
      expect(nextMs).toBeLessThan(RESPONSIVE_MS);
      await page.getByTestId(`endpoint-row-${name(50)}`).waitFor({ timeout: RESPONSIVE_MS });
      expect(await page.getByTestId(`endpoint-row-${name(0)}`).count()).toBe(0);

      const filterMs = await answer(
        () => page.getByTestId('endpoint-filter').fill('ep-0777', { timeout: RESPONSIVE_MS }),
        // ep-07770 … ep-07779
        () => expect.poll(rows, { timeout: RESPONSIVE_MS, interval: 20 }).toBe(10),
      );
      expect(filterMs).toBeLessThan(RESPONSIVE_MS);
      expect(await page.getByTestId(`endpoint-row-${name(7776)}`).count()).toBe(1);

      await page.getByTestId('endpoint-filter').fill('');
      await expect.poll(rows, { timeout: RESPONSIVE_MS }).toBe(PAGE_SIZE);

      // All of that happened while the flood was still running.
      const sentWhileAnswered = flood.sent();
      await expect.poll(() => flood.sent(), { timeout: 2000 }).toBeGreaterThan(sentWhileAnswered);
      // On a fast run the answers above take under a second: let the row count be sampled a
      // few more times while the flood still runs, so the bound below rests on enough samples.
      await expect.poll(() => sampled.length, { timeout: 5000 }).toBeGreaterThan(5);
      console.log(
        `10,000 endpoints: first page ${firstPageMs} ms; next page ${nextMs} ms and filter ${filterMs} ms during the flood`,
      );
    } finally {
      flood.stop();
      clearInterval(sampler);
    }
    const sent = flood.sent();
    expect(sent).toBeGreaterThan(RATE / 2);

    // Never more than a page of rows in the DOM, however many events came in.
    expect(sampled.length).toBeGreaterThan(5);
    expect(Math.max(...sampled)).toBeLessThanOrEqual(PAGE_SIZE + ROW_MARGIN);

    // The page ends on the hub's truth: no event lost in the batches.
    const truth = hub.counts();
    for (const [state, n] of Object.entries(truth)) {
      await expect
        .poll(() => text(`count-${state}`), { timeout: 5000 })
        .toBe(`${n.toLocaleString('en')} ${state}`);
    }
    expect(await text('endpoint-total')).toBe('10,000 in all');

    // Events are folded and rendered in batches: a frame at a time, at most every 100 ms
    // (src/batch.ts), not once per event.
    const { frames, renders, ms } = await page.evaluate(() => {
      const w = window as unknown as { frames_: number; renders_: number; since_: number };
      return { frames: w.frames_, renders: w.renders_, ms: performance.now() - w.since_ };
    });
    console.log(
      `${sent} events in ${Math.round(ms)} ms: ${frames} frames, ${renders} renders of the counts`,
    );
    expect(renders).toBeGreaterThan(0);
    expect(renders).toBeLessThanOrEqual(frames);
    expect(renders).toBeLessThanOrEqual(ms / BATCH_MIN_GAP_MS + 10);
    expect(renders).toBeLessThan(sent / 50);

    // A state's count is a filter of its own.
    const backoff = truth.backoff ?? 0;
    expect(backoff).toBeGreaterThan(PAGE_SIZE);
    await page.getByTestId('count-backoff').click();
    await expect.poll(() => text('pager-range')).toBe(`1–50 of ${backoff.toLocaleString('en')}`);
    const states = await page
      .locator('[data-testid^="endpoint-state-"]')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-state')));
    expect(states).toHaveLength(PAGE_SIZE);
    expect(new Set(states)).toEqual(new Set(['backoff']));
    expect(errors).toEqual([]);
  });

  it('pages in Chinese and fits a 375 px phone at 10,000', async () => {
    await open({ width: 375, locale: 'zh-CN' });
    expect(await text('endpoint-total')).toBe('共 10,000 个');
    expect(await text('pager-range')).toBe('第 1–50 个，共 10,000 个');
    expect(await text('pager-next')).toContain('下一页');
    const flood = hub.flood();
    try {
      await page.getByTestId('pager-input').fill('200');
      await page.getByTestId('pager-input').press('Enter');
      await page
        .getByTestId('pager-range')
        .filter({ hasText: '第 9,951–10,000 个' })
        .waitFor({ timeout: RESPONSIVE_MS });
      expect(await page.getByTestId('pager-next').isDisabled()).toBe(true);
      await page.getByTestId(`endpoint-row-${name(FLEET - 1)}`).waitFor();
    } finally {
      flood.stop();
    }
    expect(await rows()).toBe(PAGE_SIZE);
    const [scrollWidth, innerWidth] = await page.evaluate<[number, number]>(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    );
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    // The pager's controls are all on screen, none cut off.
    for (const id of ['pager-prev', 'pager-input', 'pager-next']) {
      const box = await page.getByTestId(id).boundingBox();
      expect(box, id).not.toBeNull();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= 375, id).toBe(true);
    }
    expect(errors).toEqual([]);
  });
});
