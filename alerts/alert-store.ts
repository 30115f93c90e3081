/**
 * Alerts, their history, acknowledgements, silences and the audit log in the operational
 * store (migration 2). Every change of an alert is saved before anyone is told.
 */
import type { OpDb as Database, OpStatement as Statement } from '../storage/index.ts';
import type { Alert } from './types.ts';

export interface AlertQuery {
  /** active = firing or acknowledged; all = every state but pending */
  state: 'active' | 'all';
  /** limit to these sites (a scoped token); system alerts have site '' */
  sites?: readonly string[];
  /** limit to alerts routed to one of these departments ('property' for property companies) */
  departments?: readonly string[];
  site?: string;
  from?: number;
  to?: number;
  limit: number;
}

export interface AckRow {
  alertId: string;
  department: string;
  at: number;
  actor: string;
  via: 'api' | 'link';
  note: string | null;
}

export interface SilenceRow {
  id: string;
  matchers: { site?: string; device?: string; kind?: string; rule?: string; severity?: string };
  startsAt: number;
  endsAt: number;
  createdBy: string;
  createdAt: number;
  comment: string;
}

export class AlertStore {
  private readonly upsert: Statement;
  private readonly addDept: Statement;
  private readonly addHistory: Statement;

  constructor(private readonly db: Database) {
    this.upsert = db.prepare(
      `INSERT INTO alerts (id, key, site, device, kind, rule, severity, state, starts_at, fired_at, ends_at, data)
       VALUES (@id, @key, @site, @device, @kind, @rule, @severity, @state, @startsAt, @firedAt, @endsAt, @data)
       ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, state = excluded.state, fired_at = excluded.fired_at,
         ends_at = excluded.ends_at, data = excluded.data`,
    );
    this.addDept = db.prepare('INSERT INTO alert_departments (alert_id, department) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.addHistory = db.prepare('INSERT INTO alert_history (alert_id, at, transition, severity, actor, detail) VALUES (?, ?, ?, ?, ?, ?)');
  }

  save(a: Alert, transition?: { at: number; name: string; actor?: string; detail?: string }): void {
    this.db.transaction(() => {
      this.upsert.run({ ...a, data: JSON.stringify(a) });
      for (const d of a.departments) this.addDept.run(a.id, d);
      if (transition) this.addHistory.run(a.id, transition.at, transition.name, a.severity, transition.actor ?? null, transition.detail ?? null);
    })();
  }

  /** A pending alert whose condition went away before it fired was never an alert. */
  discard(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM alerts WHERE id = ?').run(id);
      this.db.prepare('DELETE FROM alert_departments WHERE alert_id = ?').run(id);
      this.db.prepare('DELETE FROM alert_history WHERE alert_id = ?').run(id);
    })();
  }

  open(): Alert[] {
    return (this.db.prepare(`SELECT data FROM alerts WHERE state <> 'resolved'`).all() as { data: string }[]).map((r) => JSON.parse(r.data) as Alert);
  }

  get(id: string): Alert | undefined {
    const row = this.db.prepare('SELECT data FROM alerts WHERE id = ?').get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Alert) : undefined;
  }

  list(q: AlertQuery): Alert[] {
    const where = [q.state === 'active' ? `a.state IN ('firing', 'acknowledged')` : `a.state <> 'pending'`];
    const args: unknown[] = [];
    if (q.sites) {
      where.push(`a.site IN (${q.sites.map(() => '?').join(',') || "''"})`);
      args.push(...q.sites);
    }
    if (q.site !== undefined) {
      where.push('a.site = ?');
      args.push(q.site);
    }
    if (q.departments) {
      where.push(`a.id IN (SELECT alert_id FROM alert_departments WHERE department IN (${q.departments.map(() => '?').join(',') || "''"}))`);
      args.push(...q.departments);
    }
    if (q.from !== undefined) {
      where.push('a.starts_at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('a.starts_at < ?');
      args.push(q.to);
    }
    const rows = this.db
      .prepare(`SELECT a.data FROM alerts a WHERE ${where.join(' AND ')} ORDER BY coalesce(a.fired_at, a.starts_at) DESC, a.id DESC LIMIT ?`)
      .all(...args, q.limit) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as Alert);
  }

  history(alertId: string): { at: number; transition: string; severity: string | null; actor: string | null; detail: string | null }[] {
    return this.db.prepare('SELECT at, transition, severity, actor, detail FROM alert_history WHERE alert_id = ? ORDER BY id').all(alertId) as never;
  }

  /** Records an acknowledgement; false if that department had already acknowledged. */
  addAck(a: AckRow): boolean {
    const r = this.db
      .prepare('INSERT INTO acks (alert_id, department, at, actor, via, note) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(a.alertId, a.department, a.at, a.actor, a.via, a.note);
    return r.changes > 0;
  }

  acks(alertId: string): AckRow[] {
    return this.db.prepare('SELECT alert_id AS "alertId", department, at, actor, via, note FROM acks WHERE alert_id = ? ORDER BY at').all(alertId) as AckRow[];
  }

  addSilence(s: SilenceRow): void {
    this.db
      .prepare('INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, created_at, comment) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(s.id, JSON.stringify(s.matchers), s.startsAt, s.endsAt, s.createdBy, s.createdAt, s.comment);
  }

  /** Silences not deleted and not yet over. */
  silences(now: number): SilenceRow[] {
    const rows = this.db
      .prepare('SELECT id, matchers, starts_at AS "startsAt", ends_at AS "endsAt", created_by AS "createdBy", created_at AS "createdAt", comment FROM silences WHERE deleted_at IS NULL AND ends_at > ? ORDER BY starts_at')
      .all(now) as (Omit<SilenceRow, 'matchers'> & { matchers: string })[];
    return rows.map((r) => ({ ...r, matchers: JSON.parse(r.matchers) as SilenceRow['matchers'] }));
  }

  deleteSilence(id: string, at: number): boolean {
    return this.db.prepare('UPDATE silences SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(at, id).changes > 0;
  }

  audit(actor: string, action: string, target: string | null, detail: string | null, at = Date.now()): void {
    this.db.prepare('INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(at, actor, action, target, detail);
  }

  auditLog(limit: number): { at: number; actor: string; action: string; target: string | null; detail: string | null }[] {
    return this.db.prepare('SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as never;
  }
}
