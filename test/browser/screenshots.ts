/**
 * `npm run screenshots`: the demo estate with simulated devices, a few problems raised on
 * purpose (a trapping, a blocked fire lane acknowledged with a note, an open tank cover, a
 * muted door fault, an offline lane sensor, an hour of hydrant history with a pressure dip,
 * messages ingest refuses), and a PNG of each view at 1280×800 in docs/screenshots/.
 * Runs the whole service in-process on free ports (embedded broker and store, temp data).
 * Critical alerts escalate after 30 s instead of 5 min, so that the alerts view shows one.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { parseEstate } from '../../config/index.ts';
import { Fleet } from '../../simulators/index.ts';
import { ROOT, removeDir, startService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { buildUi, launch, openSignedIn } from './chromium.ts';

const OUT = join(ROOT, 'docs', 'screenshots');
const TOKEN = 'demo-admin';

async function api<T>(base: string, path: string, token = TOKEN, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** HY-03's last 90 minutes, a reading every 20 s, with a 12-minute dip below 0.14 MPa 40 minutes ago. */
function hydrantHistory(now: number) {
  const out = [];
  for (let ago = 90 * 60; ago > 0; ago -= 20) {
    const dip = ago <= 40 * 60 && ago >= 28 * 60;
    const wave = 0.03 * Math.sin(ago / 700) + 0.01 * Math.sin(ago / 97);
    out.push({ ts: now - ago * 1000, metrics: { pressure_mpa: Math.round((dip ? 0.12 + wave / 3 : 0.31 + wave) * 1000) / 1000, temp_c: Math.round((12 + Math.sin(ago / 2000)) * 10) / 10, battery_pct: 86 } });
  }
  return out;
}

