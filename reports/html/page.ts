/**
 * The frame of every HTML report: one self-contained file (inline CSS, charts as inline SVG,
 * no scripts, no external fonts or images) in zh-CN with English subtitles, laid out for a
 * screen and for A4 paper (@media print: no backgrounds, tables not split across pages).
 */
import type { Registry } from '../../config/index.ts';
import { minuteLabel, periodLabel } from '../calendar.ts';
import type { Built, ReportMeta } from '../types.ts';
import { accountabilityBody, maintenanceBody } from './duty.ts';
import { healthBody } from './health.ts';
import { bi, esc } from './parts.ts';

const CSS = `
:root { --ink: #1d2733; --muted: #5f6b7a; --line: #d5dbe3; --bad: #b42318; --warn: #b54708; --ok: #067647; --band: #f3f6f9; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; color: var(--ink); background: #fff;
  font: 14px/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; }
header { border-bottom: 3px solid var(--ink); padding-bottom: 12px; margin-bottom: 20px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.en { display: block; font-size: 0.72em; font-weight: normal; color: var(--muted); }
h1 .en { font-size: 14px; }
.meta { color: var(--muted); margin: 6px 0 0; }
.meta b { color: var(--ink); font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; font-size: 13px; }
th .en { font-size: 11px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { color: var(--bad); }
tr.warn td { color: var(--warn); }
.na, .none { color: var(--muted); }
.tag { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; background: var(--band); margin: 1px 2px 1px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid var(--line); padding: 8px; }
.chart svg { display: block; }
.note { color: var(--muted); font-size: 12px; }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { padding: 0; font-size: 11pt; }
  th { background: none; }
  table, .chart, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  section.site { break-before: page; }
  section.site:first-of-type { break-before: auto; }
}
`;

export interface PageInput {
  zh: string;
  en: string;
  /** lines under the title, as HTML */
  meta: string[];
  body: string;
  footer: string;
}

export function page(p: PageInput): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.zh)} · ${esc(p.en)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${bi(p.zh, p.en)}</h1>
${p.meta.map((m) => `<p class="meta">${m}</p>`).join('\n')}
</header>
${p.body}
<footer>${p.footer}</footer>
</body>
</html>
`;
}

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
