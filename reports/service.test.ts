/**
 * The reports part without a broker: the maintenance report (intervals, "never maintained
 * is due at once", wear flags from trends in the series store), a scheduled run announcing
 * its links through the real delivery outbox on every channel of each site's own recipient,
 * the audit log, the archive surviving a restart, and the CSV's long form; on SQLite and on
 * PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Point } from '../storage/index.ts';
import { freshDatabase, type TestDatabase } from '../storage/operational/testing/postgres.ts';
import { ESTATE_YAML, fixture, type Fixture } from './testing/fixtures.ts';
import { iso } from './calendar.ts';
import type { MaintenanceJson } from './types.ts';
import { parseEstate, Registry, type Estate, type ReportNotification } from '../config/index.ts';
import { Recipients } from '../alerts/index.ts';
import { recipientsOf } from './service.ts';

const H = 3_600_000;
const D = 24 * H;
/** As of 2026-11-20 00:00 in Shanghai. */
const A = Date.parse('2026-11-20T00:00:00+08:00');

describe.each(['sqlite', 'postgres'] as const)('on %s', (backend) => {
  let f: Fixture;
  let pg: TestDatabase | undefined;

  beforeAll(async () => {
    pg = backend === 'postgres' ? await freshDatabase() : undefined;
    f = await fixture(() => A + H, pg?.url);
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
    await record('EL-1', 'elevator_maintenance', A - 20 * D);
    await record('EL-1', 'elevator_maintenance', A - 10 * D);
    await record('EL-1', 'elevator_maintenance', A + D); // after the report's time: not yet done then
    await record('EL-2', 'elevator_maintenance', A - 15 * D);
    await record('WS-1', 'tank_cleaning', A - 200 * D);
  });

  afterAll(async () => {
    await f?.close();
    await pg?.drop();
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

    it('records maintenance, and who recorded it in the audit log', async () => {
      const audit = (await f.audit.list(100)).filter((a) => a.action === 'maintenance.record').reverse();
      expect(audit.map((a) => [a.actor, a.target, a.at])).toEqual(['EL-1', 'EL-1', 'EL-1', 'EL-2', 'WS-1'].map((d) => ['ops', d, A + H]));
      expect(JSON.parse(audit[0]!.detail!)).toEqual({ task: 'elevator_maintenance', doneAt: iso(A - 20 * D), note: null });
      const records = await f.reports.maintenance.list('EL-1');
      expect(records.map((m) => m.doneAt)).toEqual([A + D, A - 10 * D, A - 20 * D]);
      expect(records[0]).toMatchObject({ site: 'a', device: 'EL-1', task: 'elevator_maintenance', recordedBy: 'ops', recordedAt: A + H, note: null });
    });
  });

  describe('a scheduled run', () => {
    it("makes each of its kinds over every site and sends report.ready on every channel of each site's own recipient, and housing for accountability", async () => {
      const made = await f.reports.runScheduled({ schedule: 'monthly', kinds: ['health', 'maintenance', 'accountability'], at: A + 8 * H, from: A - 30 * D, to: A });
      expect(made.map((m) => [m.kind, m.schedule, m.sites, m.requestedBy])).toEqual([
        ['health', 'monthly', null, 'schedule:monthly'],
        ['maintenance', 'monthly', null, 'schedule:monthly'],
        ['accountability', 'monthly', null, 'schedule:monthly'],
      ]);
      const sent = await f.deliveries();
      const target = (c: (typeof sent)[number]['channel']) => (c.type === 'email' ? c.to.join() : c.url);
      // Every channel type: site a's property company (webhook, WeCom), b's (signed webhook), c's
      // sub-district office in place of a property company (DingTalk, e-mail); d has neither.
      const perKind = (kind: string) => [
        [kind, 'property', '甲物业', 'webhook', 'http://127.0.0.1:9/a'],
        [kind, 'property', '甲物业', 'wecom', 'http://127.0.0.1:9/wecom'],
        [kind, 'property', '乙物业', 'webhook', 'http://127.0.0.1:9/b'],
        [kind, 'subdistrict', '丙街道办事处', 'dingtalk', 'http://127.0.0.1:9/dingtalk'],
        [kind, 'subdistrict', '丙街道办事处', 'email', 'jiedao@example.org'],
      ];
      expect(sent.map((s) => [(s.body as ReportNotification).report.kind, s.recipient, s.body.department.name, s.channel.type, target(s.channel)])).toEqual([
        ...perKind('health'),
        ...perKind('maintenance'),
        ...perKind('accountability'),
        ['accountability', 'housing', '区住房城乡建委', 'webhook', 'http://127.0.0.1:9/housing'],
      ]);
      expect(sent.every((s) => s.event === 'report.ready' && s.status === 'pending' && s.createdAt === A + H && s.deadline === A + H + f.estate.alerting.deliveryDeadlineMin * 60_000)).toBe(true);
      const id = made[0]!.id;
      const health = sent.filter((s) => s.alertId === id);
      expect(health).toHaveLength(5);
      expect(health[0]!.body).toEqual({
        version: 1,
        event: 'report.ready',
        sentAt: new Date(A + H).toISOString(),
        department: { id: 'property', name: '甲物业' },
        report: {
          id,
          kind: 'health',
          from: '2026-10-21T00:00:00+08:00',
          to: '2026-11-20T00:00:00+08:00',
          formats: { html: `http://127.0.0.1:8080/api/reports/${id}/report.html`, csv: `http://127.0.0.1:8080/api/reports/${id}/report.csv`, json: `http://127.0.0.1:8080/api/reports/${id}/report.json` },
        },
      });
      expect(health[3]!.body.department).toEqual({ id: 'subdistrict', name: '丙街道办事处' });
      // The secret stays with the channel (the webhook signs with it), never in the body.
      expect(health[2]!.channel).toEqual({ type: 'webhook', url: 'http://127.0.0.1:9/b', secret: 's3cret' });
    });

    it('made on request is not announced', async () => {
      const before = (await f.deliveries()).length;
      await f.reports.request({ kind: 'health', from: A - D, to: A, sites: ['c'], requestedBy: 'root' });
      expect(await f.deliveries()).toHaveLength(before);
    });

    it('is kept under DATA_DIR/reports and listed again after a restart, newest first', async () => {
      const before = f.reports.list();
      expect(before.length).toBe(5);
      const again = f.again();
      again.start();
      expect(again.list()).toEqual(before);
      await again.stop();
      expect(f.reports.file(before[0]!.id, 'html')!.path).toBe(`${f.dir}/reports/${before[0]!.id}/report.html`);
    });
  });
});

