/**
 * The alerts part's tables in the operational store and every query on them: alerts with
 * their history and recipients, acknowledgements, silences, and the announcements waiting in
 * a group (docs/alerts.md). Writes of an alert's change take the caller's transaction (`tx`),
 * so that the committer (commit.ts) writes an alert, its history and its deliveries together.
 */
import { placeholders, type OpDb, type Queryable, type Schema } from '../storage/index.ts';
import type { Alert, AlertBody, AlertEvent } from './types.ts';

export const ALERTS_SCHEMA: Schema = {
  part: 'alerts',
  migrations: [
    // 1: alerts, their history, recipients, acknowledgements, silences
    `
  CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    fired_at INTEGER,
    ends_at INTEGER,
    data TEXT NOT NULL              -- the whole Alert as JSON
  );
  CREATE INDEX alerts_open ON alerts (key) WHERE state <> 'resolved';
  CREATE INDEX alerts_site_time ON alerts (site, starts_at);
  CREATE INDEX alerts_time ON alerts (starts_at);
  CREATE TABLE alert_departments (
    alert_id TEXT NOT NULL,
    department TEXT NOT NULL,       -- a department id, or 'property'
    PRIMARY KEY (alert_id, department)
  );
  CREATE INDEX alert_departments_department ON alert_departments (department, alert_id);
  CREATE TABLE alert_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    transition TEXT NOT NULL,       -- pending, firing, severity, acknowledged, escalated, reminder, resolved, muted
    severity TEXT,
    actor TEXT,
    detail TEXT
  );
  CREATE INDEX alert_history_alert ON alert_history (alert_id, id);
  CREATE TABLE acks (
    alert_id TEXT NOT NULL,
    department TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL,              -- api | link
    note TEXT,
    PRIMARY KEY (alert_id, department)
  );
  CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,         -- JSON {site?, device?, kind?, rule?, severity?}
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    comment TEXT NOT NULL,
    deleted_at INTEGER
  );
  `,
    // 2: whether anyone was told (the reports read it, not the history's text), why an alert
    // is held back, and announcements waiting in a group
    `
  ALTER TABLE alerts ADD COLUMN announced_at INTEGER;   -- when anyone was first told; NULL: nobody was
  ALTER TABLE alerts ADD COLUMN held_back TEXT;          -- why its announcements are held back now, if they are
  UPDATE alerts SET announced_at = fired_at WHERE fired_at IS NOT NULL
    AND id NOT IN (SELECT alert_id FROM alert_history WHERE transition = 'muted' AND detail LIKE 'alert.firing held back%');
  UPDATE alerts SET announced_at = (SELECT min(h.at) FROM alert_history h WHERE h.alert_id = alerts.id AND h.transition = 'unmuted')
    WHERE announced_at IS NULL AND fired_at IS NOT NULL;
  CREATE TABLE notify_groups (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,        -- recipient, site, rule and event, as groups.ts makes it
    recipient TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    body TEXT NOT NULL              -- the alert as the delivery carries it, JSON
  );
  CREATE INDEX notify_groups_key ON notify_groups (group_key);
  `,
  ],
};

export interface AlertQuery {
  /** active = firing or acknowledged; all = every state but pending */
  state: 'active' | 'all';
  /** limit to these sites (a scoped token); system alerts have site '' */
  sites?: readonly string[];
  /** limit to alerts routed to one of these recipients ('property' for property companies) */
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

/** One change of an alert's life, as its history keeps it. */
export interface HistoryRow {
  alertId: string;
  at: number;
  transition: string;
  severity: string | null;
  actor: string | null;
  detail: string | null;
}

/** An announcement waiting in its group until the group is due (groups.ts). */
export interface GroupEntry {
  id: string;
  groupKey: string;
  recipient: string;
  alertId: string;
  event: AlertEvent;
  createdAt: number;
  dueAt: number;
  body: AlertBody;
}

/**
 * An alert read back: fields that rows written before them lack get their meaning for those
 * rows, from the columns migration 2 filled (`announced_at`: whether anyone was told).
 */
export function normalize(a: Partial<Alert> & Pick<Alert, 'id' | 'key'>, announcedColumn: number | null = null): Alert {
  const announced = a.announcedAt !== undefined ? a.announcedAt : announcedColumn;
  return {
    ...(a as Alert),
    notified: a.notified ?? (announced !== null ? [...(a.departments ?? [])] : []),
    announcedAt: announced,
    housekeeping: a.housekeeping ?? (a.rule === 'device_silent' || a.rule === 'battery_low'),
    offline: a.offline ?? false,
    monitoringLostAt: a.monitoringLostAt ?? null,
  };
}

type Row = { data: string; announced_at: number | null };
const parse = (r: Row) => normalize(JSON.parse(r.data) as Alert, r.announced_at === null || r.announced_at === undefined ? null : Number(r.announced_at));

export class AlertStore {
  constructor(private readonly db: OpDb) {}

