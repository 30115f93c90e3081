/**
 * What people read in a notification, shared by the robot and e-mail channels: labels in
 * zh-CN and en for events, severities, kinds and fields, times in Asia/Shanghai, and a
 * `Message` (tone, title, lead line, facts, list, link) for each kind of body: one alert, a
 * group of alerts, a report. The webhook carries the Notification itself.
 */
import { METRICS, isKind, type ReportKind, type Severity } from '../../config/index.ts';
import type { AlertEvent, AlertNotification, GroupNotification, LocalizedText, Notification, ReportNotification } from '../types.ts';
import { RULE_TEXT } from '../summary.ts';

export type Lang = keyof LocalizedText;
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

const L = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });

export const EVENT_LABELS: Readonly<Record<AlertEvent, LocalizedText>> = {
  'alert.firing': L('告警', 'Alert'),
  'alert.acknowledged': L('已确认', 'Acknowledged'),
  'alert.escalated': L('已升级', 'Escalated'),
  'alert.reminder': L('提醒', 'Reminder'),
  'alert.resolved': L('已恢复', 'Resolved'),
};

export const SEVERITY_LABELS: Readonly<Record<Severity, LocalizedText>> = {
  critical: L('严重', 'Critical'),
  warning: L('警告', 'Warning'),
};

export const KIND_LABELS: Readonly<Record<string, LocalizedText>> = {
  elevator: L('电梯', 'Elevator'),
  hydrant: L('消火栓', 'Fire hydrant'),
  firelane: L('消防通道', 'Fire lane'),
  water: L('二次供水', 'Secondary water supply'),
  system: L('系统', 'System'),
  site: L('小区', 'Site'),
};

export const REPORT_LABELS: Readonly<Record<ReportKind, LocalizedText>> = {
  health: L('设施健康报告', 'Equipment health report'),
  maintenance: L('维护计划报告', 'Maintenance report'),
  accountability: L('响应考核报告', 'Accountability report'),
};

export const FIELD_LABELS = {
  recipient: L('接收单位', 'Recipient'),
  site: L('小区', 'Site'),
  building: L('楼栋', 'Building'),
  device: L('设备', 'Device'),
  value: L('当前值', 'Value'),
  threshold: L('阈值', 'Threshold'),
  startsAt: L('开始时间', 'Started'),
  endsAt: L('恢复时间', 'Resolved at'),
  ackDeadline: L('确认期限', 'Acknowledge by'),
  ack: L('点击确认', 'Acknowledge'),
  ackHint: L('打开链接即可确认收到本告警，无需登录。', 'Open the link to acknowledge this alert; no login needed.'),
  alertId: L('告警编号', 'Alert id'),
  count: L('条数', 'Alerts'),
  period: L('统计期间', 'Period'),
  report: L('报告', 'Report'),
  reportReady: L('报告已生成，可在线查看或下载。', 'The report is ready to read or download.'),
  open: L('查看报告', 'Open the report'),
  otherFormats: L('其他格式', 'Other formats'),
  footer: L('本消息由小区设施监测平台（Estate Sentinel）自动发送。', 'Sent automatically by Estate Sentinel, the compound equipment monitor.'),
} as const;

const TZ_SUFFIX = L('（北京时间）', ' (UTC+8)');

