/**
 * The routing table an estate file gives (`npm run check-config -- FILE`; after Alertmanager's
 * `amtool config routes test`): for each site, kind and rule, who receives a warning and who a
 * critical, who after escalation, and what can hold it back or group it. Worked out by the
 * notifier the engine runs (notify/notifier.ts `routeOf`, inhibit.ts), on an alert of each
 * device and severity, so the table says what the service would do; devices of one site, kind
 * and rule that are routed alike share a row.
 */
import { KIND_DEPARTMENT, Registry, SITE_OFFLINE, type Estate, type Severity } from '../config/index.ts';
import { Inhibitor, matchesAlert } from './notify/inhibit.ts';
import { Notifier } from './notify/notifier.ts';
import { Silences } from './notify/silence.ts';
import { Recipients } from './recipients.ts';
import type { EffectiveRule } from './rules/effective.ts';
import { RulePlans } from './rules/plans.ts';
import type { Alert } from './types.ts';

export interface RoutingRow {
  site: string;
  kind: string;
  rule: string;
  /** the devices the row is about ('' for a site's outage) */
  devices: string[];
  /** recipient ids per severity the rule can raise */
  warning: string[] | null;
  critical: string[] | null;
  /** who hears of it at its escalation, and after how long; null when it does not escalate */
  escalation: { minutes: number; to: string[] } | null;
  /** what can hold it back: inhibitions (by their source), inspection mode; and grouping */
  heldBack: string[];
}

const TRAPPED = new Set(['trapped', 'trapped_derived']);

function severities(r: EffectiveRule): Severity[] {
  if (r.type === 'threshold' || r.type === 'boolean') return r.levels.map((l) => l.severity).reverse();
  return [r.severity];
}

function alertOf(site: string, device: string, kind: Alert['kind'], rule: string, severity: Severity, housekeeping: boolean, devices?: string[]): Alert {
  return {
    id: 'check',
    key: `${site}/${device}/${rule}`,
    site,
    siteName: '',
    building: '',
    device,
    kind,
    rule,
    metric: null,
    severity,
    state: 'firing',
    value: null,
    threshold: null,
    unit: null,
    startsAt: 0,
    firedAt: 0,
    endsAt: null,
    ackDeadline: null,
    ackedAt: null,
    ackedBy: null,
    ackNote: null,
    escalatedAt: null,
    departments: [],
    notified: [],
    announcedAt: null,
    summary: { 'zh-CN': '', en: '' },
    mutedBy: null,
    flapping: false,
    source: '',
    housekeeping,
    offline: false,
    monitoringLostAt: null,
    ...(devices ? { devices } : {}),
  };
}

function describeMatcher(m: Record<string, unknown>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
    .join(',');
}