describe('who hears of a report', () => {
  const estate = parseEstate(ESTATE_YAML, 'reports-test.yaml', {});
  const names = (meta: { kind: 'health' | 'accountability'; sites: string[] | null }, estate: Estate) =>
    recipientsOf(meta, estate, new Recipients(estate, new Registry(estate))).map((r) => [r.id, r.name, r.channels.map((c) => c.type).join()]);

  it("is each covered site's own recipient, and housing for accountability", () => {
    expect(names({ kind: 'health', sites: ['c', 'd'] }, estate)).toEqual([['subdistrict', '丙街道办事处', 'dingtalk,email']]);
    expect(names({ kind: 'accountability', sites: ['b'] }, estate)).toEqual([
      ['property', '乙物业', 'webhook'],
      ['housing', '区住房城乡建委', 'webhook'],
    ]);
  });

  it('tells a company that runs several compounds once per channel', () => {
    const hook = '{ type: webhook, url: "http://127.0.0.1:9/same" }';
    const shared = parseEstate(
      `sites:
  - { id: x, name: X, property: { name: 同一物业, channels: [${hook}] } }
  - { id: y, name: Y, property: { name: 同一物业, channels: [${hook}, { type: wecom, url: "http://127.0.0.1:9/y" }] } }
departments: []
`,
      'recipients-test.yaml',
      {},
    );
    expect(names({ kind: 'health', sites: null }, shared)).toEqual([
      ['property', '同一物业', 'webhook'],
      ['property', '同一物业', 'wecom'],
    ]);
  });
});