  /** Writes an alert as it is now, its recipients and its new history rows, in `tx`. */
  async save(tx: Queryable, a: Alert, history: readonly HistoryRow[] = []): Promise<void> {
    await tx.query(
      `INSERT INTO alerts (id, key, site, device, kind, rule, severity, state, starts_at, fired_at, ends_at, announced_at, held_back, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, state = excluded.state, fired_at = excluded.fired_at,
         ends_at = excluded.ends_at, announced_at = excluded.announced_at, held_back = excluded.held_back, data = excluded.data`,
      [a.id, a.key, a.site, a.device, a.kind, a.rule, a.severity, a.state, a.startsAt, a.firedAt, a.endsAt, a.announcedAt, a.mutedBy, JSON.stringify(a)],
    );
    if (a.departments.length > 0) {
      await tx.query(
        `INSERT INTO alert_departments (alert_id, department) VALUES ${a.departments.map(() => '(?, ?)').join(', ')} ON CONFLICT DO NOTHING`,
        a.departments.flatMap((d) => [a.id, d]),
      );
    }
    if (history.length > 0) {
      await tx.query(
        `INSERT INTO alert_history (alert_id, at, transition, severity, actor, detail) VALUES ${history.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
        history.flatMap((h) => [h.alertId, h.at, h.transition, h.severity, h.actor, h.detail]),
      );
    }
  }

  /** A pending alert whose condition went away before it fired was never an alert. */
  async discard(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM alerts WHERE id = ?', [id]);
    await tx.query('DELETE FROM alert_departments WHERE alert_id = ?', [id]);
    await tx.query('DELETE FROM alert_history WHERE alert_id = ?', [id]);
  }

  /** Every alert not resolved (pending included): the engine's state at a start. */
  async open(): Promise<Alert[]> {
    const r = await this.db.query<Row>(`SELECT data, announced_at FROM alerts WHERE state <> 'resolved'`);
    return r.rows.map(parse);
  }

  async get(id: string): Promise<Alert | undefined> {
    const r = await this.db.query<Row>('SELECT data, announced_at FROM alerts WHERE id = ?', [id]);
    return r.rows[0] ? parse(r.rows[0]) : undefined;
  }

  async list(q: AlertQuery): Promise<Alert[]> {
    const where = [q.state === 'active' ? `a.state IN ('firing', 'acknowledged')` : `a.state <> 'pending'`];
    const args: unknown[] = [];
    if (q.sites) {
      where.push(`a.site IN (${placeholders(q.sites.length)})`);
      args.push(...q.sites);
    }
    if (q.site !== undefined) {
      where.push('a.site = ?');
      args.push(q.site);
    }
    if (q.departments) {
      where.push(`a.id IN (SELECT alert_id FROM alert_departments WHERE department IN (${placeholders(q.departments.length)}))`);
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
    const r = await this.db.query<Row>(
      `SELECT a.data, a.announced_at FROM alerts a WHERE ${where.join(' AND ')} ORDER BY coalesce(a.fired_at, a.starts_at) DESC, a.id DESC LIMIT ?`,
      [...args, q.limit],
    );
    return r.rows.map(parse);
  }

  async history(alertId: string): Promise<Omit<HistoryRow, 'alertId'>[]> {
    const r = await this.db.query<Omit<HistoryRow, 'alertId'>>('SELECT at, transition, severity, actor, detail FROM alert_history WHERE alert_id = ? ORDER BY id', [alertId]);
    return r.rows;
  }

  /** Records an acknowledgement in `tx`; false if that recipient had already acknowledged. */
  async addAck(tx: Queryable, a: AckRow): Promise<boolean> {
    const r = await tx.query('INSERT INTO acks (alert_id, department, at, actor, via, note) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [a.alertId, a.department, a.at, a.actor, a.via, a.note]);
    return r.changes > 0;
  }

  async acks(alertId: string): Promise<AckRow[]> {
    const r = await this.db.query<AckRow>('SELECT alert_id AS "alertId", department, at, actor, via, note FROM acks WHERE alert_id = ? ORDER BY at', [alertId]);
    return r.rows;
  }

  async addSilence(s: SilenceRow): Promise<void> {
    await this.db.query('INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, created_at, comment) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      s.id,
      JSON.stringify(s.matchers),
      s.startsAt,
      s.endsAt,
      s.createdBy,
      s.createdAt,
      s.comment,
    ]);
  }

  /** Silences not deleted and not yet over. */
  async silences(now: number): Promise<SilenceRow[]> {
    const r = await this.db.query<Omit<SilenceRow, 'matchers'> & { matchers: string }>(
      'SELECT id, matchers, starts_at AS "startsAt", ends_at AS "endsAt", created_by AS "createdBy", created_at AS "createdAt", comment FROM silences WHERE deleted_at IS NULL AND ends_at > ? ORDER BY starts_at',
      [now],
    );
    return r.rows.map((x) => ({ ...x, matchers: JSON.parse(x.matchers) as SilenceRow['matchers'] }));
  }

  async deleteSilence(id: string, at: number): Promise<boolean> {
    const r = await this.db.query('UPDATE silences SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL', [at, id]);
    return r.changes > 0;
  }

  /** Announcements waiting in groups (at a start). */
  async groupEntries(): Promise<GroupEntry[]> {
    const r = await this.db.query<Omit<GroupEntry, 'body'> & { body: string }>(
      'SELECT id, group_key AS "groupKey", recipient, alert_id AS "alertId", event, created_at AS "createdAt", due_at AS "dueAt", body FROM notify_groups ORDER BY created_at, id',
    );
    return r.rows.map((x) => ({ ...x, body: JSON.parse(x.body) as AlertBody }));
  }

  async addGroupEntries(tx: Queryable, entries: readonly GroupEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await tx.query(
      `INSERT INTO notify_groups (id, group_key, recipient, alert_id, event, created_at, due_at, body) VALUES ${entries.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      entries.flatMap((e) => [e.id, e.groupKey, e.recipient, e.alertId, e.event, e.createdAt, e.dueAt, JSON.stringify(e.body)]),
    );
  }

  async removeGroupEntries(tx: Queryable, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await tx.query(`DELETE FROM notify_groups WHERE id IN (${placeholders(ids.length)})`, ids);
  }
}
