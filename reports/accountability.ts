/**
 * The accountability report (监督考核): how fast each department and each compound's own
 * recipient responded to the alerts of the period, from the operational store. A compound's
 * own recipient is its property company, or its sub-district office where it has none
 * (`property` or `subdistrict` among an alert's recipients); its figures are the site's
 * `properties` entry. For each recipient (a department the alert was routed to, or the
 * site's own recipient):
 * - `alerts`: the period's alerts routed to it;
 * - `ackP50Sec`, `ackP90Sec`: nearest-rank percentiles of its acknowledgement time (its own
 *   acknowledgement − the alert's firing), over the alerts it acknowledged; null when none;
 * - `escalations`: its alerts that escalated (not acknowledged by anyone before the deadline);
 * - `ackedWithinDeadlinePct`: share of its alerts it acknowledged at or before the alert's
 *   acknowledgement deadline; an alert it never acknowledged counts against it; null with no alerts.
 * `housing` receives alerts only by escalation, so all of its alerts are escalations.
 */
import type { FactAlert, ReportContext, Scope } from './sources.ts';
import { iso, round } from './calendar.ts';
import type { Built, ResponseFigures } from './types.ts';

/** Nearest-rank percentile: the smallest value with at least p % of the values at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The figures of one recipient over its alerts; several ids where one recipient had several names (a site's own). */
export function figures(alerts: readonly FactAlert[], recipient: string | readonly string[]): ResponseFigures {
  const ids: readonly string[] = typeof recipient === 'string' ? [recipient] : recipient;
  const times: number[] = [];
  let within = 0;
  let escalations = 0;
  for (const a of alerts) {
    if (a.escalatedAt !== null) escalations++;
    const ack = a.acks.find((k) => ids.includes(k.department));
    if (!ack) continue;
    times.push((ack.at - a.firedAt) / 1000);
    if (a.ackDeadline === null || ack.at <= a.ackDeadline) within++;
  }
  times.sort((x, y) => x - y);
  const p = (q: number) => {
    const v = nearestRank(times, q);
    return v === null ? null : round(v, 1);
  };
  return {
    alerts: alerts.length,
    ackP50Sec: p(50),
    ackP90Sec: p(90),
    escalations,
    ackedWithinDeadlinePct: alerts.length > 0 ? round((100 * within) / alerts.length, 2) : null,
  };
}

/** A site's own recipient, as alerts name it: its property company, or its sub-district office. */
export const SITE_OWN = ['property', 'subdistrict'] as const;

/**
 * Not departments: the site's own recipient, the sensors' maintainer, the operators of system
 * alerts, an admin's acknowledgement.
 */
const NOT_DEPARTMENTS = new Set<string>([...SITE_OWN, 'maintainer', 'operators', 'admin']);

export async function buildAccountability(ctx: ReportContext, scope: Scope, departmentIds: readonly string[]): Promise<Extract<Built, { kind: 'accountability' }>> {
  const alerts = await ctx.facts.alerts(
    scope.from,
    scope.to,
    scope.sites.map((s) => s.id),
  );
  const ids = new Set(departmentIds);
  for (const a of alerts) for (const d of a.departments) if (!NOT_DEPARTMENTS.has(d)) ids.add(d);
  const departments = [...ids].sort().map((id) => ({ id, ...figures(alerts.filter((a) => a.departments.includes(id)), id) }));
  const own = (a: FactAlert) => a.departments.some((d) => (SITE_OWN as readonly string[]).includes(d));
  const properties = scope.sites.map((s) => ({ site: s.id, ...figures(alerts.filter((a) => a.site === s.id && own(a)), SITE_OWN) }));
  return { kind: 'accountability', json: { kind: 'accountability', from: iso(scope.from), to: iso(scope.to), departments, properties }, extra: {} };
}