const shanghai = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** `2026-11-25 16:00:04（北京时间）` for an RFC 3339 time or epoch ms. */
export function formatTime(t: string | number, lang: Lang): string {
  const parts = Object.fromEntries(shanghai.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}${TZ_SUFFIX[lang]}`;
}

/** A number as people write it: no float noise (0.30000000000000004 → 0.3). */
export function formatNumber(v: number): string {
  return String(Number(v.toFixed(6)));
}

function decimals(v: number): number {
  const s = formatNumber(v);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : Math.min(s.length - dot - 1, 6);
}

/** Value and threshold with as many decimals as the finer of the two (0.08 and 0.10, not 0.1). */
function withUnit(v: number, unit: string | null, other: number | null): string {
  const d = Math.max(decimals(v), other === null ? 0 : decimals(other));
  const s = v.toFixed(d);
  return unit ? `${s} ${unit}` : s;
}

export function kindLabel(kind: string, lang: Lang): string {
  return KIND_LABELS[kind]?.[lang] ?? kind;
}

/** The rule's name; else its metric's name from the catalog; else its id. */
export function ruleLabel(a: AlertNotification['alert'], lang: Lang): string {
  const own = RULE_TEXT[a.rule];
  if (own) return lang === 'en' ? own.en.charAt(0).toUpperCase() + own.en.slice(1) : own[lang];
  const metric = a.metric && isKind(a.kind) ? METRICS[a.kind].get(a.metric) : undefined;
  return metric ? metric.label[lang] : a.rule;
}

/** `严重告警` for a firing critical alert, `已恢复·严重` for the others; en alike. */
export function tag(n: AlertNotification, lang: Lang): string {
  const sev = SEVERITY_LABELS[n.alert.severity][lang];
  if (n.event === 'alert.firing') {
    if (lang === 'en') return n.alert.severity === 'critical' ? 'Critical alert' : 'Warning';
    return n.alert.severity === 'critical' ? '严重告警' : '警告';
  }
  return `${EVENT_LABELS[n.event][lang]}${lang === 'en' ? ' · ' : '·'}${sev}`;
}

function bracket(tagText: string, rest: string, lang: Lang): string {
  return lang === 'en' ? `[${tagText}] ${rest}` : `【${tagText}】${rest}`;
}

/** `【严重告警】金佛花园 3栋 消火栓 HY-03 压力过低` (en: `[Critical alert] …`). */
function alertTitle(n: AlertNotification, lang: Lang): string {
  const a = n.alert;
  const where = [a.siteName, a.building, kindLabel(a.kind, lang), a.device, ruleLabel(a, lang)].filter((s) => s !== '');
  return bracket(tag(n, lang), where.join(' '), lang);
}

/** `告警·5条` / `Alert · 5`. */
function groupTag(n: GroupNotification, lang: Lang): string {
  return lang === 'en' ? `${EVENT_LABELS[n.group.event].en} · ${n.group.count}` : `${EVENT_LABELS[n.group.event]['zh-CN']}·${n.group.count}条`;
}

function groupTitle(n: GroupNotification, lang: Lang): string {
  const first = n.alerts[0];
  const rule = first ? ruleLabel(first, lang) : n.group.rule;
  return bracket(groupTag(n, lang), [n.group.siteName, rule].filter((s) => s !== '').join(' '), lang);
}

function reportTitle(n: ReportNotification, lang: Lang): string {
  return bracket(FIELD_LABELS.report[lang], `${REPORT_LABELS[n.report.kind][lang]} ${period(n, lang)}`, lang);
}

/** The days a report covers, as the report names them: its end is exclusive, so the last day is the one before. */
function period(n: ReportNotification, lang: Lang): string {
  const day = (t: number) => formatTime(t, lang).slice(0, 10);
  return `${day(Date.parse(n.report.from))} — ${day(Date.parse(n.report.to) - 1)}`;
}

/** The title line of any notification. */
export function title(n: Notification, lang: Lang): string {
  if (n.event === 'alert.group') return groupTitle(n, lang);
  if (n.event === 'report.ready') return reportTitle(n, lang);
  return alertTitle(n, lang);
}

export interface Fact {
  label: string;
  value: string;
}

/** The facts under the title of one alert's notification, in reading order; those the alert lacks are left out. */
export function facts(n: AlertNotification, lang: Lang): Fact[] {
  const a = n.alert;
  const out: Fact[] = [];
  const add = (key: keyof typeof FIELD_LABELS, value: string | null | undefined) => {
    if (value) out.push({ label: FIELD_LABELS[key][lang], value });
  };
  add('recipient', n.department.name);
  add('site', a.siteName);
  add('building', a.building);
  const kind = kindLabel(a.kind, lang);
  add('device', a.device ? (lang === 'en' ? `${a.device} (${kind})` : `${a.device}（${kind}）`) : null);
  add('value', a.value === null ? null : withUnit(a.value, a.unit, a.threshold));
  add('threshold', a.threshold === null ? null : withUnit(a.threshold, a.unit, a.value));
  add('startsAt', formatTime(a.startsAt, lang));
  add('endsAt', a.endsAt ? formatTime(a.endsAt, lang) : null);
  if (n.event !== 'alert.resolved' && n.event !== 'alert.acknowledged') add('ackDeadline', a.ackDeadline ? formatTime(a.ackDeadline, lang) : null);
  add('alertId', a.id);
  return out;
}

/** What a robot message or an e-mail says, whatever the body: the channels render this. */
export interface Message {
  /** the colour it is shown in */
  tone: 'critical' | 'warning' | 'resolved' | 'muted' | 'info';
  /** the bracketed tag alone, and the whole title line */
  tag: string;
  title: string;
  lead: string;
  facts: Fact[];
  /** one line per alert of a group; a report's other formats */
  list: string[];
  link: { label: string; url: string; hint: string } | null;
}

function tone(event: AlertEvent, severity: Severity): Message['tone'] {
  if (event === 'alert.resolved') return 'resolved';
  if (event === 'alert.acknowledged') return 'muted';
  return severity === 'critical' ? 'critical' : 'warning';
}

export function message(n: Notification, lang: Lang): Message {
  if (n.event === 'alert.group') {
    const worst: Severity = n.alerts.some((a) => a.severity === 'critical') ? 'critical' : 'warning';
    const out: Fact[] = [
      { label: FIELD_LABELS.recipient[lang], value: n.department.name },
      { label: FIELD_LABELS.site[lang], value: n.group.siteName },
      { label: FIELD_LABELS.count[lang], value: String(n.group.count) },
    ];
    const first = n.alerts[0];
    const rule = first ? ruleLabel(first, lang) : n.group.rule;
    return {
      tone: tone(n.group.event, worst),
      tag: groupTag(n, lang),
      title: groupTitle(n, lang),
      lead: lang === 'en' ? `${n.group.count} alerts at ${n.group.siteName}: ${rule}` : `${n.group.siteName} ${n.group.count} 条：${rule}`,
      facts: out,
      list: n.alerts.map((a) => `${a.summary[lang]}${a.state === 'resolved' ? (lang === 'en' ? ' (resolved)' : '（已恢复）') : ''}`),
      link: null,
    };
  }
  if (n.event === 'report.ready') {
    const formats = Object.entries(n.report.formats);
    const html = n.report.formats.html;
    return {
      tone: 'info',
      tag: FIELD_LABELS.report[lang],
      title: reportTitle(n, lang),
      lead: FIELD_LABELS.reportReady[lang],
      facts: [
        { label: FIELD_LABELS.recipient[lang], value: n.department.name },
        { label: FIELD_LABELS.report[lang], value: REPORT_LABELS[n.report.kind][lang] },
        { label: FIELD_LABELS.period[lang], value: period(n, lang) },
      ],
      list: formats.filter(([f]) => f !== 'html').map(([f, url]) => `${f.toUpperCase()}: ${url}`),
      link: { label: FIELD_LABELS.open[lang], url: html, hint: '' },
    };
  }
  return {
    tone: tone(n.event, n.alert.severity),
    tag: tag(n, lang),
    title: alertTitle(n, lang),
    lead: n.alert.summary[lang],
    facts: facts(n, lang),
    list: n.alert.devices ?? [],
    link: n.ackUrl ? { label: FIELD_LABELS.ack[lang], url: n.ackUrl, hint: FIELD_LABELS.ackHint[lang] } : null,
  };
}

/** Cuts `s` to at most `maxBytes` of UTF-8 without splitting a character, marking the cut. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const mark = '…';
  let out = Buffer.from(s).subarray(0, maxBytes - Buffer.byteLength(mark)).toString('utf8');
  // A character cut in half decodes as U+FFFD at the end: drop it.
  while (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out + mark;
}
