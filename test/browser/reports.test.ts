/**
 * The reports view in Debian's Chromium against the whole service (real Mosquitto, embedded
 * store): an operator requests a report, sees it listed, opens its HTML in the page and
 * downloads its CSV, all through the token (blob URLs); records an elevator's maintenance on
 * the device view and finds it in the next maintenance report; a viewer sees the list but no
 * form. Waits are auto-waiting locators with generous deadlines, never fixed sleeps.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, removeDir, type TestService } from '../harness/service.ts';
import { launch, openSignedIn, watchErrors } from './chromium.ts';

const WAIT = 30_000;

describe('reports in the web UI', () => {
  let mosquitto: Mosquitto;
  let service: TestService;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    service = await startService({ env: { MQTT_URL: mosquitto.url } });
    browser = await launch();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await service?.stop();
    await mosquitto?.destroy();
    if (service) removeDir(service.dataDir);
  });

  async function newPage(): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    contexts.push(context);
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    return { page, errors: watchErrors(page) };
  }

  it('requests a health report, lists it, opens its HTML and downloads its CSV', async () => {
    const { page, errors } = await newPage();
    await openSignedIn(page, service.url, 'demo-ops-jinfo', '/reports', 'operator');
    const form = page.getByTestId('report-form');
    await form.locator('select[name="kind"]').selectOption('health');
    await form.locator('[data-preset="week"]').click();
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => page.getByTestId('report-message').textContent(), { timeout: WAIT }).toContain('已生成');

    const row = page.locator('table.reports tbody tr[data-kind="health"]').first();
    await row.waitFor();
    const id = await row.getAttribute('data-report');
    expect(id).toBeTruthy();
    // The operator's token covers one compound: the report says so.
    expect(await row.textContent()).toContain('金佛花园');

    await row.getByRole('button', { name: '查看' }).click();
    const frame = page.frameLocator(`iframe.report-frame[data-report="${id}"]`);
    await expect.poll(() => frame.locator('h1').textContent(), { timeout: WAIT }).toContain('健康');

    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: '下载 CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^health_.*${id}\\.csv$`));
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n').length).toBeGreaterThan(1);
    expect(errors).toEqual([]);
  });

  it('refuses a period that ends before it begins, in words, without asking the API', async () => {
    const { page } = await newPage();
    await openSignedIn(page, service.url, 'demo-admin', '/reports');
    const form = page.getByTestId('report-form');
    await form.locator('input[name="from"]').fill('2026-11-20');
    await form.locator('input[name="to"]').fill('2026-11-10');
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => page.getByTestId('report-message').textContent()).toBe('起始日期不能晚于截止日期。');
  });

  it('records an elevator maintenance on the device view; the maintenance report counts it', async () => {
    const { page, errors } = await newPage();
    await openSignedIn(page, service.url, 'demo-ops-jinfo', '/devices/EL-1-A', 'operator');
    const form = page.getByTestId('maintenance-form');
    await form.locator('input[name="note"]').fill('季度保养');
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => page.getByTestId('maintenance-message').textContent(), { timeout: WAIT }).toContain('电梯维护保养');

    const res = await fetch(`${service.url}/api/reports`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-ops-jinfo', 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'maintenance', from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() }),
    });
    expect(res.status).toBe(201);
    const report = (await res.json()) as { id: string };
    const json = JSON.stringify(await (await fetch(`${service.url}/api/reports/${report.id}/report.json`, { headers: { authorization: 'Bearer demo-ops-jinfo' } })).json());
    // The elevator's task now has a "last done" (today) and is not overdue; its sister lift's is never done.
    const task = (device: string) => new RegExp(`\\{"site":"jinfo-garden","device":"${device}","task":"elevator_maintenance","intervalDays":15,"lastDone":([^,]+),[^}]*"overdue":(true|false)\\}`).exec(json);
    expect(task('EL-1-A')?.[1]).toMatch(/^"\d{4}-/);
    expect(task('EL-1-A')?.[2]).toBe('false');
    expect(task('EL-1-B')?.[1]).toBe('null');
    expect(errors).toEqual([]);
  });

  it('shows a viewer the list in English but no request form, and no maintenance form', async () => {
    const { page } = await newPage();
    await page.addInitScript(() => localStorage.setItem('estate-sentinel.lang', 'en'));
    await openSignedIn(page, service.url, 'demo-viewer', '/reports', 'viewer');
    await page.locator('h2', { hasText: 'Reports made' }).waitFor();
    await page.locator('table.reports, p.muted').first().waitFor();
    expect(await page.getByTestId('report-form').count()).toBe(0);
    await page.goto(`${service.url}/devices/EL-1-A`);
    await page.locator('table.latest').waitFor();
    expect(await page.getByTestId('maintenance-form').count()).toBe(0);
  });
});
