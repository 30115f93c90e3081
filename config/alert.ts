/**
 * The alert's vocabulary, defined once (STYLE.md): the alert as the service keeps it and
 * shows it (API, bus, dashboard), the events a delivery can carry, and the bodies those
 * deliveries carry to receivers (docs/interfaces.md, "Deliveries"). A leaf of config so that
 * the bus, the alerts part, reports and the dashboard all import the same shapes.
 */
import type { Kind } from './catalog.ts';
import type { Severity } from './rules.ts';
import type { ReportFormat, ReportKind } from './schema.ts';

export type AlertState = 'pending' | 'firing' | 'acknowledged' | 'resolved';

/** What an announcement about one alert says happened. */
export type AlertEvent = 'alert.firing' | 'alert.acknowledged' | 'alert.escalated' | 'alert.reminder' | 'alert.resolved';

/** Every event a delivery can carry. */
export type DeliveryEvent = AlertEvent | 'alert.group' | 'report.ready';

export const ALERT_EVENTS: readonly AlertEvent[] = ['alert.firing', 'alert.acknowledged', 'alert.escalated', 'alert.reminder', 'alert.resolved'];

export interface LocalizedText {
  'zh-CN': string;
  en: string;
}

/** `system` for the service's own alerts, `site` for a site's outage (site_offline). */
export type AlertKind = Kind | 'system' | 'site';

/** One alert per (site, device, rule) at a time. Times are epoch ms. */
export interface Alert {
  id: string;
  /** `${site}/${device}/${rule}` (`${site}//site_offline` for a site) */
  key: string;
  site: string;
  siteName: string;
  building: string;
  /** '' for a site's outage, 'system' for the service's own */
  device: string;
  kind: AlertKind;
  rule: string;
  metric: string | null;
  severity: Severity;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  unit: string | null;
  /** when the condition began (reading time; service time for silent, offline and outages) */
  startsAt: number;
  /** when it fired (service time) */
  firedAt: number | null;
  endsAt: number | null;
  ackDeadline: number | null;
  ackedAt: number | null;
  ackedBy: string | null;
  ackNote: string | null;
  escalatedAt: number | null;
  /** every recipient it was routed to (department ids, 'property', 'subdistrict', 'maintainer', 'operators') */
  departments: string[];
  /** the recipients that were told of it: they hear of its acknowledgement and its end */
  notified: string[];
  /** when anyone was first told of it; null while nobody was */
  announcedAt: number | null;
  summary: LocalizedText;
  /** why its announcements are held back now: a silence id, 'inspection', or `inhibited:<source key>` */
  mutedBy: string | null;
  flapping: boolean;
  /** the standard or practice the rule comes from */
  source: string;
  /** about the sensor, not the equipment (silent, offline, battery, a site's outage) */
  housekeeping: boolean;
  /** a silent alert raised by the device's `online: false` (its last will) rather than by silence */
  offline: boolean;
  /** housekeeping: when the device's department was told it can no longer see the equipment */
  monitoringLostAt: number | null;
  /** a site's outage: the devices that went dark */
  devices?: string[];
}

/** A recipient of a delivery: a department, or a site's property company, sub-district office, maintainer. */
export interface Recipient {
  id: string;
  name: string;
}

/** The alert as a delivery carries it (docs/interfaces.md, "The alert object"). */
export interface AlertBody {
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
  /** a site's outage: the devices that went dark */
  devices?: string[];
}

/** One announcement about one alert, to one recipient. */
export interface AlertNotification {
  version: 1;
  event: AlertEvent;
  sentAt: string;
  department: Recipient;
  alert: AlertBody;
  ackUrl: string | null;
}

/** Housekeeping announcements of one site and rule, sent as one (docs/alerts.md, "Groups"). */
export interface GroupNotification {
  version: 1;
  event: 'alert.group';
  sentAt: string;
  department: Recipient;
  group: { key: string; site: string; siteName: string; rule: string; count: number; event: AlertEvent };
  alerts: AlertBody[];
}

/** A scheduled report is ready (docs/reports.md). */
export interface ReportNotification {
  version: 1;
  event: 'report.ready';
  sentAt: string;
  department: Recipient;
  report: { id: string; kind: ReportKind; from: string; to: string; formats: Record<ReportFormat, string> };
}

/** Every body a delivery carries; the webhook posts it as it is, the other channels render it. */
export type Notification = AlertNotification | GroupNotification | ReportNotification;