async function shoot(page: Page, name: string, ready: () => Promise<unknown>): Promise<void> {
  await ready();
  await sleep(600);
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

async function main(): Promise<void> {
  buildUi();
  mkdirSync(OUT, { recursive: true });
  const file = join(ROOT, 'config', 'estate.yaml');
  const estate = parseEstate(`${readFileSync(file, 'utf8')}\nalerting:\n  escalateAfterMin: { critical: 0.5, warning: 30, trapped: 0.5 }\n`, file);
  const service = await startService({ estate });
  const base = service.url;
  const mqttUrl = service.app.mqttUrl;
  const mqtt = await device(mqttUrl);
  const pub = (topic: string, payload: unknown) => mqtt.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
  let fleet: Fleet | undefined;
  const browser = await launch();
  try {
    const history = hydrantHistory(Date.now());
    for (let i = 0; i < history.length; i += 100) await pub('estate/jinfo-garden/hydrant/HY-03/telemetry', history.slice(i, i + 100));
    await waitFor('the pressure dip to be judged', async () => (await api<{ items: { device: string; rule: string; state: string }[] }>(base, '/api/alerts?state=all')).items.some((a) => a.device === 'HY-03' && a.rule === 'pressure_low' && a.state === 'resolved'), 30_000, 200);

    fleet = new Fleet({ estate: service.app.estate, mqttUrl, rateHz: 0.5, seed: 1, log: () => undefined });
    fleet.start();
    await sleep(4000);

    const inAnHour = new Date(Date.now() + 2 * 3_600_000).toISOString();
    await api(base, '/api/silences', TOKEN, { matchers: { site: 'nancheng-mansion', device: 'NC-EL-2-B', rule: 'door_open_fault' }, endsAt: inAnHour, comment: '电梯维保单位年检，门机调试' });
    const event = (site: string, kind: string, id: string, code: string, detail: string) => pub(`estate/${site}/${kind}/${id}/event`, { code, active: true, detail });
    await event('jinfo-garden', 'elevator', 'EL-3-A', 'trapped', '轿厢停在 12 层与 13 层之间');
    await event('jinfo-garden', 'firelane', 'FL-02', 'blocked', '私家车占用消防通道');
    await event('jinfo-garden', 'water', 'WS-02', 'tank_cover_open', '水箱人孔盖未锁');
    await event('nancheng-mansion', 'elevator', 'NC-EL-2-B', 'door_close_fault', '关门受阻');
    await event('nancheng-mansion', 'elevator', 'NC-EL-2-B', 'door_open_fault', '开门超时');
    await pub('estate/nancheng-mansion/firelane/NC-FL-05/status', { online: false });
    await waitFor('the alerts', async () => (await api<{ items: unknown[] }>(base, '/api/alerts?state=active')).items.length >= 5, 20_000, 200);
    const active = await api<{ items: { id: string; device: string; rule: string }[] }>(base, '/api/alerts?state=active');
    const blocked = active.items.find((a) => a.device === 'FL-02' && a.rule === 'blocked');
    if (blocked) await api(base, `/api/alerts/${blocked.id}/ack`, 'demo-ops-jinfo', { note: '已联系车主挪车，保安到场' });
    await waitFor('an escalation', async () => (await api<{ items: { escalatedAt: string | null }[] }>(base, '/api/alerts?state=active')).items.some((a) => a.escalatedAt), 120_000, 500);

    // What ingest refuses: a bad topic, an unknown device, a payload that is not JSON, a pressure out of range, a time far ahead.
    await pub('estate/jinfo-garden/boiler/BX-01/telemetry', { metrics: { temp_c: 60 } });
    await pub('estate/jinfo-garden/hydrant/HY-99/telemetry', { metrics: { pressure_mpa: 0.3 } });
    await pub('estate/nancheng-mansion/hydrant/NC-HY-11/telemetry', { metrics: { pressure_mpa: 0.29 } });
    await pub('estate/jinfo-garden/hydrant/HY-01/telemetry', 'pressure=0.3');
    await pub('estate/jinfo-garden/hydrant/HY-02/telemetry', { metrics: { pressure_mpa: 9.5, temp_c: 12 } });
    await pub('estate/jinfo-garden/water/WS-01/telemetry', { ts: Date.now() + 3_600_000, metrics: { ph: 7.1 } });
    await sleep(4000);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    context.setDefaultTimeout(30_000);
    const login = await context.newPage();
    await login.goto(`${base}/login`);
    await shoot(login, 'login', () => login.locator('#token').waitFor());

    const page = await context.newPage();
    await openSignedIn(page, base, TOKEN, '/');
    await shoot(page, 'overview', () => page.locator('.site-card').nth(1).waitFor());
    await page.goto(`${base}/sites/jinfo-garden`);
    await shoot(page, 'compound', async () => {
      await page.locator('.live[data-state="live"]').waitFor();
      await page.locator('.tile[data-state="critical"]').first().waitFor();
    });
    await page.goto(`${base}/devices/HY-03`);
    await shoot(page, 'device', () => page.locator('.chart-card canvas').nth(2).waitFor());
    await page.goto(`${base}/alerts?state=all`);
    await shoot(page, 'alerts', () => page.locator('tr[data-state="acknowledged"]').first().waitFor());
    await page.goto(`${base}/ingest`);
    await shoot(page, 'ingest', () => page.locator('table.unregistered tr[data-device]').first().waitFor());
    const now = new Date().toISOString();
    const today = new Date(Date.now() - 6 * 3_600_000).toISOString();
    await api(base, '/api/maintenance', TOKEN, { device: 'EL-1-A', task: 'elevator_maintenance', doneAt: today, note: '半月保养' });
    for (const kind of ['maintenance', 'accountability', 'health']) await api(base, '/api/reports', TOKEN, { kind, from: today, to: now });
    await page.goto(`${base}/reports`);
    await page.locator('table.reports tr[data-kind="health"] button').first().click();
    await shoot(page, 'reports', () => page.frameLocator('iframe.report-frame').locator('h1').waitFor());
    await page.goto(`${base}/sites/nancheng-mansion`);
    await page.getByTestId('switch-lang').click();
    await shoot(page, 'compound-en', async () => {
      await page.locator('.live[data-state="live"]').waitFor();
      await page.locator('.tile[data-state="warning"] .tile-kind').filter({ hasText: 'Elevator' }).first().waitFor();
    });
    await context.close();
  } finally {
    await browser.close();
    await fleet?.stop();
    await mqtt.endAsync();
    await service.stop();
    removeDir(service.dataDir);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
