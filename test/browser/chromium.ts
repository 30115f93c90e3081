/**
 * Debian's Chromium driven by playwright-core, for the browser tests and the screenshots.
 * Never `npx playwright install`: the browser is the system's (`apt-get install chromium`,
 * which .ci/run does when it is missing); CHROMIUM overrides the path.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureUiBuilt } from '../../dashboard/ui-serve.ts';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    timeout: 60_000,
  });
}

/** Builds the UI once if it is missing or older than its sources (the service would, at start). */
export function buildUi(): void {
  if (!ensureUiBuilt({ info: (o, m) => console.log(m, o), error: (o, m) => console.error(m, o) })) throw new Error('the web UI did not build: npm run build:ui shows why');
}

/** Opens `path` already signed in with `token` (as the login would leave the tab). */
export async function openSignedIn(page: Page, base: string, token: string, path: string, role = 'admin'): Promise<void> {
  await page.addInitScript(([t, r]) => sessionStorage.setItem('estate-sentinel.token', JSON.stringify({ token: t, role: r })), [token, role] as const);
  await page.goto(base + path);
}

/** Fails the test on an error thrown in the page (a console message alone is not one: the probe of the role answers 403/404 on purpose). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}
