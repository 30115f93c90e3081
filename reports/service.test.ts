/**
 * The reports part without a broker: the maintenance report (intervals, "never maintained
 * is due at once", wear flags from trends in the series store), a scheduled run announcing
 * its links through the outbox, the archive surviving a restart, and the CSV's long form.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Point } from '../storage/index.ts';
import { fixture, type Fixture } from './testing/fixtures.ts';
import { iso } from './calendar.ts';
import type { MaintenanceJson } from './types.ts';
import type { ReportReady } from './service.ts';

const H = 3_600_000;
const D = 24 * H;
/** As of 2026-11-20 00:00 in Shanghai. */
const A = Date.parse('2026-11-20T00:00:00+08:00');

let f: Fixture;

beforeAll(async () => {
  f = await fixture(() => A + H);
  // Hourly elevator readings (their reporting interval) over the 37 days before A.
  const points: Point[] = [];
  const doors: Record<string, number> = { 'EL-1': 0, 'EL-2': 0 };
  for (let t = A - 37 * D; t < A; t += H) {
    const recent = t >= A - 7 * D;
    // EL-1: door cycles steady at 4 an hour, vibration doubling in the last week.
    doors['EL-1']! += 4;
    // EL-2: door cycles from 4 to 8 an hour in the last week, vibration steady.
    doors['EL-2']! += recent ? 8 : 4;
    for (const device of ['EL-1', 'EL-2']) {
      const vibration = device === 'EL-1' ? (recent ? 2 : 1) : 1.5;
      points.push({ measurement: 'elevator', tags: { site: device === 'EL-1' ? 'a' : 'b', building: '1栋', device }, fields: { door_cycles: doors[device]!, vibration_mms: vibration }, ts: t });
    }
  }
  expect(await f.store.writeLines(points.map((p) => f.store.encode(p)))).toEqual([]);
  const record = (device: string, task: 'elevator_maintenance' | 'tank_cleaning' | 'analyser_calibration', doneAt: number) =>
    f.reports.recordMaintenance({ device, task, doneAt, note: null, recordedBy: 'ops' });
  record('EL-1', 'elevator_maintenance', A - 20 * D);
  record('EL-1', 'elevator_maintenance', A - 10 * D);
  record('EL-1', 'elevator_maintenance', A + D); // after the report's time: not yet done then
  record('EL-2', 'elevator_maintenance', A - 15 * D);
  record('WS-1', 'tank_cleaning', A - 200 * D);
});

afterAll(async () => {
  await f?.close();
});

describe('the maintenance report', () => {
  it('gives last done, due and overdue per task, and wear items where the trends rose', async () => {
    const view = await f.reports.request({ kind: 'maintenance', from: A - 30 * D, to: A, sites: null, requestedBy: 'root' });
    const r = JSON.parse(readFileSync(f.reports.file(view.id, 'json')!.path, 'utf8')) as MaintenanceJson;
    expect(r).toEqual({
      kind: 'maintenance',
      asOf: '2026-11-20T00:00:00+08:00',
      items: [
        { site: 'a', device: 'EL-1', task: 'elevator_maintenance', intervalDays: 15, lastDone: iso(A - 10 * D), due: iso(A + 5 * D), overdue: false },
        // Vibration: mean 2 mm/s in the last 7 days against 1 mm/s in the 30 before (> 1.3 ×).
        { site: 'a', device: 'EL-1', task: 'inspect_vibration', intervalDays: null, lastDone: null, due: iso(A), overdue: false },
        { site: 'a', device: 'WS-1', task: 'tank_cleaning', intervalDays: 182, lastDone: iso(A - 200 * D), due: iso(A - 18 * D), overdue: true },
        // Never calibrated: due at once.
        { site: 'a', device: 'WS-1', task: 'analyser_calibration', intervalDays: 91, lastDone: null, due: iso(A), overdue: true },
        // Done exactly 15 days ago: due now, and so overdue.
        { site: 'b', device: 'EL-2', task: 'elevator_maintenance', intervalDays: 15, lastDone: iso(A - 15 * D), due: iso(A), overdue: true },
        // Door cycles: 192 a day in the last 7 days against 96 in the 30 before (> 1.5 ×).
        { site: 'b', device: 'EL-2', task: 'inspect_doors', intervalDays: null, lastDone: null, due: iso(A), overdue: false },
      ],
    });
    const html = readFileSync(f.reports.file(view.id, 'html')!.path, 'utf8');
    expect(html).toMatch(/开关门次数\/天[\s\S]*<td class="num">192<\/td><td class="num">96<\/td>/);
    expect(html).toContain('已逾期');
    const csv = readFileSync(f.reports.file(view.id, 'csv')!.path, 'utf8');
    expect(csv.startsWith('\uFEFFsection,site,subject,figure,value\r\nreport,,,kind,maintenance\r\nreport,,,asOf,2026-11-20T00:00:00+08:00\r\n')).toBe(true);
    expect(csv).toContain(`maintenance,a,WS-1,tank_cleaning.due,${iso(A - 18 * D)}\r\n`);
    expect(csv).toContain('maintenance,b,EL-2,elevator_maintenance.overdue,true\r\n');
    expect(csv).toContain('maintenance,a,WS-1,analyser_calibration.lastDone,\r\n');
  });

  it('records maintenance in the audit log', () => {
    expect(f.audit.filter((a) => a[1] === 'maintenance.record').map((a) => a[2])).toEqual(['EL-1', 'EL-1', 'EL-1', 'EL-2', 'WS-1']);
    expect(f.reports.maintenance.list('EL-1').map((m) => m.doneAt)).toEqual([A + D, A - 10 * D, A - 20 * D]);
  });
});

