/** One report as a self-contained HTML page. */
import type { Registry } from '../../config/index.ts';
import { minuteLabel, periodLabel } from '../time.ts';
import type { Built, ReportMeta } from '../types.ts';
import { accountabilityBody, maintenanceBody } from './duty.ts';
import { healthBody } from './health.ts';
import { bi, esc, page } from './page.ts';

const TITLES = {
  health: { zh: '设备运行健康报告', en: 'Equipment health report' },
  maintenance: { zh: '维护保养报告', en: 'Maintenance report' },
  accountability: { zh: '告警响应考核报告', en: 'Response accountability report' },
} as const;

const SCHEDULES = { daily: '日报 · daily', weekly: '周报 · weekly', monthly: '月报 · monthly' } as const;

export interface HtmlNames {
  registry: Registry;
  departments: ReadonlyMap<string, string>;
}

export function renderHtml(meta: ReportMeta, built: Built, names: HtmlNames): string {
  const label = (id: string) => {
    const d = names.registry.device(id);
    return d ? `${id} · ${d.name ?? d.building}` : id;
  };
  const siteName = (id: string) => names.registry.sites.get(id)?.name ?? id;
  const departmentName = (id: string) => names.departments.get(id) ?? id;
  const scope = meta.sites === null ? bi('全部小区', 'all compounds') : esc(meta.sites.map(siteName).join('、'));
  const metaLines = [
    built.kind === 'maintenance'
      ? `截至 <b>${esc(minuteLabel(meta.to))}</b> (UTC+8) · as of`
      : `报告期 <b>${esc(periodLabel(meta.from, meta.to))}</b> · period (Asia/Shanghai)`,
    `范围 Scope: ${scope}`,
    `生成 Made: ${esc(minuteLabel(meta.createdAt))} · ${meta.schedule ? esc(SCHEDULES[meta.schedule]) : `按需 on demand, ${esc(meta.requestedBy)}`} · <span class="note">${esc(meta.id)}</span>`,
  ];
  let body: string;
  switch (built.kind) {
    case 'health':
      body = healthBody(built.json, built.extra, label, meta);
      break;
    case 'maintenance':
      body = maintenanceBody(built.json, built.extra.wear, label, siteName);
      break;
    case 'accountability':
      body = accountabilityBody(built.json, departmentName, siteName);
      break;
  }
  return page({
    ...TITLES[built.kind],
    meta: metaLines,
    body,
    footer: `Estate Sentinel · ${esc(meta.kind)} · ${esc(meta.id)} · 同一报告另有 CSV 与 JSON 格式 (report.csv, report.json) · the same report as CSV and JSON beside this file`,
  });
}