export function routingTable(estate: Estate): RoutingRow[] {
  const registry = new Registry(estate);
  const recipients = new Recipients(estate, registry);
  const inhibitor = new Inhibitor(estate.inhibit);
  const plans = new RulePlans(estate.rules);
  const rulesOf = new Map<string, readonly EffectiveRule[]>();
  for (const d of registry.devices.values()) rulesOf.set(d.id, plans.of(d).rules);
  const kindsAt = (site: string) => [...new Set(registry.devicesOf(site).map((d) => d.kind))];
  const notifier = new Notifier({
    estate,
    registry,
    recipients,
    inhibitor,
    silences: new Silences({ silences: async () => [] }, Date.now),
    ackUrl: () => null,
    ruleDepartments: (a) => (a.kind === 'site' ? kindsAt(a.site).map((k) => KIND_DEPARTMENT[k]) : [rulesOf.get(a.device)?.find((r) => r.id === a.rule)?.department ?? '']),
    inspecting: () => false,
  });
  const m = estate.alerting.escalateAfterMin;
  const held = (a: Alert): string[] => {
    const out = inhibitor.rules.filter((r) => matchesAlert(r.target, a)).map((r) => `while ${describeMatcher(r.source)}${r.equal.length ? ` (same ${r.equal.join(', ')})` : ''}`);
    if (a.kind === 'elevator' && !['device_silent', 'battery_low'].includes(a.rule)) out.push('inspection mode');
    if (a.housekeeping && a.kind !== 'site' && estate.alerting.group.waitSec > 0) out.push(`grouped (${estate.alerting.group.waitSec} s)`);
    return out;
  };
  const escalation = (a: Alert, to: string[]): RoutingRow['escalation'] => {
    if (a.housekeeping && !estate.alerting.escalateHousekeeping) return null;
    const minutes = TRAPPED.has(a.rule) ? m.trapped : a.severity === 'critical' ? m.critical : m.warning;
    return { minutes, to: [...new Set([...to, 'housing'])] };
  };
  const rows = new Map<string, RoutingRow>();
  for (const site of estate.sites) {
    for (const d of registry.devicesOf(site.id)) {
      for (const rule of rulesOf.get(d.id) ?? []) {
        const levels = severities(rule);
        const routed = (s: Severity) => (levels.includes(s) ? notifier.routeOf(alertOf(site.id, d.id, d.kind, rule.id, s, rule.housekeeping)) : null);
        const warning = routed('warning');
        const critical = routed('critical');
        const worst = alertOf(site.id, d.id, d.kind, rule.id, levels.includes('critical') ? 'critical' : 'warning', rule.housekeeping);
        const row: RoutingRow = { site: site.id, kind: d.kind, rule: rule.id, devices: [d.id], warning, critical, escalation: escalation(worst, critical ?? warning ?? []), heldBack: held(worst) };
        const key = JSON.stringify([row.site, row.kind, row.rule, row.warning, row.critical, row.escalation, row.heldBack]);
        const same = rows.get(key);
        if (same) same.devices.push(d.id);
        else rows.set(key, row);
      }
    }
    if (registry.devicesOf(site.id).length > 0) {
      const a = alertOf(site.id, '', 'site', SITE_OFFLINE, 'warning', true, registry.devicesOf(site.id).map((d) => d.id));
      const to = notifier.routeOf(a);
      rows.set(`${site.id}//site`, { site: site.id, kind: 'site', rule: SITE_OFFLINE, devices: [], warning: to, critical: null, escalation: escalation(a, to), heldBack: held(a) });
    }
  }
  return [...rows.values()];
}

/** The table as text: one line per row, then who each recipient id is. */
export function formatRoutingTable(rows: readonly RoutingRow[], estate: Estate): string {
  const registry = new Registry(estate);
  const recipients = new Recipients(estate, registry);
  const names = new Map<string, string>();
  const name = (site: string, id: string) => {
    const t = recipients.resolve({ site, device: '' }, id);
    const label = t.length > 0 ? t.map((x) => x.name).join(' / ') : '(not in the estate file: nobody is told)';
    names.set(id === 'property' || id === 'subdistrict' || id === 'maintainer' ? `${id}@${site}` : id, label);
  };
  const list = (site: string, ids: string[] | null) => {
    if (ids === null) return '—';
    ids.forEach((id) => name(site, id));
    return ids.join(', ') || '(nobody)';
  };
  const header = ['site', 'kind', 'rule', 'devices', 'warning →', 'critical →', 'escalation', 'held back / grouped'];
  const body = rows.map((r) => [
    r.site,
    r.kind,
    r.rule,
    r.kind === 'site' ? '(the site)' : r.devices.length > 3 ? `${r.devices.length} devices` : r.devices.join(', '),
    list(r.site, r.warning),
    list(r.site, r.critical),
    r.escalation ? `${list(r.site, r.escalation.to)} after ${r.escalation.minutes} min` : 'none',
    r.heldBack.join('; ') || '—',
  ]);
  const widths = header.map((h, i) => Math.min(48, Math.max(h.length, ...body.map((b) => b[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  out.push('', 'recipients:');
  for (const [id, label] of [...names].sort()) out.push(`  ${id.padEnd(30)} ${label}`);
  const system = estate.alerting.operators ? `operators (${estate.alerting.operators.name})` : "every site's property company (no alerting.operators)";
  out.push('', `the service's own alerts (broker, stores, spool, deliveries given up): to ${system}`);
  return out.join('\n');
}
