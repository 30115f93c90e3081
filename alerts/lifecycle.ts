/**
 * The life of one alert as pure steps (docs/alerts.md, "The life of an alert"): given the
 * alert as it is (or none) and a change, each step returns the alert as it becomes, the
 * history rows that say so, and what must be announced. Nothing here writes, sends or keeps
 * state: the committer (commit.ts) applies a step, the notifier (notify/) turns its
 * announcements into deliveries, and both are written in one transaction.
 *
 * - pending while a duration runs; firing; acknowledged; resolved. A pending alert whose
 *   condition goes away is discarded: it never was an alert.
 * - A rise in severity is announced again as `alert.firing`; a fall is recorded only.
 * - An alert that fires more than `flapping.transitions` times within `flapping.windowMin` is
 *   held as flapping: announced once, marked, and resolved only once it stayed clear for the window.
 */
import type { Alerting, Severity } from '../config/index.ts';
import type { HistoryRow } from './alert-store.ts';
import { newId } from './ids.ts';
import type { Alert, AlertEvent, LocalizedText } from './types.ts';

/** What an alert is about: fixed when it opens. */
export interface Opening {
  key: string;
  site: string;
  siteName: string;
  building: string;
  device: string;
  kind: Alert['kind'];
  rule: string;
  metric: string | null;
  unit: string | null;
  source: string;
  housekeeping: boolean;
  /** rules whose unacknowledged alerts escalate on the trapped deadline */
  trapped?: boolean;
}

/** A rule's outcome (or the service's own condition) for one alert key. */
export interface Condition {
  severity: Severity | 'pending';
  /** when the condition began */
  since: number;
  value: number | null;
  threshold: number | null;
  summary: LocalizedText;
  offline?: boolean;
  devices?: string[];
}

export interface Announcement {
  event: AlertEvent;
  /** only these recipients (a department hearing that monitoring was lost) */
  only?: readonly string[];
}

export interface Step {
  /** the alert after the step; its state says whether it is still open */
  alert: Alert;
  /** the alert was pending and is gone: delete it */
  discard?: boolean;
  history: HistoryRow[];
  announce: Announcement[];
  /** the bus event's transition name, or null when nothing changed that anyone watches */
  transition: string | null;
}

export interface LifeContext {
  now: number;
  alerting: Alerting;
  /** times this key fired within the flapping window, before this step */
  fires: readonly number[];
}

const RANK = { warning: 1, critical: 2 } as const;

const row = (a: Alert, at: number, transition: string, extra: { actor?: string | null; detail?: string | null } = {}): HistoryRow => ({
  alertId: a.id,
  at,
  transition,
  severity: a.severity,
  actor: extra.actor ?? null,
  detail: extra.detail ?? null,
});

function deadline(a: Alert, trapped: boolean, alerting: Alerting, now: number): number {
  const m = alerting.escalateAfterMin;
  const min = trapped ? m.trapped : a.severity === 'critical' ? m.critical : m.warning;
  return now + min * 60_000;
}

/** Whether this alert is one the flapping window holds (the fires list includes this firing). */
export function flapped(fires: readonly number[], alerting: Alerting): boolean {
  return fires.length > alerting.flapping.transitions;
}

