/**
 * What people read: times in Asia/Shanghai, titles for every kind (a `system` alert has no
 * building or device), labels in both languages, the message of each body (one alert, a
 * group of alerts, a report made ready), cutting text to a byte limit.
 */
import { describe, expect, it } from 'vitest';
import { EVENT_LABELS, KIND_LABELS, REPORT_LABELS, SEVERITY_LABELS, facts, formatTime, message, title, truncateUtf8 } from './render.ts';
import { RULE_TEXT as RULE_LABELS } from '../summary.ts';
import { emailContent } from './channels/email-body.ts';
import { sampleGroup, sampleNotification, sampleReport } from './testing/fixtures.ts';
import { DEFAULT_RULES, REPORT_KINDS } from '../../config/index.ts';

describe('render', () => {
  it('formats times in Asia/Shanghai (UTC+8, no daylight saving)', () => {
    expect(formatTime('2026-11-25T08:00:04.900Z', 'zh-CN')).toBe('2026-11-25 16:00:04（北京时间）');
    expect(formatTime('2026-06-30T16:30:00Z', 'en')).toBe('2026-07-01 00:30:00 (UTC+8)');
    expect(formatTime(Date.parse('2026-01-01T00:00:00Z'), 'en')).toBe('2026-01-01 08:00:00 (UTC+8)');
  });

  it('has zh-CN and en for every event, severity, kind and default rule', () => {
    for (const table of [EVENT_LABELS, SEVERITY_LABELS, KIND_LABELS, RULE_LABELS, REPORT_LABELS]) {
      for (const l of Object.values(table)) {
        expect(l['zh-CN']).toMatch(/\S/);
        expect(l.en).toMatch(/^[\x20-\x7e]+$/);
      }
    }
    const missing = DEFAULT_RULES.map((r) => r.id).filter((id) => !RULE_LABELS[id]);
    expect(missing).toEqual([]);
    expect(REPORT_KINDS.filter((k) => !REPORT_LABELS[k])).toEqual([]);
  });

  it('titles a system alert without building or device, and a rule it does not know by its id', () => {
    const n = sampleNotification();
    n.alert = { ...n.alert, kind: 'system', rule: 'channel_failing', building: '', device: '', metric: null, value: null, threshold: null, unit: null };
    expect(title(n, 'zh-CN')).toBe('【严重告警】金佛花园 系统 channel_failing');
    expect(title(n, 'en')).toBe('[Critical alert] 金佛花园 System channel_failing');
    const labels = facts(n, 'en').map((f) => f.label);
    expect(labels).not.toContain('Value');
    expect(labels).not.toContain('Device');
  });

  it('names a resolved alert’s end and leaves out its ack deadline', () => {
    const n = sampleNotification({ event: 'alert.resolved' });
    n.alert = { ...n.alert, state: 'resolved', endsAt: '2026-11-25T08:20:00.000Z' };
    const zh = facts(n, 'zh-CN');
    expect(zh).toContainEqual({ label: '恢复时间', value: '2026-11-25 16:20:00（北京时间）' });
    expect(zh.map((f) => f.label)).not.toContain('确认期限');
    expect(title(n, 'zh-CN').startsWith('【已恢复·严重】')).toBe(true);
  });

  it('escapes what goes into the e-mail HTML', () => {
    const n = sampleNotification();
    n.alert = { ...n.alert, summary: { 'zh-CN': '<script>alert(1)</script>', en: 'a & b' } };
    const { html, text } = emailContent(n);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('a &amp; b');
    expect(text).toContain('<script>alert(1)</script>');
  });

  it('says of one alert what its title, summary, facts and ack link say', () => {
    const n = sampleNotification();
    for (const lang of ['zh-CN', 'en'] as const) {
      const m = message(n, lang);
      expect(m).toMatchObject({ tone: 'critical', title: title(n, lang), lead: n.alert.summary[lang], facts: facts(n, lang), list: [] });
      expect(m.link).toMatchObject({ url: n.ackUrl });
    }
    expect(message(n, 'zh-CN')).toMatchObject({ tag: '严重告警', link: { label: '点击确认', hint: '打开链接即可确认收到本告警，无需登录。' } });
    expect(message(sampleNotification({ event: 'alert.resolved', ackUrl: null }), 'en')).toMatchObject({ tone: 'resolved', tag: 'Resolved · Critical', link: null });
    // a site's outage names the devices that went dark, one per line
    const outage = sampleNotification();
    outage.alert = { ...outage.alert, kind: 'site', rule: 'site_offline', device: '', building: '', devices: ['HY-03', 'EL-01'] };
    expect(message(outage, 'zh-CN').list).toEqual(['HY-03', 'EL-01']);
    expect(title(outage, 'zh-CN').startsWith('【严重告警】金佛花园 小区')).toBe(true);
  });

  it('says of a group how many alerts, of which site and rule, and lists each one (those over marked), in zh-CN and en', () => {
    const g = sampleGroup();
    expect(title(g, 'zh-CN')).toBe('【告警·3条】金佛花园 设备无数据');
    expect(title(g, 'en')).toBe('[Alert · 3] 金佛花园 Device silent');
    expect(message(g, 'zh-CN')).toEqual({
      tone: 'warning',
      tag: '告警·3条',
      title: '【告警·3条】金佛花园 设备无数据',
      lead: '金佛花园 3 条：设备无数据',
      facts: [
        { label: '接收单位', value: '金佛花园物业服务中心' },
        { label: '小区', value: '金佛花园' },
        { label: '条数', value: '3' },
      ],
      list: ['3栋消火栓 HY-03 已 30 分钟无数据', '4栋消火栓 HY-04 已 30 分钟无数据', '7栋消火栓 HY-07 已 30 分钟无数据（已恢复）'],
      link: null,
    });
    expect(message(g, 'en')).toEqual({
      tone: 'warning',
      tag: 'Alert · 3',
      title: '[Alert · 3] 金佛花园 Device silent',
      lead: '3 alerts at 金佛花园: Device silent',
      facts: [
        { label: 'Recipient', value: '金佛花园物业服务中心' },
        { label: 'Site', value: '金佛花园' },
        { label: 'Alerts', value: '3' },
      ],
      list: ['Hydrant HY-03 has sent nothing for 30 min', 'Hydrant HY-04 has sent nothing for 30 min', 'Hydrant HY-07 has sent nothing for 30 min (resolved)'],
      link: null,
    });
    // the worst of its alerts sets the tone; a group of ends is told as such
    const critical = sampleGroup();
    critical.alerts = critical.alerts.map((a, i) => (i === 1 ? { ...a, severity: 'critical' as const } : a));
    expect(message(critical, 'zh-CN').tone).toBe('critical');
    const ended = sampleGroup();
    ended.group = { ...ended.group, event: 'alert.resolved', count: 2 };
    ended.alerts = ended.alerts.slice(0, 2).map((a) => ({ ...a, state: 'resolved' as const }));
    expect(message(ended, 'zh-CN')).toMatchObject({ tone: 'resolved', tag: '已恢复·2条', title: '【已恢复·2条】金佛花园 设备无数据' });
    expect(title(ended, 'en')).toBe('[Resolved · 2] 金佛花园 Device silent');
  });

  it('says of a report which one and for when, links its HTML and lists its other formats, in zh-CN and en', () => {
    const r = sampleReport();
    const f = r.report.formats;
    const zh = message(r, 'zh-CN');
    expect(zh).toMatchObject({ tone: 'info', tag: '报告', lead: '报告已生成，可在线查看或下载。', list: [`CSV: ${f.csv}`, `JSON: ${f.json}`], link: { label: '查看报告', url: f.html, hint: '' } });
    expect(zh.title).toBe(title(r, 'zh-CN'));
    expect(zh.title.startsWith('【报告】设施健康报告 2026-11-24')).toBe(true);
    expect(zh.facts.map((x) => x.label)).toEqual(['接收单位', '报告', '统计期间']);
    expect(zh.facts.slice(0, 2).map((x) => x.value)).toEqual(['金佛花园物业服务中心', '设施健康报告']);
    const en = message(r, 'en');
    expect(en).toMatchObject({ tone: 'info', tag: 'Report', lead: 'The report is ready to read or download.', list: [`CSV: ${f.csv}`, `JSON: ${f.json}`], link: { label: 'Open the report', url: f.html } });
    expect(en.title.startsWith('[Report] Equipment health report 2026-11-24')).toBe(true);
    expect(en.facts.map((x) => x.label)).toEqual(['Recipient', 'Report', 'Period']);
    expect(title(sampleReport({ report: { ...r.report, kind: 'accountability' } }), 'zh-CN').startsWith('【报告】响应考核报告 ')).toBe(true);
    expect(title(sampleReport({ report: { ...r.report, kind: 'maintenance' } }), 'en').startsWith('[Report] Maintenance report ')).toBe(true);
  });

  it('names a report’s period as the report does: whole days, the last one it covers', () => {
    // the week of 2026-11-24 to 2026-11-30 (Asia/Shanghai) ends at 2026-12-01 00:00, which it does not cover
    const week = sampleReport();
    for (const lang of ['zh-CN', 'en'] as const) {
      const t = title(week, lang);
      expect(t).toContain('2026-11-24');
      expect(t).toContain('2026-11-30');
      expect(t).not.toContain('2026-12-01');
    }
    const day = sampleReport({ report: { ...week.report, from: '2026-11-23T16:00:00.000Z', to: '2026-11-24T16:00:00.000Z' } });
    const period = message(day, 'zh-CN').facts.find((x) => x.label === '统计期间')!.value;
    expect(period).toContain('2026-11-24');
    expect(period).not.toContain('2026-11-25');
  });

  it('cuts to a UTF-8 byte limit without splitting a character', () => {
    expect(truncateUtf8('short', 100)).toBe('short');
    const cut = truncateUtf8('消火栓'.repeat(100), 50);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(50);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
  });
});
