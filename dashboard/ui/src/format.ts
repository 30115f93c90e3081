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

/*
 * Reports are judged in Asia/Shanghai (UTC+8 all year, no daylight saving), whatever the
 * browser's time zone: a "day" is a Shanghai day. Dates are `YYYY-MM-DD` strings, as
 * `<input type="date">` gives them.
 */
const SHANGHAI_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/** The Shanghai calendar date of an instant: `2026-11-25`. */
export function shanghaiDate(ms: number): string {
  return new Date(ms + SHANGHAI_MS).toISOString().slice(0, 10);
}

/** Shanghai date and time to the minute: `2026-11-25 14:30`. */
export function shanghaiDateTime(ms: number): string {
  return new Date(ms + SHANGHAI_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/** The instant a Shanghai date begins, RFC 3339: `2026-11-25T00:00:00+08:00`. */
export function shanghaiStart(date: string): string {
  return `${date}T00:00:00+08:00`;
}

export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

export type Preset = 'day' | 'week' | 'month';

/** The previous Shanghai day, week (Monday to Sunday) or calendar month before `now`, as inclusive dates. */
export function presetPeriod(preset: Preset, now: number): { from: string; to: string } {
  const today = shanghaiDate(now);
  if (preset === 'day') {
    const y = addDays(today, -1);
    return { from: y, to: y };
  }
  if (preset === 'week') {
    const monday = addDays(today, -((new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7));
    return { from: addDays(monday, -7), to: addDays(monday, -1) };
  }
  const last = addDays(`${today.slice(0, 8)}01`, -1);
  return { from: `${last.slice(0, 8)}01`, to: last };
}

/**
 * What `POST /api/reports` is sent for the inclusive Shanghai dates of the form: from the
 * first date's 00:00 to the day after the last one, or to `now` when the last date is today
 * (a report on today so far). A later date is sent as it is, for the API to refuse.
 */
export function requestPeriod(from: string, to: string, now: number): { from: string; to: string } {
  return { from: shanghaiStart(from), to: to === shanghaiDate(now) ? new Date(now).toISOString() : shanghaiStart(addDays(to, 1)) };
}

const atMidnight = (ms: number) => (ms + SHANGHAI_MS) % DAY_MS === 0;

/**
 * A report's period for people, in Shanghai time: `2026-11-25` for one whole day,
 * `2026-11-01 – 2026-11-30` for whole days (the last one included), else to the minute.
 * A maintenance report is "as of" its end: `2026-12-01 00:00`.
 */
export function reportPeriod(kind: string, fromIso: string, toIso: string): string {
  const from = Date.parse(fromIso);
  const to = Date.parse(toIso);
  if (!Number.isFinite(from) || !Number.isFinite(to)) return '—';
  if (kind === 'maintenance') return shanghaiDateTime(to);
  if (atMidnight(from) && atMidnight(to) && to > from) {
    const first = shanghaiDate(from);
    const last = shanghaiDate(to - 1);
    return first === last ? first : `${first} – ${last}`;
  }
  const a = shanghaiDateTime(from);
  const b = shanghaiDateTime(to);
  return a.slice(0, 10) === b.slice(0, 10) ? `${a} – ${b.slice(11)}` : `${a} – ${b}`;
}

/** A name for a downloaded report file: `health_2026-11-25_<id>.csv`, `accountability_2026-11-01_2026-11-30_<id>.json`, `maintenance_2026-12-01_<id>.csv` (as of). */
export function reportFileName(r: { id: string; kind: string; from: string; to: string }, ext: string): string {
  const from = Date.parse(r.from);
  const to = Date.parse(r.to);
  let period: string;
  if (!Number.isFinite(from) || !Number.isFinite(to)) period = '';
  else if (r.kind === 'maintenance') period = shanghaiDate(to);
  else {
    const first = shanghaiDate(from);
    const last = shanghaiDate(Math.max(from, to - 1));
    period = first === last ? first : `${first}_${last}`;
  }
  return [r.kind, period, r.id].filter(Boolean).join('_').replace(/[^\w.-]+/g, '-') + `.${ext}`;
}
