/**
 * The inhibition stage (after Alertmanager's inhibit/inhibit.go; docs/alerts.md,
 * "Outages"): while an open alert matches an inhibition's `source`, announcements of alerts
 * matching its `target` whose `equal` labels are the same are held back: recorded, not sent.
 * A source counts while it fires or is acknowledged; a system alert (an outage of the broker
 * or a store) counts from its first moment, pending included, so that what the outage causes
 * is held back before the outage's own grace has run.
 *
 * The defaults come first, then the estate file's `inhibit`; the first that holds an alert back
 * is the one recorded, so the deepest cause is named:
 * - the broker or a store away holds back silent alerts and site outages everywhere;
 * - a site's outage holds back its devices' silent and offline alerts;
 * - an elevator's `trapped` event holds back what its own readings derive from the same
 *   trapping (`trapped_derived`, stopped outside the door zone): one incident, one alert.
 */
import { SITE_OFFLINE, type AlertLabel, type InhibitDef, type Matcher } from '../../config/index.ts';
import { admits } from '../routing.ts';
import type { Alert } from '../types.ts';

export const DEFAULT_INHIBITIONS: readonly InhibitDef[] = [
  { source: { kind: 'system', rule: ['broker_down', 'store_down', 'ops_store_down'] }, target: { rule: ['device_silent', SITE_OFFLINE] }, equal: [] },
  { source: { rule: SITE_OFFLINE }, target: { rule: 'device_silent' }, equal: ['site'] },
  { source: { rule: 'trapped' }, target: { rule: ['trapped_derived', 'stop_outside_door_zone_derived', 'stop_outside_door_zone'] }, equal: ['device'] },
];

export function matchesAlert(m: Matcher, a: Alert): boolean {
  return admits(m.site, a.site) && admits(m.device, a.device) && admits(m.kind, a.kind) && admits(m.rule, a.rule) && admits(m.severity, a.severity);
}

/** Where the stage finds open alerts: all of them, or those of one rule (an index). */
export interface OpenAlerts {
  all(): Iterable<Alert>;
  ofRule(rule: string): Iterable<Alert>;
}

function counts(source: Alert): boolean {
  return source.state === 'firing' || source.state === 'acknowledged' || (source.kind === 'system' && source.state === 'pending');
}

export class Inhibitor {
  readonly rules: readonly InhibitDef[];

  constructor(extra: readonly InhibitDef[]) {
    this.rules = [...DEFAULT_INHIBITIONS, ...extra];
  }

  /** The key of an open alert that holds `a` back, or null. */
  heldBy(a: Alert, open: OpenAlerts): string | null {
    for (const r of this.rules) {
      if (!matchesAlert(r.target, a)) continue;
      const rules = r.source.rule === undefined ? null : typeof r.source.rule === 'string' ? [r.source.rule] : r.source.rule;
      const candidates = rules ? rules.flatMap((x) => [...open.ofRule(x)]) : open.all();
      for (const s of candidates) {
        if (s.key === a.key || !counts(s) || !matchesAlert(r.source, s)) continue;
        if (r.equal.every((l: AlertLabel) => s[l] === a[l])) return s.key;
      }
    }
    return null;
  }
}
