/**
 * Reports end to end (docs/interfaces.md#reports): a month of history published through MQTT into the
 * real service (Mosquitto, InfluxDB), back-dated, with values chosen so that every figure
 * can be worked out by hand here; a trapping acknowledged through the API; then each kind
 * requested with `POST /api/reports` and its JSON, HTML and CSV checked. A second service on
 * the embedded store takes the same messages and must give the same health figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iso } from '../reports/index.ts';
import { D0, DAY, FAULTS, H, MIN, N, TODAY, TOPICS, expectedHealth, historyEstate, r, reading, ts } from '../reports/testing/history.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { freePort, sleep, waitFor } from './harness/ports.ts';
import { device } from './harness/publish.ts';
import { ROOT, removeDir, startService, tempDir, type TestService } from './harness/service.ts';

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService;
let emb: TestService;
let dev: MqttClient;
let hooks: Server;
const got: { path: string; body: any }[] = [];

async function api(method: string, path: string, token = 't-root', body?: unknown, on = svc): Promise<{ status: number; body: any }> {
  const res = await fetch(`${on.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}
const report = async (kind: string, from: number, to: number, token = 't-root', sites?: string[], on = svc) =>
  api('POST', '/api/reports', token, { kind, from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...(sites ? { sites } : {}) }, on);
const download = async (url: string, token = 't-root') => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

beforeAll(async () => {
  const hookPort = await freePort();
  hooks = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      got.push({ path: req.url!, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => hooks.listen(hookPort, '127.0.0.1', ok));
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const estate = historyEstate(`http://127.0.0.1:${hookPort}`);
  // Both services subscribe to the same broker, so both stores take the same readings.
  [svc, emb] = await Promise.all([
    startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: `reports_${process.pid}` } }),
    startService({ estate, env: { MQTT_URL: broker.url }, dataDir: tempDir('estate-reports-emb-') }),
  ]);
  dev = await device(broker.url);
  const sends: Promise<unknown>[] = [];
  for (const [id, topic] of Object.entries(TOPICS)) {
    for (let i = 0; i < N; i += 100) {
      const batch = Array.from({ length: Math.min(100, N - i) }, (_, j) => ({ ts: ts(i + j), seq: i + j + 1, metrics: reading(id, i + j) }));
      const payload = JSON.stringify(batch);
      expect(payload.length).toBeLessThan(16_384);
      sends.push(dev.publishAsync(`estate/${topic}/${id}/telemetry`, payload, { qos: 1 }));
    }
  }
  for (const [id, day, minute, code] of FAULTS) {
    const t = D0 + day * DAY + minute * MIN;
    sends.push(dev.publishAsync(`estate/${TOPICS[id]}/${id}/event`, JSON.stringify([{ ts: t, code, active: true }, { ts: t + MIN, code, active: false }]), { qos: 1 }));
  }
  await Promise.all(sends);
  for (const s of [svc, emb]) {
    await waitFor(
      `the history in the ${s.app.store.kind} store`,
      async () => {
        const n = await Promise.all([
          s.app.store.count('elevator', 'run_count'),
          s.app.store.count('hydrant', 'pressure_mpa'),
          s.app.store.count('water', 'ph'),
          s.app.store.count('firelane', 'occupied'),
          s.app.store.count('events', 'active'),
        ]);
        return n.join() === [2 * N, 2 * N, N, N, 2 * FAULTS.length].join();
      },
      60_000,
      200,
    );
  }
}, 180_000);

afterAll(async () => {
  await dev?.endAsync();
  await Promise.all([svc?.stop(), emb?.stop()]);
  await new Promise((ok) => hooks?.close(ok));
  await Promise.all([broker?.destroy(), influx?.destroy()]);
  for (const s of [svc, emb]) if (s) removeDir(s.dataDir);
});


let trapped: any;

describe('a trapping through the real engine', () => {
  it('is raised, acknowledged by market supervision and then the property company through the API, and resolved', async () => {
    await dev.publishAsync('estate/north/elevator/EL-1/event', JSON.stringify({ ts: Date.now(), code: 'trapped', active: true, detail: '困人 5-6 层之间' }), { qos: 1 });
    const a = await waitFor('the trapped alert', async () => (await api('GET', '/api/alerts?state=active')).body.items.find((x: any) => x.rule === 'trapped'));
    await sleep(1500);
    expect((await api('POST', `/api/alerts/${a.id}/ack`, 't-market', { note: '维保单位已出发' })).status).toBe(200);
    await sleep(1000);
    expect((await api('POST', `/api/alerts/${a.id}/ack`, 't-north', {})).status).toBe(200);
    await dev.publishAsync('estate/north/elevator/EL-1/event', JSON.stringify({ ts: Date.now(), code: 'trapped', active: false }), { qos: 1 });
    trapped = await waitFor('resolved', async () => {
      const x = (await api('GET', `/api/alerts/${a.id}`)).body;
      return x.state === 'resolved' ? x : undefined;
    });
    expect(trapped.acks.map((k: any) => k.department)).toEqual(['market-supervision', 'property']);
  });
});

describe('the health report', () => {
  it('gives figures equal to those worked out by hand, from InfluxDB', async () => {
    const to = Date.now();
    const res = await report('health', D0, to);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'formats', 'from', 'id', 'kind', 'schedule', 'sites', 'to']);
    expect(res.body).toMatchObject({ kind: 'health', from: iso(D0), to: iso(to), sites: null, schedule: null });
    const json = await download(res.body.formats.json);
    expect(json.type).toMatch(/application\/json/);
    const want = expectedHealth(D0, to);
    const firedAt = Date.parse(trapped.firedAt);
    const down = Date.parse(trapped.endsAt) - firedAt;
    // The live trapping: a fault and a trapping of EL-1, critical from firing until resolved.
    Object.assign(want.sites[0]!.elevators[0]!, { faults: { door_close_fault: 3, trapped: 1, user_alarm: 2 }, trappings: 1, availabilityPct: r(100 * (1 - down / (to - D0)), 2) });
    expect(JSON.parse(json.text)).toEqual(want);
    // The files are under DATA_DIR/reports/<id>/.
    for (const f of ['report.html', 'report.csv', 'report.json', 'meta.json']) expect(existsSync(join(svc.dataDir, 'reports', res.body.id, f))).toBe(true);
    expect(readFileSync(join(svc.dataDir, 'reports', res.body.id, 'report.json'), 'utf8')).toBe(json.text);

    const csv = await download(res.body.formats.csv);
    expect(csv.type).toMatch(/text\/csv/);
    expect(csv.text).toContain(`elevators,north,EL-1,runs,${5 * (N - 1)}\r\n`);
    expect(csv.text).toContain('elevators,north,EL-1,faults.trapped,1\r\n');
    expect(csv.text).toContain('hydrants,south,HY-2,minutesBelowMin,20\r\n');
    expect(csv.text).toContain(`water,north,WS-1,compliancePct.chlorine_mgl,${r((100 * (N - 20)) / N, 2)}\r\n`);
    expect(csv.text).toContain('firelanes,south,FL-1,incidents,3\r\n');

    const html = await download(res.body.formats.html);
    expect(html.type).toMatch(/text\/html/);
    expect(html.text).toContain((5 * (N - 1)).toLocaleString('en-US'));
    expect(html.text).toContain('door_close_fault × 3');
    expect(html.text).toContain('<td class="num">70</td>');
    // The trapping's response time: market supervision's acknowledgement − firing.
    const response = r((Date.parse(trapped.acks[0].at) - firedAt) / 1000, 1);
    expect(html.text).toMatch(new RegExp(`困人救援响应[\\s\\S]*market-supervision</td><td class="num">${response}</td>`));
    expect(html.text.match(/<svg /g)?.length).toBe(2); // chlorine and turbidity, daily means
    await screenshot(html.text);
  });

  it('counts one Shanghai day from the last reading before it', async () => {
    const res = await report('health', D0 + 3 * DAY, D0 + 4 * DAY);
    const body = JSON.parse((await download(res.body.formats.json)).text);
    expect(body.sites[0].elevators[0]).toMatchObject({ device: 'EL-1', runs: 144 * 5, doorCycles: 144 * 10, runningHours: 6 });
    expect(body.sites[1].elevators[0]).toMatchObject({ device: 'EL-2', runs: 144 * 3, runningHours: 12 });
  });

  it('is the same from the embedded store', async () => {
    const [a, b] = await Promise.all([report('health', D0, TODAY), report('health', D0, TODAY, 't-root', undefined, emb)]);
    const [ja, jb] = await Promise.all([download(a.body.formats.json), download(b.body.formats.json)]);
    expect(JSON.parse(ja.text)).toEqual(expectedHealth(D0, TODAY));
    expect(JSON.parse(jb.text)).toEqual(JSON.parse(ja.text));
  });
});

describe('the maintenance report', () => {
  it('takes maintenance recorded through the API (operators and admins, tasks of the device\'s kind only)', async () => {
    const post = (token: string, body: object) => api('POST', '/api/maintenance', token, body);
    const done = (t: number) => new Date(t).toISOString();
    const ok = await post('t-north', { device: 'EL-1', task: 'elevator_maintenance', doneAt: done(TODAY - 3 * DAY), note: '半月维保' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ site: 'north', device: 'EL-1', task: 'elevator_maintenance', doneAt: done(TODAY - 3 * DAY), recordedBy: 'ops-north', note: '半月维保' });
    expect((await post('t-root', { device: 'WS-1', task: 'tank_cleaning', doneAt: done(TODAY - 190 * DAY) })).status).toBe(201);
    expect((await post('t-north', { device: 'EL-1', task: 'tank_cleaning', doneAt: done(TODAY) })).body.error).toMatchObject({ code: 'BAD_REQUEST', message: 'tank_cleaning is a task of water devices; EL-1 is of kind elevator' });
    expect((await post('t-north', { device: 'EL-1', task: 'oil_change', doneAt: done(TODAY) })).status).toBe(400);
    expect((await post('t-north', { device: 'EL-1', task: 'elevator_maintenance', doneAt: done(Date.now() + DAY) })).status).toBe(400);
    expect((await post('t-north', { device: 'EL-2', task: 'elevator_maintenance', doneAt: done(TODAY) })).status).toBe(404); // not its site
    expect((await post('t-root', { device: 'EL-9', task: 'elevator_maintenance', doneAt: done(TODAY) })).status).toBe(404);
    expect((await post('t-market', { device: 'EL-1', task: 'elevator_maintenance', doneAt: done(TODAY) })).status).toBe(403);
    expect((await post('t-view-south', { device: 'EL-2', task: 'elevator_maintenance', doneAt: done(TODAY) })).status).toBe(403);
  });

  it('gives due dates, overdue tasks and the wear flags of the last week', async () => {
    const res = await report('maintenance', D0, TODAY);
    expect(res.status).toBe(201);
    const body = JSON.parse((await download(res.body.formats.json)).text);
    expect(body).toEqual({
      kind: 'maintenance',
      asOf: iso(TODAY),
      items: [
        { site: 'north', device: 'EL-1', task: 'elevator_maintenance', intervalDays: 15, lastDone: iso(TODAY - 3 * DAY), due: iso(TODAY + 12 * DAY), overdue: false },
        // EL-1's vibration doubled in the last week.
        { site: 'north', device: 'EL-1', task: 'inspect_vibration', intervalDays: null, lastDone: null, due: iso(TODAY), overdue: false },
        { site: 'north', device: 'WS-1', task: 'tank_cleaning', intervalDays: 182, lastDone: iso(TODAY - 190 * DAY), due: iso(TODAY - 8 * DAY), overdue: true },
        { site: 'north', device: 'WS-1', task: 'analyser_calibration', intervalDays: 91, lastDone: null, due: iso(TODAY), overdue: true },
        { site: 'south', device: 'EL-2', task: 'elevator_maintenance', intervalDays: 15, lastDone: null, due: iso(TODAY), overdue: true },
        // EL-2's door cycles went from 288 to 864 a day.
        { site: 'south', device: 'EL-2', task: 'inspect_doors', intervalDays: null, lastDone: null, due: iso(TODAY), overdue: false },
      ],
    });
    const html = (await download(res.body.formats.html)).text;
    expect(html).toMatch(/开关门次数\/天[\s\S]*<td class="num">864<\/td><td class="num">288<\/td>/);
    expect((await download(res.body.formats.csv)).text).toContain(`maintenance,north,WS-1,tank_cleaning.due,${iso(TODAY - 8 * DAY)}\r\n`);
  });
});

describe('the accountability report', () => {
  it('gives each department and property company its response figures', async () => {
    const res = await report('accountability', D0, Date.now());
    const body = JSON.parse((await download(res.body.formats.json)).text);
    const fired = Date.parse(trapped.firedAt);
    const sec = (k: number) => r((Date.parse(trapped.acks[k].at) - fired) / 1000, 1);
    const none = { ackP50Sec: null, ackP90Sec: null, escalations: 0 };
    expect(body.departments).toEqual([
      // Three fire-lane occupations, none acknowledged.
      { id: 'fire-rescue', alerts: 3, ...none, ackedWithinDeadlinePct: 0 },
      // Two TDS readings above 1000 mg/L (a warning at once).
      { id: 'health-commission', alerts: 2, ...none, ackedWithinDeadlinePct: 0 },
      { id: 'housing', alerts: 0, ...none, ackedWithinDeadlinePct: null },
      // Six elevator faults and the trapping, which it acknowledged in time.
      { id: 'market-supervision', alerts: 7, ackP50Sec: sec(0), ackP90Sec: sec(0), escalations: 0, ackedWithinDeadlinePct: r(100 / 7, 2) },
      { id: 'water-authority', alerts: 0, ...none, ackedWithinDeadlinePct: null },
    ]);
    expect(body.properties).toEqual([
      { site: 'north', alerts: 8, ackP50Sec: sec(1), ackP90Sec: sec(1), escalations: 0, ackedWithinDeadlinePct: 12.5 },
      { site: 'south', alerts: 4, ...none, ackedWithinDeadlinePct: 0 },
    ]);
    expect(sec(0)).toBeGreaterThanOrEqual(1.5);
    expect(sec(1)).toBeGreaterThan(sec(0));
    expect((await download(res.body.formats.html)).text).toContain('告警响应考核报告');
  });
});

describe('the reports API', () => {
  it('lists reports newest first and shows a token only the reports of sites it may see', async () => {
    const mine = await report('health', D0, TODAY, 't-north');
    expect(mine.status).toBe(201);
    expect(mine.body.sites).toEqual(['north']);
    const all = (await api('GET', '/api/reports')).body.items;
    expect(all[0].id).toBe(mine.body.id);
    expect(all.map((x: any) => x.createdAt)).toEqual([...all.map((x: any) => x.createdAt)].sort().reverse());
    const north = (await api('GET', '/api/reports', 't-north')).body.items;
    expect(north.map((x: any) => x.id)).toEqual([mine.body.id]);
    expect((await api('GET', `/api/reports/${all[1].id}`, 't-north')).status).toBe(404);
    expect((await download(all[1].formats.html, 't-north')).status).toBe(404);
    expect((await api('GET', `/api/reports/${mine.body.id}`, 't-north')).body).toEqual(mine.body);
    expect((await download(mine.body.formats.csv, 't-view-south')).status).toBe(404);
    expect((await fetch(mine.body.formats.html)).status).toBe(401);
    expect((await api('GET', '/api/reports?kind=maintenance')).body.items.every((x: any) => x.kind === 'maintenance')).toBe(true);
  });

  it('refuses what it cannot make', async () => {
    expect((await report('health', D0, TODAY, 't-north', ['south'])).status).toBe(404);
    expect((await report('health', D0, TODAY, 't-root', ['nowhere'])).status).toBe(404);
    expect((await report('health', TODAY, D0)).body.error.code).toBe('BAD_REQUEST');
    expect((await report('health', D0, Date.now() + DAY)).status).toBe(400);
    expect((await report('weather', D0, TODAY)).status).toBe(400);
    expect((await report('health', D0, TODAY, 't-view-south')).status).toBe(403);
    expect((await api('POST', '/api/reports', 't-root', { kind: 'health', from: 'yesterday', to: 'today' })).status).toBe(400);
  });

  it('writes report requests and maintenance to the audit log', async () => {
    const audit = (await api('GET', '/api/audit?limit=1000')).body.items;
    expect(audit.filter((a: any) => a.action === 'report.request').length).toBeGreaterThanOrEqual(6);
    expect(audit.filter((a: any) => a.action === 'maintenance.record').map((a: any) => [a.actor, a.target])).toEqual([
      ['root', 'WS-1'],
      ['ops-north', 'EL-1'],
    ]);
  });

  it('a scheduled run sends the report\'s links to the property companies', async () => {
    await svc.app.reports.schedules.fire('daily', TODAY + 7 * H);
    const ready = await waitFor('two report.ready deliveries', () => {
      const x = got.filter((g) => g.body.event === 'report.ready');
      return x.length >= 2 ? x : undefined;
    });
    expect(ready.map((g) => g.path).sort()).toEqual(['/property/north', '/property/south']);
    const { report: made } = ready[0]!.body;
    expect(made).toMatchObject({ kind: 'health', from: iso(TODAY - DAY), to: iso(TODAY) });
    const listed = (await api('GET', `/api/reports/${made.id}`)).body;
    expect(listed).toMatchObject({ schedule: 'daily', sites: null, formats: made.formats });
    expect((await download(made.formats.json)).status).toBe(200);
  });
});

async function screenshot(html: string): Promise<void> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.setContent(html, { waitUntil: 'load' });
    expect(await page.locator('svg polyline').count()).toBe(2);
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
    // UPDATE_SCREENSHOTS=1 refreshes the picture in docs/reports.md.
    if (process.env.UPDATE_SCREENSHOTS) writeFileSync(join(ROOT, 'docs/screenshots/report-health.png'), shot);
  } finally {
    await browser.close();
  }
}
