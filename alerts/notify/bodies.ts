/**
 * What a delivery carries (docs/interfaces.md, "Deliveries"): the alert object, one
 * announcement of one alert to one recipient, and a group of them. Bodies are fixed when the
 * delivery is written and never change across retries.
 */
import type { Alert, AlertBody, AlertEvent, AlertNotification, GroupNotification, Recipient } from '../types.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function alertBody(a: Alert): AlertBody {
  return {
    id: a.id,
    key: a.key,
    site: a.site,
    siteName: a.siteName,
    building: a.building,
    device: a.device,
    kind: a.kind,
    rule: a.rule,
    metric: a.metric,
    severity: a.severity,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    unit: a.unit,
    startsAt: iso(a.firedAt ?? a.startsAt)!,
    endsAt: iso(a.endsAt),
    summary: a.summary,
    ackDeadline: iso(a.ackDeadline),
    ...(a.devices ? { devices: a.devices } : {}),
  };
}

export function alertNotification(body: AlertBody, event: AlertEvent, to: Recipient, now: number, ackUrl: string | null): AlertNotification {
  return { version: 1, event, sentAt: new Date(now).toISOString(), department: { id: to.id, name: to.name }, alert: body, ackUrl };
}

export function groupNotification(bodies: AlertBody[], event: AlertEvent, to: Recipient, now: number): GroupNotification {
  const first = bodies[0]!;
  return {
    version: 1,
    event: 'alert.group',
    sentAt: new Date(now).toISOString(),
    department: { id: to.id, name: to.name },
    group: { key: `${first.site}/${first.rule}`, site: first.site, siteName: first.siteName, rule: first.rule, count: bodies.length, event },
    alerts: bodies,
  };
}
