import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package; CHROMIUM_PATH names another build. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const OUTPUT_DIR = path.join(__dirname, '..', 'output');

/**
 * Headless Chromium for the browser tests. Missing Chromium fails the suite with what to do: the
 * test set-up (scripts/ensure-deps.js, .ci/run) installs it like PostgreSQL and Redis.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the browser tests need Debian's chromium package (npm test installs it; or apt-get install chromium, or set CHROMIUM_PATH)`);
  }
  // Playwright gives each launch a fresh, throw-away profile (its own --user-data-dir).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/**
 * Mocha hooks giving each test a fresh browser context and page at a laptop's width; a failing
 * test leaves a full-page screenshot in test/output/ named after it.
 */
export function useBrowserPage(): { page: () => Page; errors: () => string[] } {
  let chromiumRun: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];
  before(async () => {
    chromiumRun = await launchChromium();
  });
  after(async () => {
    await chromiumRun?.close();
  });
  beforeEach(async () => {
    context = await chromiumRun!.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // confirm() before revoking: the tests answer yes, as an operator would.
    page.on('dialog', (dialog) => void dialog.accept());
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      mkdirSync(OUTPUT_DIR, { recursive: true });
      const name = this.currentTest.fullTitle().replace(/[^\w-]+/g, '_').slice(0, 120);
      await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}.png`), fullPage: true }).catch(() => undefined);
    }
    await context?.close();
  });
  return { page: () => page!, errors: () => errors };
}
