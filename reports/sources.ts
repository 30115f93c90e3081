/**
 * What every report builder reads from: the registry (which devices a site has, their
 * reporting intervals and attributes), the series store through `aggregate` (so both stores
 * serve the reports and the work happens in the database), and the operational store's
 * alert tables (migration 2), read here with one query each.
 *
 * An alert belongs to a period when its `startsAt` (the reading time its condition began,
 * as `GET /api/alerts?from=&to=` filters) falls in it. Left out: alerts that never fired
 * (pending), the service's own (`kind: system`), and alerts whose firing was held back
 * (muted by a silence or inspection mode, and never announced after): nobody was told of them.
 */
import type { Kind, RegisteredDevice, Registry, ReportsConfig, Site } from '../config/index.ts';
import type { AggregateQuery, AggregateRow, OpDb as Database, SeriesStore } from '../storage/index.ts';
import type { Alert } from '../alerts/index.ts';
import type { MaintenanceLog } from './maintenance.ts';

export interface ReportContext {
  registry: Registry;
  store: SeriesStore;
  facts: AlertFacts;
  maintenance: MaintenanceLog;
  config: ReportsConfig;
  now: () => number;
}

/** What a report covers: [from, to) over these sites. */
export interface Scope {
  from: number;
  to: number;
  sites: Site[];
}

export function devicesOf(ctx: ReportContext, site: Site, kind: Kind): RegisteredDevice[] {
  return ctx.registry.devicesOf(site.id).filter((d) => d.kind === kind);
}

export function allDevices(ctx: ReportContext, scope: Scope, kind: Kind): RegisteredDevice[] {
  return scope.sites.flatMap((s) => devicesOf(ctx, s, kind));
}

/** `aggregate` grouped by device, as a map from device to its values. */
export async function byDevice(store: SeriesStore, q: Omit<AggregateQuery, 'groupBy'>): Promise<Map<string, AggregateRow['values']>> {
  if (q.devices && q.devices.length === 0) return new Map();
  const rows = await store.aggregate({ ...q, groupBy: ['device'] });
  return new Map(rows.map((r) => [r.group.device!, r.values]));
}

export interface FactAlert {
  id: string;
  site: string;
  device: string;
  rule: string;
  severity: string;
  startsAt: number;
  firedAt: number;
  endsAt: number | null;
  ackDeadline: number | null;
  escalatedAt: number | null;
  departments: string[];
  /** each recipient's acknowledgement (a department id, 'property' or 'admin'), earliest first */
  acks: { department: string; at: number; actor: string }[];
}

const HELD_BACK = `a.id IN (SELECT alert_id FROM alert_history WHERE transition = 'muted' AND detail LIKE 'alert.firing held back%')
  AND a.id NOT IN (SELECT alert_id FROM alert_history WHERE transition = 'unmuted')`;

export class AlertFacts {
  constructor(private readonly db: Database) {}

  private scope(from: number, to: number, sites: readonly string[] | null): { where: string; args: unknown[] } {
    const where = [`a.starts_at >= ?`, `a.starts_at < ?`, `a.fired_at IS NOT NULL`, `a.kind <> 'system'`, `NOT (${HELD_BACK})`];
    const args: unknown[] = [from, to];
    if (sites) {
      where.push(`a.site IN (${sites.map(() => '?').join(',') || "''"})`);
      args.push(...sites);
    }
    return { where: where.join(' AND '), args };
  }

  /** The alerts of [from, to) at these sites (null: all), oldest first, with their acknowledgements. */
  alerts(from: number, to: number, sites: readonly string[] | null, rules?: readonly string[]): FactAlert[] {
    const { where, args } = this.scope(from, to, sites);
    const ruleFilter = rules ? ` AND a.rule IN (${rules.map(() => '?').join(',') || "''"})` : '';
    const all = [...args, ...(rules ?? [])];
    const rows = this.db.prepare(`SELECT a.data FROM alerts a WHERE ${where}${ruleFilter} ORDER BY a.starts_at, a.id`).all(...all) as { data: string }[];
    const acks = this.db
      .prepare(`SELECT k.alert_id AS id, k.department, k.at, k.actor FROM acks k JOIN alerts a ON a.id = k.alert_id WHERE ${where}${ruleFilter} ORDER BY k.at`)
      .all(...all) as { id: string; department: string; at: number; actor: string }[];
    const byAlert = new Map<string, FactAlert['acks']>();
    for (const k of acks) {
      const list = byAlert.get(k.id) ?? [];
      list.push({ department: k.department, at: k.at, actor: k.actor });
      byAlert.set(k.id, list);
    }
    return rows.map(({ data }) => {
      const a = JSON.parse(data) as Alert;
      return {
        id: a.id,
        site: a.site,
        device: a.device,
        rule: a.rule,
        severity: a.severity,
        startsAt: a.startsAt,
        firedAt: a.firedAt!,
        endsAt: a.endsAt,
        ackDeadline: a.ackDeadline,
        escalatedAt: a.escalatedAt,
        departments: a.departments,
        acks: byAlert.get(a.id) ?? [],
      };
    });
  }

  /**
   * Per device, the time within [from, to) during which it had a critical alert open, ms:
   * from the alert's first critical state (firing or rising to critical) until it resolved
   * (or `now` while still open), overlapping spans counted once. Both ends are the service's
   * clock, the one the alert's lifecycle runs on.
   */
  criticalMs(devices: readonly string[], from: number, to: number, now: number): Map<string, number> {
    const out = new Map<string, number>(devices.map((d) => [d, 0]));
    if (devices.length === 0) return out;
    const rows = this.db
      .prepare(
        `SELECT a.device AS device, min(h.at) AS since, a.ends_at AS "endsAt"
         FROM alerts a JOIN alert_history h ON h.alert_id = a.id
         WHERE a.device IN (${devices.map(() => '?').join(',')}) AND a.kind <> 'system'
           AND h.severity = 'critical' AND h.transition IN ('firing', 'severity')
         GROUP BY a.id HAVING min(h.at) < ? AND (a.ends_at IS NULL OR a.ends_at > ?)
         ORDER BY a.device, since`,
      )
      .all(...devices, to, from) as { device: string; since: number; endsAt: number | null }[];
    let device = '';
    let covered = -Infinity;
    for (const r of rows) {
      if (r.device !== device) {
        device = r.device;
        covered = -Infinity;
      }
      const start = Math.max(r.since, from, covered);
      const end = Math.min(r.endsAt ?? now, to);
      if (end > start) out.set(device, out.get(device)! + end - start);
      covered = Math.max(covered, end);
    }
    return out;
  }
}
