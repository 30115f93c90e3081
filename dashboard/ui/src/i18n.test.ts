/** Every string the UI shows exists in both languages, with the same placeholders. */
import { describe, expect, it } from 'vitest';
import { METRICS, KINDS, SERVICE_MODES } from '../../../config/catalog.ts';
import { RULE_TEXT } from '../../../alerts/summary.ts';
import { STRINGS, departmentLabel, kindLabel, metricLabel, ruleLabel, serviceModeLabel, t } from './i18n.ts';
import { REASONS } from './views/ingest.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n', () => {
  it('has the same keys in zh-CN and en', () => {
    expect(Object.keys(STRINGS.en).sort()).toEqual(Object.keys(STRINGS['zh-CN']).sort());
  });

  it('has no empty string and the same placeholders in both languages', () => {
    const problems: string[] = [];
    for (const key of Object.keys(STRINGS['zh-CN']) as (keyof (typeof STRINGS)['zh-CN'])[]) {
      const zh = STRINGS['zh-CN'][key];
      const en = STRINGS.en[key];
      if (!zh.trim() || !en.trim()) problems.push(`${key} is empty`);
      if (placeholders(zh).join() !== placeholders(en).join()) problems.push(`${key}: {${placeholders(zh)}} vs {${placeholders(en)}}`);
    }
    expect(problems).toEqual([]);
  });

  it('names every kind, service mode, reject reason and department of the jurisdiction in both', () => {
    for (const l of ['zh-CN', 'en'] as const) {
      for (const k of [...KINDS, 'system', 'site']) expect(kindLabel(k, l)).not.toBe(k);
      SERVICE_MODES.forEach((_, i) => expect(serviceModeLabel(i, l)).not.toBe(String(i)));
      for (const r of REASONS) expect(STRINGS[l]).toHaveProperty(`reason.${r}`);
      for (const d of ['market-supervision', 'fire-rescue', 'health-commission', 'water-authority', 'housing', 'property', 'subdistrict', 'maintainer', 'operators']) expect(departmentLabel(d, l)).not.toBe(d);
    }
  });

  it('takes metric and rule names from the service tables', () => {
    for (const kind of KINDS) for (const m of METRICS[kind].values()) expect(metricLabel(kind, m.name, 'en')).toBe(m.label.en);
    expect(metricLabel('hydrant', 'pressure_mpa', 'zh-CN')).toBe('水压');
    expect(ruleLabel('tamper_metric', 'zh-CN')).toBe(RULE_TEXT.tamper_metric!['zh-CN']);
    // The rules of outages, a site's and the operational store's, and of the series store's cap are named in the table, in both.
    for (const rule of ['site_offline', 'ops_store_down', 'store_tag_limit']) {
      expect(RULE_TEXT).toHaveProperty(rule);
      for (const l of ['zh-CN', 'en'] as const) expect(ruleLabel(rule, l)).toBe(RULE_TEXT[rule]![l]);
    }
    expect(ruleLabel('some_new_rule', 'en')).toBe('some new rule');
  });

  it('fills placeholders', () => {
    expect(t('time.minutesAgo', { n: 3 }, 'zh-CN')).toBe('3 分钟前');
    expect(t('time.minutesAgo', { n: 3 }, 'en')).toBe('3 min ago');
    expect(t('alerts.ackedBy', { who: 'ops' }, 'en')).toBe('by ops at {when}');
    expect(t('compound.devices', { n: 1 }, 'en')).toBe('1 device');
    expect(t('compound.devices', { n: 2 }, 'en')).toBe('2 devices');
    expect(t('compound.devices', { n: 1 }, 'zh-CN')).toBe('1 台设备');
    expect(t('alerts.siteDevices', { n: 1 }, 'en')).toBe('1 device dark');
    expect(t('alerts.siteDevices', { n: 5 }, 'en')).toBe('5 devices dark');
  });
});
