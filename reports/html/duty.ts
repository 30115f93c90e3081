/** The maintenance and accountability reports as HTML. */
import { dayLabel } from '../calendar.ts';
import type { AccountabilityJson, MaintenanceJson, ResponseFigures, WearFinding } from '../types.ts';
import type { DeviceLabel } from './health.ts';
import { barChart, bi, esc, fig, table } from './parts.ts';

const TASKS: Record<string, { zh: string; en: string }> = {
  elevator_maintenance: { zh: '电梯维保（半月）', en: 'Elevator maintenance (half-monthly)' },
  tank_cleaning: { zh: '水箱清洗消毒', en: 'Tank cleaning' },
  analyser_calibration: { zh: '水质仪表校准', en: 'Analyser calibration' },
  inspect_doors: { zh: '检查门系统（开关门次数上升）', en: 'Inspect doors (door cycles rising)' },
  inspect_vibration: { zh: '检查振动（振动加大）', en: 'Inspect vibration (vibration rising)' },
};

const day = (s: string | null) => (s === null ? bi('从未', 'never') : esc(dayLabel(Date.parse(s))));

export function maintenanceBody(json: MaintenanceJson, wear: readonly WearFinding[], label: DeviceLabel, siteName: (id: string) => string): string {
  const out: string[] = [];
  const sites = [...new Set(json.items.map((i) => i.site))];
  for (const site of sites) {
    const items = json.items.filter((i) => i.site === site);
    out.push(`<section class="site"><h2>${esc(siteName(site))} <small>(${esc(site)})</small></h2>`);
    out.push(
      table(
        items,
        [
          { zh: '设备', en: 'Device', cell: (i) => esc(label(i.device)) },
          { zh: '项目', en: 'Task', cell: (i) => bi(TASKS[i.task]?.zh ?? i.task, TASKS[i.task]?.en ?? i.task) },
          { zh: '周期 (天)', en: 'Every (days)', cell: (i) => fig(i.intervalDays), num: true },
          { zh: '上次完成', en: 'Last done', cell: (i) => (i.intervalDays === null ? '<span class="na">—</span>' : day(i.lastDone)) },
          { zh: '到期', en: 'Due', cell: (i) => esc(dayLabel(Date.parse(i.due))) },
          { zh: '状态', en: 'Status', cell: (i) => (i.overdue ? bi('已逾期', 'overdue') : i.intervalDays === null ? bi('建议检查', 'inspect') : bi('正常', 'ok')) },
        ],
        (i) => (i.overdue ? 'bad' : i.intervalDays === null ? 'warn' : ''),
      ),
    );
    const findings = wear.filter((w) => w.site === site);
    if (findings.length > 0) {
      out.push(`<h3>${bi('磨损趋势', 'Wear trends')}</h3>`);
      out.push(
        table(
          findings,
          [
            { zh: '设备', en: 'Device', cell: (w) => esc(label(w.device)) },
            { zh: '指标', en: 'Figure', cell: (w) => (w.task === 'inspect_doors' ? bi('开关门次数/天', 'door cycles per day') : bi('振动均值 (mm/s)', 'mean vibration (mm/s)')) },
            { zh: '近 7 天', en: 'Last 7 days', cell: (w) => fig(w.recent), num: true },
            { zh: '此前 30 天', en: 'The 30 days before', cell: (w) => fig(w.baseline), num: true },
            { zh: '倍数', en: 'Ratio', cell: (w) => `${fig(Math.round((w.recent / w.baseline) * 100) / 100)} &gt; ${fig(w.factor)}`, num: true },
          ],
          () => 'warn',
        ),
      );
    }
    out.push('</section>');
  }
  if (out.length === 0) return `<p class="none">${bi('无设备', 'No devices')}</p>`;
  out.push(`<p class="note">维保周期：电梯 15 天（TSG T5002），水箱清洗 182 天，水质仪表校准 91 天；从未记录的设备立即到期。<span class="en">Intervals: elevators 15 days (TSG T5002), tank cleaning 182 days, analyser calibration 91 days; a device never maintained is due at once.</span></p>`);
  return out.join('\n');
}

const COLUMNS = [
  { zh: '告警数', en: 'Alerts', cell: (r: ResponseFigures) => fig(r.alerts), num: true },
  { zh: '确认用时 P50 (秒)', en: 'Time to acknowledge, median (s)', cell: (r: ResponseFigures) => fig(r.ackP50Sec), num: true },
  { zh: '确认用时 P90 (秒)', en: 'Time to acknowledge, 90th percentile (s)', cell: (r: ResponseFigures) => fig(r.ackP90Sec), num: true },
  { zh: '升级次数', en: 'Escalations', cell: (r: ResponseFigures) => fig(r.escalations), num: true },
  { zh: '按时确认率 (%)', en: 'Acknowledged within deadline', cell: (r: ResponseFigures) => fig(r.ackedWithinDeadlinePct), num: true },
];

const judge = (r: ResponseFigures) => (r.ackedWithinDeadlinePct !== null && r.ackedWithinDeadlinePct < 90 ? 'bad' : r.escalations > 0 ? 'warn' : '');

export function accountabilityBody(json: AccountabilityJson, departmentName: (id: string) => string, siteName: (id: string) => string): string {
  const out: string[] = [`<h2>${bi('各部门', 'Departments')}</h2>`];
  out.push(table(json.departments, [{ zh: '部门', en: 'Department', cell: (d) => bi(departmentName(d.id), d.id) }, ...COLUMNS], judge));
  const withAlerts = json.departments.filter((d) => d.alerts > 0);
  if (withAlerts.length > 0) {
    out.push(`<div class="chart">${barChart('确认用时 · Time to acknowledge (s)', ['P50', 'P90'], withAlerts.map((d) => ({ label: departmentName(d.id), values: [d.ackP50Sec, d.ackP90Sec] })), 's')}</div>`);
  }
  // A compound without a property company is answered for by its sub-district office.
  out.push(`<h2>${bi('各小区物业服务企业（无物业的小区：街道办事处）', 'Property companies (where a compound has none: its sub-district office)')}</h2>`);
  out.push(table(json.properties, [{ zh: '小区', en: 'Compound', cell: (p) => bi(siteName(p.site), p.site) }, ...COLUMNS], judge));
  out.push(
    `<p class="note">统计本期开始的告警；确认用时 = 本方确认 − 告警时间，按最近秩法取百分位，未确认的告警不计入百分位，但计为未按时确认。<span class="en">Alerts that began in the period. Time to acknowledge = this recipient's acknowledgement − the alert firing; percentiles by nearest rank over acknowledged alerts; an unacknowledged alert is left out of the percentiles and counts as not acknowledged within the deadline.</span></p>`,
  );
  return out.join('\n');
}
