/**
 * The alert and the notification about it: the types the rest of the alerts part, the
 * delivery outbox, the API and the dashboard share.
 */
import type { Kind, Severity } from '../config/index.ts';

export type AlertState = 'pending' | 'firing' | 'acknowledged' | 'resolved';

export type AlertEvent = 'alert.firing' | 'alert.acknowledged' | 'alert.escalated' | 'alert.reminder' | 'alert.resolved';

export interface LocalizedText {
  'zh-CN': string;
  en: string;
}

/** One alert per (site, device, rule) at a time. Times are epoch ms. */
export interface Alert {
  id: string;
  /** `${site}/${device}/${rule}` */
  key: string;
  site: string;
  siteName: string;
  building: string;
  device: string;
  /** 'system' for the service's own alerts (store or broker down, a channel failing) */
  kind: Kind | 'system';
  rule: string;
  metric: string | null;
  severity: Severity;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  unit: string | null;
  /** when the condition began (reading time) */
  startsAt: number;
  /** when it fired (service time) */
  firedAt: number | null;
  endsAt: number | null;
  ackDeadline: number | null;
  ackedAt: number | null;
  ackedBy: string | null;
  ackNote: string | null;
  escalatedAt: number | null;
  /** departments it is routed to (ids), the property company as 'property' */
  departments: string[];
  summary: LocalizedText;
  /** why its notifications are held back, if they are: a silence id, 'inspection', 'flapping', 'outage' */
  mutedBy: string | null;
  flapping: boolean;
  /** the standard or practice the rule comes from */
  source: string;
}

/** A recipient of a delivery: a department, or a site's property company (`id: 'property'`). */
export interface Recipient {
  id: string;
  name: string;
}

/** The webhook body of CONTRACT section 4; the other channels render from it. */
export interface Notification {
  version: 1;
  event: AlertEvent;
  sentAt: string;
  department: Recipient;
  alert: {
    id: string;
    key: string;
    site: string;
    siteName: string;
    building: string;
    device: string;
    kind: string;
    rule: string;
    metric: string | null;
    severity: Severity;
    state: AlertState;
    value: number | null;
    threshold: number | null;
    unit: string | null;
    startsAt: string;
    endsAt: string | null;
    summary: LocalizedText;
    ackDeadline: string | null;
  };
  ackUrl: string | null;
}
