/** The health report as HTML: per compound, a table per kind of device, trappings' response times and water-quality trends. */
import { dayLabel, secondLabel } from '../calendar.ts';
import type { HealthExtra, HealthJson, SiteHealth } from '../types.ts';
import { bi, esc, fig, lineChart, table } from './parts.ts';

/** How a device is named in the tables: its id and building. */
export type DeviceLabel = (id: string) => string;

const GB5749_COLUMNS = [
  { metric: 'turbidity_ntu', zh: '浑浊度 ≤1 NTU', en: 'Turbidity' },
  { metric: 'chlorine_mgl', zh: '余氯 0.05–2 mg/L', en: 'Free chlorine' },
  { metric: 'ph', zh: 'pH 6.5–8.5', en: 'pH' },
  { metric: 'tds_mgl', zh: '溶解性总固体 ≤1000 mg/L', en: 'TDS' },
];

const CHARTS = [
  { metric: 'chlorine_mgl', zh: '余氯日均值', en: 'Free chlorine, daily mean', unit: 'mg/L', limits: [{ v: 0.05, label: '0.05' }, { v: 2, label: '2' }] },
  { metric: 'turbidity_ntu', zh: '浑浊度日均值', en: 'Turbidity, daily mean', unit: 'NTU', limits: [{ v: 1, label: '1 NTU' }] },
];

/** The response the inspectors judge a trapping by: acknowledged within the 5-minute escalation deadline. */
const TRAPPING_ACK_SEC = 300;

function faults(f: Record<string, number>): string {
  const entries = Object.entries(f);
  if (entries.length === 0) return '<span class="na">0</span>';
  return entries.map(([code, n]) => `<span class="tag">${esc(code)} × ${n}</span>`).join(' ');
}

function site(s: SiteHealth, extra: HealthExtra, label: DeviceLabel, period: { from: number; to: number }): string {
  const out: string[] = [`<section class="site"><h2>${esc(s.name)} <small>(${esc(s.id)})</small></h2>`];
  out.push(`<h3>${bi('电梯', 'Elevators')}</h3>`);
  out.push(
    table(
      s.elevators,
      [
        { zh: '设备', en: 'Device', cell: (e) => esc(label(e.device)) },
        { zh: '运行次数', en: 'Runs', cell: (e) => fig(e.runs), num: true },
        { zh: '开关门次数', en: 'Door cycles', cell: (e) => fig(e.doorCycles), num: true },
        { zh: '运行时间 (h)', en: 'Running hours', cell: (e) => fig(e.runningHours), num: true },
        { zh: '故障', en: 'Faults', cell: (e) => faults(e.faults) },
        { zh: '困人', en: 'Trappings', cell: (e) => fig(e.trappings), num: true },
        { zh: '可用率 (%)', en: 'Availability', cell: (e) => fig(e.availabilityPct), num: true },
      ],
      (e) => (e.trappings > 0 ? 'bad' : e.availabilityPct < 99 ? 'warn' : ''),
    ),
  );
  const trappings = extra.trappings.filter((t) => t.site === s.id);
  if (trappings.length > 0) {
    out.push(`<h3>${bi('困人救援响应', 'Response to trappings')}</h3>`);
    out.push(
      table(
        trappings,
        [
          { zh: '设备', en: 'Device', cell: (t) => esc(label(t.device)) },
          { zh: '告警时间', en: 'Alert fired', cell: (t) => esc(secondLabel(t.firedAt)) },
          { zh: '首次确认', en: 'First acknowledged', cell: (t) => (t.ackedAt === null ? bi('未确认', 'not acknowledged') : esc(secondLabel(t.ackedAt))) },
          { zh: '确认方', en: 'By', cell: (t) => esc(t.ackedBy ?? '—') },
          { zh: '响应时间 (秒)', en: 'Response (s)', cell: (t) => fig(t.responseSec), num: true },
        ],
        (t) => (t.responseSec === null || t.responseSec > TRAPPING_ACK_SEC ? 'bad' : ''),
      ),
    );
    out.push(`<p class="note">响应时间 = 首次确认 − 告警时间；超过 5 分钟升级至住建委。TSG T5002：救援人员 30 分钟内到场。<span class="en">Response = first acknowledgement − alert fired; past 5 minutes the alert escalates to the housing office. TSG T5002: rescuers on site within 30 minutes.</span></p>`);
  }
  out.push(`<h3>${bi('消火栓', 'Fire hydrants')}</h3>`);
  out.push(
    table(
      s.hydrants,
      [
        { zh: '设备', en: 'Device', cell: (h) => esc(label(h.device)) },
        { zh: '最低水压 (MPa)', en: 'Minimum pressure', cell: (h) => fig(h.minPressureMpa), num: true },
        { zh: '平均水压 (MPa)', en: 'Mean pressure', cell: (h) => fig(h.meanPressureMpa), num: true },
        { zh: '低于下限时长 (分钟)', en: 'Minutes below minimum', cell: (h) => fig(h.minutesBelowMin), num: true },
      ],
      (h) => ((h.minutesBelowMin ?? 0) > 0 ? 'warn' : ''),
    ),
  );
  out.push(`<h3>${bi('二次供水水质达标率 (%)，GB 5749-2022', 'Secondary water supply: share of readings within GB 5749-2022 (%)')}</h3>`);
  out.push(
    table(
      s.water,
      [
        { zh: '设备', en: 'Device', cell: (w) => esc(label(w.device)) },
        ...GB5749_COLUMNS.map((c) => ({ zh: c.zh, en: c.en, cell: (w: (typeof s.water)[number]) => fig(w.compliancePct[c.metric] ?? null), num: true })),
      ],
      (w) => (Object.values(w.compliancePct).some((v) => v !== null && v < 100) ? 'warn' : ''),
    ),
  );
  const charts = CHARTS.map((c) => {
    const series = extra.daily.filter((d) => d.metric === c.metric && s.water.some((w) => w.device === d.device)).map((d) => ({ name: d.device, points: d.points }));
    if (series.every((x) => x.points.length === 0)) return '';
    return `<div class="chart">${lineChart({ title: `${c.zh} · ${c.en}`, unit: c.unit, from: period.from, to: period.to, series, limits: c.limits, label: (t) => dayLabel(t).slice(5), shiftMs: 43_200_000 })}</div>`;
  }).filter(Boolean);
  if (charts.length > 0) out.push(`<div class="charts">${charts.join('\n')}</div>`);
  out.push(`<h3>${bi('消防通道', 'Fire lanes')}</h3>`);
  out.push(
    table(
      s.firelanes,
      [
        { zh: '设备', en: 'Device', cell: (f) => esc(label(f.device)) },
        { zh: '占用时长 (分钟)', en: 'Minutes occupied', cell: (f) => fig(f.occupiedMinutes), num: true },
        { zh: '占用告警', en: 'Occupation alerts', cell: (f) => fig(f.incidents), num: true },
      ],
      (f) => (f.incidents > 0 ? 'warn' : ''),
    ),
  );
  out.push('</section>');
  return out.join('\n');
}

export function healthBody(json: HealthJson, extra: HealthExtra, label: DeviceLabel, period: { from: number; to: number }): string {
  if (json.sites.length === 0) return `<p class="none">${bi('无小区', 'No compounds')}</p>`;
  return json.sites.map((s) => site(s, extra, label, period)).join('\n');
}
