/**
 * The web UI in Debian's Chromium against the whole service (real Mosquitto, embedded store):
 * signing in, a live value after a device publishes, acknowledging an alert, switching to
 * English, and what viewer and department tokens are shown. Every wait is an auto-waiting
 * locator or a poll with a generous deadline, never a fixed sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, removeDir, type TestService } from '../harness/service.ts';
import { device, telemetry } from '../harness/publish.ts';
import { launch, openSignedIn, watchErrors } from './chromium.ts';

const WAIT = 30_000;

describe('web UI', () => {
  let mosquitto: Mosquitto;
  let service: TestService;
  let browser: Browser;
  let mqtt: MqttClient;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    service = await startService({ env: { MQTT_URL: mosquitto.url } });
    browser = await launch();
    mqtt = await device(mosquitto.url);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await mqtt?.endAsync();
    await service?.stop();
    await mosquitto?.destroy();
    if (service) removeDir(service.dataDir);
  });

  async function newPage(): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    return { page, errors: watchErrors(page) };
  }

  const publish = (topic: string, payload: string) => mqtt.publishAsync(topic, payload, { qos: 1 });

  it('refuses a wrong token plainly, then signs in and shows the compounds', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${service.url}/`);
    await page.fill('#token', 'demo-nobody');
    await page.click('form.login button[type=submit]');
    await page.getByTestId('login-error').filter({ hasText: '令牌无效' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await page.fill('#token', 'demo-admin');
    await page.click('form.login button[type=submit]');
    await page.locator('.site-card[data-site="jinfo-garden"]').filter({ hasText: '金佛花园' }).waitFor();
    await page.locator('.site-card[data-site="nancheng-mansion"]').waitFor();
    expect(await page.locator('nav [data-nav]').allTextContents()).toEqual(['总览', '告警', '报告', '通知记录', '接入异常']);
    expect(errors).toEqual([]);
  });

  it('shows a new value on the device tile once the device publishes it over MQTT', async () => {
    const { page, errors } = await newPage();
    await openSignedIn(page, service.url, 'demo-admin', '/sites/jinfo-garden');
    const pressure = page.locator('.tile[data-device="HY-03"] [data-metric="pressure_mpa"]');
    await pressure.waitFor();
    // Live once subscribed: the indicator says so.
    await page.locator('.live[data-state="live"]').waitFor();
    await publish('estate/jinfo-garden/hydrant/HY-03/telemetry', telemetry({ pressure_mpa: 0.47, temp_c: 12.5 }));
    await expect.poll(() => pressure.textContent(), { timeout: WAIT }).toBe('0.47 MPa');
    await expect.poll(() => page.locator('.tile[data-device="HY-03"]').getAttribute('data-state'), { timeout: WAIT }).toBe('ok');
    await expect.poll(() => page.locator('.tile[data-device="HY-03"] .tile-seen').textContent(), { timeout: WAIT }).toMatch(/刚刚|秒前/);
    // A second reading changes the same tile element: the tile is updated, not rebuilt.
    await page.locator('.tile[data-device="HY-03"]').evaluate((el) => ((el as HTMLElement & { mark?: number }).mark = 1));
    await publish('estate/jinfo-garden/hydrant/HY-03/telemetry', telemetry({ pressure_mpa: 0.52 }));
    await expect.poll(() => pressure.textContent(), { timeout: WAIT }).toBe('0.52 MPa');
    expect(await page.locator('.tile[data-device="HY-03"]').evaluate((el) => (el as HTMLElement & { mark?: number }).mark)).toBe(1);
    expect(errors).toEqual([]);
  });

  it('acknowledges an alert with a note and shows who did it', async () => {
    const { page, errors } = await newPage();
    await openSignedIn(page, service.url, 'demo-ops-jinfo', '/alerts', 'operator');
    await page.locator('.live[data-state="live"]').waitFor();
    // A hydrant that reports being tampered with fires tamper_metric, critical, at once.
    await publish('estate/jinfo-garden/hydrant/HY-04/telemetry', telemetry({ pressure_mpa: 0.3, tamper: true }));
    const row = page.locator('tr[data-device="HY-04"][data-rule="tamper_metric"]');
    await row.locator('[data-state="firing"]').filter({ hasText: '告警中' }).waitFor();
    await row.locator('button[data-action="ack"]').click();
    await page.locator('tr.form-row[data-form="ack"] textarea').fill('已派维修人员到场');
    await page.locator('tr.form-row[data-form="ack"] button[type=submit]').click();
    await row.locator('[data-state="acknowledged"]').filter({ hasText: '已确认' }).waitFor();
    await row.locator('.acked-by').filter({ hasText: 'ops-jinfo' }).waitFor();
    await row.locator('.ack-note').filter({ hasText: '已派维修人员到场' }).waitFor();
    expect(await row.locator('button[data-action="ack"]').count()).toBe(0);

    const api = (await (await fetch(`${service.url}/api/alerts?state=active`, { headers: { authorization: 'Bearer demo-admin' } })).json()) as { items: { device: string; rule: string; state: string; ackedBy: string; ackNote: string }[] };
    expect(api.items.find((a) => a.device === 'HY-04' && a.rule === 'tamper_metric')).toMatchObject({ state: 'acknowledged', ackedBy: 'ops-jinfo', ackNote: '已派维修人员到场' });
    expect(errors).toEqual([]);
  });

  it('switches to English, labels from the catalog included, and remembers it', async () => {
    const { page, errors } = await newPage();
    await openSignedIn(page, service.url, 'demo-admin', '/sites/jinfo-garden');
    await page.locator('.tile[data-device="HY-01"] dt').first().filter({ hasText: '水压' }).waitFor();
    await page.getByTestId('switch-lang').click();
    await page.locator('.tile[data-device="HY-01"] dt').first().filter({ hasText: 'Pressure' }).waitFor();
    expect(await page.locator('nav [data-nav]').allTextContents()).toEqual(['Overview', 'Alerts', 'Reports', 'Deliveries', 'Ingest problems']);
    expect(await page.locator('.tile[data-device="EL-1-A"] .tile-kind').textContent()).toBe('Elevator');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.reload();
    await page.locator('nav [data-nav="alerts"]').filter({ hasText: 'Alerts' }).waitFor();
    await page.getByTestId('switch-lang').click();
    await page.locator('nav [data-nav="alerts"]').filter({ hasText: '告警' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('shows a viewer no acknowledge or silence, and a department only its alerts and no ingest log', async () => {
    await publish('estate/jinfo-garden/hydrant/HY-05/telemetry', telemetry({ pressure_mpa: 0.3, tamper: true }));
    const viewer = await newPage();
    await viewer.page.goto(`${service.url}/alerts`);
    await viewer.page.fill('#token', 'demo-viewer');
    await viewer.page.click('form.login button[type=submit]');
    await viewer.page.locator('tr[data-device="HY-05"][data-rule="tamper_metric"]').waitFor();
    expect(await viewer.page.locator('button[data-action]').count()).toBe(0);
    expect(await viewer.page.locator('.badge.role').textContent()).toBe('只读');

    const fire = await newPage();
    await fire.page.goto(`${service.url}/alerts`);
    await fire.page.fill('#token', 'demo-fire');
    await fire.page.click('form.login button[type=submit]');
    await fire.page.locator('tr[data-device="HY-05"] button[data-action="ack"]').waitFor();
    expect(await fire.page.locator('button[data-action="silence"]').count()).toBe(0);
    expect(await fire.page.locator('nav [data-nav="ingest"]').count()).toBe(0);
    await fire.page.goto(`${service.url}/ingest`);
    await fire.page.locator('.notice.error').filter({ hasText: '无权查看接入异常' }).waitFor();
    expect([...viewer.errors, ...fire.errors]).toEqual([]);
  });
});
