/**
 * Pure formatting and state rules of the UI, apart from the DOM so that unit tests can pin
 * them: relative times ("3 分钟前"), values with their units, a device's state.
 */
import type { MetricSpec } from '../../../config/catalog.ts';
import type { DeviceState, Severity } from './api.ts';
import { t, serviceModeLabel, type Lang } from './i18n.ts';

/** "刚刚", "3 分钟前", "2 小时前" / "just now", "3 min ago"; "从未" / "never" for null. */
export function relativeTime(then: number | null, now: number, lang: Lang): string {
  if (then === null || !Number.isFinite(then)) return t('time.never', {}, lang);
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 10) return t('time.justNow', {}, lang);
  if (s < 60) return t('time.secondsAgo', { n: s }, lang);
  const m = Math.floor(s / 60);
  if (m < 60) return t('time.minutesAgo', { n: m }, lang);
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return t('time.hoursAgo', { n: hrs }, lang);
  return t('time.daysAgo', { n: Math.floor(hrs / 24) }, lang);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local date and time, `2026-11-25 16:00:05`; '—' for null. */
export function dateTime(iso: string | number | null): string {
  if (iso === null) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A number with as many decimals as its size deserves: 1234, 12.3, 0.28, 0.013. */
export function number(v: number, integer = false): string {
  if (integer) return String(Math.round(v));
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 0.1 ? 2 : a === 0 ? 0 : 3;
  return v.toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** A metric's value for people: "0.28 MPa", "是", "检修"; '—' for none. */
export function metricValue(spec: MetricSpec | undefined, value: number | boolean | undefined, lang: Lang): string {
  if (value === undefined) return '—';
  if (typeof value === 'boolean') return t(value ? 'value.yes' : 'value.no', {}, lang);
  if (spec?.name === 'service_mode') return serviceModeLabel(value, lang);
  const text = number(value, spec?.integer ?? false);
  return spec?.unit ? `${text} ${spec.unit}` : text;
}

/** The device's state as the service derives it (dashboard/live/latest.ts): the worst open alert, else offline, else ok, or unknown when never heard. */
export function deviceState(open: Iterable<Severity>, online: boolean | null, heard: boolean): DeviceState {
  let worst: Severity | undefined;
  for (const s of open) if (s === 'critical' || !worst) worst = s;
  if (worst) return worst;
  if (online === false) return 'offline';
  return heard ? 'ok' : 'unknown';
}

/** Buildings in the order people expect: 1栋, 2栋, …, 10栋, then the rest. */
const collator = new Intl.Collator('zh-CN', { numeric: true });
export function byBuilding(a: string, b: string): number {
  return collator.compare(a, b);
}