describe('a scheduled run', () => {
  it('makes each of its kinds over every site and sends report.ready to the property companies, and housing for accountability', async () => {
    const made = await f.reports.runScheduled({ schedule: 'monthly', kinds: ['health', 'maintenance', 'accountability'], at: A + 8 * H, from: A - 30 * D, to: A });
    expect(made.map((m) => [m.kind, m.schedule, m.sites, m.requestedBy])).toEqual([
      ['health', 'monthly', null, 'schedule:monthly'],
      ['maintenance', 'monthly', null, 'schedule:monthly'],
      ['accountability', 'monthly', null, 'schedule:monthly'],
    ]);
    // Webhook channels only (the WeCom robot of site a renders alerts): a and b, plus housing for accountability.
    expect(f.sent.map((s) => [(s.body as unknown as ReportReady).report.kind, s.recipient, (s.channel as { url: string }).url])).toEqual([
      ['health', 'property', 'http://127.0.0.1:9/a'],
      ['health', 'property', 'http://127.0.0.1:9/b'],
      ['maintenance', 'property', 'http://127.0.0.1:9/a'],
      ['maintenance', 'property', 'http://127.0.0.1:9/b'],
      ['accountability', 'property', 'http://127.0.0.1:9/a'],
      ['accountability', 'property', 'http://127.0.0.1:9/b'],
      ['accountability', 'housing', 'http://127.0.0.1:9/housing'],
    ]);
    const id = made[0]!.id;
    expect(f.sent[0]!.body).toEqual({
      version: 1,
      event: 'report.ready',
      sentAt: new Date(A + H).toISOString(),
      report: {
        id,
        kind: 'health',
        from: '2026-10-21T00:00:00+08:00',
        to: '2026-11-20T00:00:00+08:00',
        formats: { html: `http://127.0.0.1:8080/api/reports/${id}/report.html`, csv: `http://127.0.0.1:8080/api/reports/${id}/report.csv`, json: `http://127.0.0.1:8080/api/reports/${id}/report.json` },
      },
    });
    expect(f.sent[0]!.alertId).toBe(id);
  });

  it('is kept under DATA_DIR/reports and listed again after a restart, newest first', async () => {
    const before = f.reports.list();
    expect(before.length).toBe(4);
    const again = f.again();
    again.start();
    expect(again.list()).toEqual(before);
    await again.stop();
    expect(f.reports.file(before[0]!.id, 'html')!.path).toBe(`${f.dir}/reports/${before[0]!.id}/report.html`);
  });
});
