/**
 * What people read: times in Asia/Shanghai, titles for every kind (a `system` alert has no
 * building or device), labels in both languages, cutting text to a byte limit.
 */
import { describe, expect, it } from 'vitest';
import { EVENT_LABELS, KIND_LABELS, SEVERITY_LABELS, facts, formatTime, title, truncateUtf8 } from './render.ts';
import { RULE_TEXT as RULE_LABELS } from '../summary.ts';
import { emailContent } from './channels/email-body.ts';
import { sampleNotification } from './testing/fixtures.ts';
import { DEFAULT_RULES } from '../../config/index.ts';

describe('render', () => {
  it('formats times in Asia/Shanghai (UTC+8, no daylight saving)', () => {
    expect(formatTime('2026-11-25T08:00:04.900Z', 'zh-CN')).toBe('2026-11-25 16:00:04（北京时间）');
    expect(formatTime('2026-06-30T16:30:00Z', 'en')).toBe('2026-07-01 00:30:00 (UTC+8)');
    expect(formatTime(Date.parse('2026-01-01T00:00:00Z'), 'en')).toBe('2026-01-01 08:00:00 (UTC+8)');
  });

  it('has zh-CN and en for every event, severity, kind and default rule', () => {
    for (const table of [EVENT_LABELS, SEVERITY_LABELS, KIND_LABELS, RULE_LABELS]) {
      for (const l of Object.values(table)) {
        expect(l['zh-CN']).toMatch(/\S/);
        expect(l.en).toMatch(/^[\x20-\x7e]+$/);
      }
    }
    const missing = DEFAULT_RULES.map((r) => r.id).filter((id) => !RULE_LABELS[id]);
    expect(missing).toEqual([]);
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

  it('cuts to a UTF-8 byte limit without splitting a character', () => {
    expect(truncateUtf8('short', 100)).toBe('short');
    const cut = truncateUtf8('消火栓'.repeat(100), 50);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(50);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
  });
});
