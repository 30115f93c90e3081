/**
 * Every string the UI shows, in zh-CN (the default) and en; the two tables are in strings/.
 * Metric names and units come from the service's metric catalog and rule names from its one
 * table of rule texts, so the UI, the API and the notifications always say the same thing.
 * i18n.test.ts checks that both languages have the same keys and the same placeholders.
 */
import { METRICS, type Kind } from '../../../config/catalog.ts';
import { ruleText } from '../../../alerts/summary.ts';
import { zh, type Key } from './strings/zh-CN.ts';
import { en } from './strings/en.ts';

export type { Key };
export type Lang = 'zh-CN' | 'en';
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

export const STRINGS: Readonly<Record<Lang, Readonly<Record<Key, string>>>> = { 'zh-CN': zh, en };

let current: Lang = 'zh-CN';

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
}

export function isLang(s: unknown): s is Lang {
  return s === 'zh-CN' || s === 'en';
}

/** The text of `key` with `{name}` placeholders filled; for `n` = 1, the key's `.one` form where there is one. */
export function t(key: Key, vars: Record<string, string | number> = {}, l: Lang = current): string {
  const one = `${key}.one`;
  const s = vars.n === 1 && one in STRINGS[l] ? STRINGS[l][one as Key] : STRINGS[l][key];
  return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A key made at run time (`'reason.' + reason`), or the fallback when the table has none. */
export function tOr(key: string, fallback: string, l: Lang = current): string {
  return key in STRINGS[l] ? STRINGS[l][key as Key] : fallback;
}

export function metricLabel(kind: Kind, metric: string, l: Lang = current): string {
  return METRICS[kind]?.get(metric)?.label[l] ?? metric;
}

export function ruleLabel(rule: string, l: Lang = current): string {
  return ruleText(rule)[l];
}

export function kindLabel(kind: string, l: Lang = current): string {
  return tOr(`kind.${kind}`, kind, l);
}

export function departmentLabel(id: string, l: Lang = current): string {
  return tOr(`dept.${id}`, id, l);
}

export function serviceModeLabel(mode: number, l: Lang = current): string {
  return tOr(`mode.${mode}`, String(mode), l);
}
