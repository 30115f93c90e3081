/**
 * What every report builder reads from: the registry (which devices a site has, their
 * reporting intervals and attributes), the series store through `aggregate` (so both stores
 * serve the reports and the work happens in the database), and the alerts part's tables in
 * the operational store (ALERTS_SCHEMA), read here with one query each.
 *
 * An alert belongs to a period when its `startsAt` (the reading time its condition began,
 * as `GET /api/alerts?from=&to=` filters) falls in it. Left out: the service's own alerts
 * (`kind: system`), and alerts nobody was told of (`announced_at` NULL: never fired, or held
 * back by a silence, inspection mode or an inhibition and never announced after).
 */
import type { Kind, RegisteredDevice, Registry, ReportsConfig, Site } from '../config/index.ts';
import { placeholders, type AggregateQuery, type AggregateRow, type OpDb, type SeriesStore } from '../storage/index.ts';
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
  /** each recipient's acknowledgement (a department id, 'property', 'subdistrict', 'maintainer' or 'admin'), earliest first */
  acks: { department: string; at: number; actor: string }[];
}

export class AlertFacts {
  constructor(private readonly db: OpDb) {}

  private scope(from: number, to: number, sites: readonly string[] | null): { where: string; args: unknown[] } {
    const where = [`a.starts_at >= ?`, `a.starts_at < ?`, `a.announced_at IS NOT NULL`, `a.kind <> 'system'`];
    const args: unknown[] = [from, to];
    if (sites) {
      where.push(`a.site IN (${placeholders(sites.length)})`);
      args.push(...sites);
    }
    return { where: where.join(' AND '), args };
  }

  /** The alerts of [from, to) at these sites (null: all), oldest first, with their acknowledgements. */
  async alerts(from: number, to: number, sites: readonly string[] | null, rules?: readonly string[]): Promise<FactAlert[]> {
    const { where, args } = this.scope(from, to, sites);
    const ruleFilter = rules ? ` AND a.rule IN (${placeholders(rules.length)})` : '';
    const all = [...args, ...(rules ?? [])];
    const [rows, acks] = await Promise.all([
      this.db.query<{ data: string }>(`SELECT a.data FROM alerts a WHERE ${where}${ruleFilter} ORDER BY a.starts_at, a.id`, all),
      this.db.query<{ id: string; department: string; at: number; actor: string }>(
        `SELECT k.alert_id AS id, k.department, k.at, k.actor FROM acks k JOIN alerts a ON a.id = k.alert_id WHERE ${where}${ruleFilter} ORDER BY k.at`,
        all,
      ),
    ]);
    const byAlert = new Map<string, FactAlert['acks']>();
    for (const k of acks.rows) {
      const list = byAlert.get(k.id) ?? [];
      list.push({ department: k.department, at: k.at, actor: k.actor });
      byAlert.set(k.id, list);
    }
    return rows.rows.map(({ data }) => {
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
  async criticalMs(devices: readonly string[], from: number, to: number, now: number): Promise<Map<string, number>> {
    const out = new Map<string, number>(devices.map((d) => [d, 0]));
    if (devices.length === 0) return out;
    const rows = await this.db.query<{ device: string; since: number; endsAt: number | null }>(
      `SELECT a.device AS device, min(h.at) AS since, a.ends_at AS "endsAt"
       FROM alerts a JOIN alert_history h ON h.alert_id = a.id
       WHERE a.device IN (${placeholders(devices.length)}) AND a.kind <> 'system'
         AND h.severity = 'critical' AND h.transition IN ('firing', 'severity')
       GROUP BY a.id, a.device, a.ends_at HAVING min(h.at) < ? AND (a.ends_at IS NULL OR a.ends_at > ?)
       ORDER BY a.device, since`,
      [...devices, to, from],
    );
    let device = '';
    let covered = -Infinity;
    for (const r of rows.rows) {
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
