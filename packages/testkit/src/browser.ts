/** Debian's Chromium: browser tests drive it through playwright-core, never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launch options for it: headless, and quiet on this closed network (no background requests). */
export const chromiumLaunchOptions = {
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-gpu',
    '--no-first-run',
  ],
};