/** A rule's outcome, for the alert of its key as it is now (or none). */
export function raise(current: Alert | undefined, o: Opening, c: Condition, ctx: LifeContext): Step {
  const now = ctx.now;
  const history: HistoryRow[] = [];
  let a: Alert;
  if (!current) {
    a = {
      id: newId(now),
      key: o.key,
      site: o.site,
      siteName: o.siteName,
      building: o.building,
      device: o.device,
      kind: o.kind,
      rule: o.rule,
      metric: o.metric,
      severity: c.severity === 'pending' ? 'warning' : c.severity,
      state: 'pending',
      value: c.value,
      threshold: c.threshold,
      unit: o.unit,
      startsAt: c.since,
      firedAt: null,
      endsAt: null,
      ackDeadline: null,
      ackedAt: null,
      ackedBy: null,
      ackNote: null,
      escalatedAt: null,
      departments: [],
      notified: [],
      announcedAt: null,
      summary: c.summary,
      mutedBy: null,
      flapping: false,
      source: o.source,
      housekeeping: o.housekeeping,
      offline: c.offline === true,
      monitoringLostAt: null,
      ...(c.devices ? { devices: c.devices } : {}),
    };
    if (c.severity === 'pending') {
      history.push(row(a, now, 'pending'));
      return { alert: a, history, announce: [], transition: 'pending' };
    }
  } else {
    a = { ...current };
    if (c.devices) a.devices = c.devices;
  }
  if (c.severity === 'pending') return { alert: a, history, announce: [], transition: null }; // already pending or firing
  const severity = c.severity;
  if (a.state === 'pending') {
    a.state = 'firing';
    a.severity = severity;
    a.firedAt = now;
    a.value = c.value;
    a.threshold = c.threshold;
    a.summary = c.summary;
    a.offline = c.offline === true;
    a.ackDeadline = deadline(a, o.trapped === true, ctx.alerting, now);
    a.flapping = flapped([...ctx.fires, now], ctx.alerting);
    if (a.flapping) a.summary = { 'zh-CN': `${a.summary['zh-CN']}（频繁波动）`, en: `${a.summary.en} (flapping)` };
    history.push(row(a, now, 'firing'));
    return { alert: a, history, announce: [{ event: 'alert.firing' }], transition: 'firing' };
  }
  // Firing or acknowledged already.
  if (severity === a.severity) {
    // The same severity: what it says may have changed (a site's outage lists its devices).
    const changed = c.devices !== undefined && JSON.stringify(c.devices) !== JSON.stringify(current?.devices);
    if (changed) {
      a.summary = c.summary;
      history.push(row(a, now, 'updated', { detail: `${c.devices!.length} devices` }));
      return { alert: a, history, announce: [], transition: 'updated' };
    }
    return { alert: a, history, announce: [], transition: null };
  }
  const rising = RANK[severity] > RANK[a.severity];
  a.severity = severity;
  a.value = c.value;
  a.threshold = c.threshold;
  a.summary = c.summary;
  history.push(row(a, now, 'severity', { detail: rising ? 'rose' : 'fell' }));
  return { alert: a, history, announce: rising ? [{ event: 'alert.firing' }] : [], transition: 'severity' };
}

/**
 * The condition is gone. A pending alert is discarded; a flapping one waits until it stayed
 * clear for the window (`clearSince`, then `resolve`); any other resolves.
 */
export function clear(current: Alert, ctx: LifeContext, summary?: LocalizedText): Step {
  if (current.state === 'pending') return { alert: { ...current }, discard: true, history: [], announce: [], transition: 'discarded' };
  if (current.flapping) return { alert: current, history: [], announce: [], transition: null };
  return resolve(current, ctx.now, summary);
}

export function resolve(current: Alert, now: number, summary?: LocalizedText, reason?: string): Step {
  const a: Alert = { ...current, state: 'resolved', endsAt: now };
  if (summary) a.summary = summary;
  return { alert: a, history: [row(a, now, 'resolved', reason ? { detail: reason } : {})], announce: [{ event: 'alert.resolved' }], transition: 'resolved' };
}

/**
 * An acknowledgement by recipients (department ids, 'property', 'admin'), of which `added`
 * were new. The first acknowledges the alert and stops escalation and reminders; each is recorded.
 */
export function acknowledge(current: Alert, added: readonly string[], actor: string, via: 'api' | 'link', note: string | null, now: number): Step {
  const a: Alert = { ...current };
  if (a.state === 'firing') {
    a.state = 'acknowledged';
    a.ackedAt = now;
    a.ackedBy = actor;
    a.ackNote = note;
  }
  return {
    alert: a,
    history: [row(a, now, 'acknowledged', { actor, detail: `${added.join(',')} via ${via}${note ? `: ${note}` : ''}` })],
    announce: [{ event: 'alert.acknowledged' }],
    transition: 'acknowledged',
  };
}

/** Unacknowledged past its deadline: to housing and everyone told before. */
export function escalate(current: Alert, now: number): Step {
  const a: Alert = { ...current, escalatedAt: now };
  return { alert: a, history: [row(a, now, 'escalated')], announce: [{ event: 'alert.escalated' }], transition: 'escalated' };
}

export function remind(current: Alert, now: number): Step {
  return { alert: current, history: [row(current, now, 'reminder')], announce: [{ event: 'alert.reminder' }], transition: 'reminder' };
}

/** A housekeeping alert that lasted past `monitoringLostAfterMin`: its department hears, once. */
export function monitoringLost(current: Alert, department: string, now: number): Step {
  const a: Alert = { ...current, monitoringLostAt: now };
  return { alert: a, history: [row(a, now, 'monitoring_lost', { detail: department })], announce: [{ event: 'alert.firing', only: [department] }], transition: 'monitoring_lost' };
}

/** What held an alert back ended while it still fires: announced now. */
export function unmute(current: Alert, now: number): Step {
  const a: Alert = { ...current, mutedBy: null };
  return { alert: a, history: [row(a, now, 'unmuted', { detail: current.mutedBy })], announce: [{ event: 'alert.firing' }], transition: 'unmuted' };
}
