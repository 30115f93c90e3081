/**
 * The deliveries view in Debian's Chromium against the whole service (real Mosquitto, the
 * demo estate, a real webhook receiver): after a trapping, an admin sees who was told of it,
 * over which channel, of what, with the receiver's answer; one delivery that keeps failing
 * shows as pending with its error; a viewer is not offered the view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { join } from 'node:path';
import { loadEstate } from '../../config/index.ts';
import { Receiver } from '../../alerts/delivery/testing/receiver.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { ROOT, startService, removeDir, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { waitFor } from '../harness/ports.ts';
import { launch, openSignedIn, watchErrors } from './chromium.ts';

const WAIT = 30_000;

describe('deliveries view', () => {
  let mosquitto: Mosquitto;
  let service: TestService;
  let browser: Browser;
  let mqtt: MqttClient;
  const contexts: BrowserContext[] = [];
  // Market supervision's receiver refuses for now (503: retried); the others take everything.
  const rx = new Receiver((r) => (r.url.startsWith('/department/market-supervision') ? { status: 503 } : { status: 204 }));

  beforeAll(async () => {
    await rx.listen();
    mosquitto = await startMosquitto();
    const estate = loadEstate(join(ROOT, 'config/estate.yaml'), { DEMO_HOOK_PORT: String(rx.port) });
    service = await startService({ estate, env: { MQTT_URL: mosquitto.url } });
    browser = await launch();
    mqtt = await device(mosquitto.url);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await mqtt?.endAsync();
    await service?.stop();
    await rx.close();
    await mosquitto?.destroy();
    if (service) removeDir(service.dataDir);
  });

  async function newPage(): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    return { page, errors: watchErrors(page) };
  }

  it('shows, for the alert, who was told over which channel and what each receiver answered', async () => {
    await mqtt.publishAsync('estate/jinfo-garden/elevator/EL-3-A/event', JSON.stringify({ code: 'trapped', active: true, detail: '轿厢停在 12 层与 13 层之间' }), { qos: 1 });
    await waitFor('the property company told', () => rx.received.some((r) => r.url === '/property/jinfo-garden' && r.status === 204), WAIT);
    await waitFor('market supervision refused once', () => rx.received.some((r) => r.url.startsWith('/department/market-supervision')), WAIT);
    const { page, errors } = await newPage();
    await openSignedIn(page, service.url, 'demo-admin', '/');
    await page.locator('nav a[href="/deliveries"]').click();
    const card = page.locator('section[data-alert]').filter({ hasText: 'EL-3-A' }).first();
    await card.locator('table[data-testid="deliveries"] tr[data-status]').first().waitFor();
    const rows = card.locator('table[data-testid="deliveries"] tbody tr');
    const texts = await rows.allInnerTexts();
    const property = texts.find((x) => x.includes('物业'));
    const market = texts.find((x) => x.includes('市场监管'));
    expect(property).toMatch(/Webhook[\s\S]*告警[\s\S]*已送达/);
    expect(market).toMatch(/Webhook[\s\S]*告警[\s\S]*待发送[\s\S]*503/);
    // the channel's target is shown without its secrets
    expect(texts.join(' ')).not.toMatch(/demo-department-secret|demo-property-secret/);
    await page.getByTestId('switch-lang').click();
    await card.filter({ hasText: 'Delivered' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('is not offered to a viewer, and says why at its address', async () => {
    const { page } = await newPage();
    await openSignedIn(page, service.url, 'demo-viewer', '/', 'viewer');
    await page.locator('nav a[href="/alerts"]').waitFor();
    expect(await page.locator('nav a[href="/deliveries"]').count()).toBe(0);
    await page.goto(`${service.url}/deliveries`);
    await page.locator('.notice.error').filter({ hasText: '运营人员和管理员' }).waitFor();
  });
});
