/**
 * The operational store: what the service itself must remember (ingest's rejects and
 * unregistered devices; alerts, acknowledgements, silences, the outbox, the audit log and
 * maintenance records, through `db`). SQLite through better-sqlite3 in WAL mode under
 * DATA_DIR, or PostgreSQL when OPERATIONAL_DB is a postgres:// URL; the same numbered
 * migrations on both (docs/operational-store.md).
 */
import { isPostgresUrl, type Dialect, type OpDb } from './operational/db.ts';
import { openSqlite } from './operational/sqlite.ts';
import { PostgresDb } from './operational/postgres.ts';
import { migrate } from './operational/migrate.ts';

export interface RejectRow {
  at: number;
  reason: string;
  site: string | null;
  topic: string;
  detail: string;
  payload: string;
}

export interface UnregisteredRow {
  device: string;
  site: string;
  kind: string;
  topic: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  reason: string;
}

/** rows per INSERT of rejects */
const REJECTS_PER_INSERT = 100;

export class OperationalStore {
  readonly db: OpDb;
  readonly dialect: Dialect;

  /** `target`: a SQLite file, or a postgres:// URL. */
  constructor(target: string) {
    this.dialect = isPostgresUrl(target) ? 'postgres' : 'sqlite';
    this.db = this.dialect === 'postgres' ? new PostgresDb(target) : openSqlite(target);
    try {
      migrate(this.db, this.dialect);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  insertRejects(rows: readonly RejectRow[]): void {
    if (rows.length === 0) return;
    // Many rows per statement: on PostgreSQL each statement is a round trip (a flood of
    // rejects must not hold the event loop for one per row).
    this.db.transaction(() => {
      for (let i = 0; i < rows.length; i += REJECTS_PER_INSERT) {
        const chunk = rows.slice(i, i + REJECTS_PER_INSERT);
        this.db
          .prepare(`INSERT INTO ingest_rejects (at, reason, site, topic, detail, payload) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`)
          .run(chunk.flatMap((r) => [r.at, r.reason, r.site, r.topic, r.detail, r.payload]));
      }
    })();
  }

  /** Keeps the newest `keep` rejects. */
  pruneRejects(keep: number): void {
    this.db.prepare('DELETE FROM ingest_rejects WHERE id <= (SELECT max(id) FROM ingest_rejects) - ?').run(keep);
  }

  /** Newest first; `sites` limits to rejects whose topic names one of them. */
  listRejects(opts: { limit: number; reason?: string; before?: number; sites?: readonly string[] }): (RejectRow & { id: number })[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.sites) {
      where.push(`site IN (${opts.sites.map(() => '?').join(',') || "''"})`);
      args.push(...opts.sites);
    }
    if (opts.reason) {
      where.push('reason = ?');
      args.push(opts.reason);
    }
    if (opts.before !== undefined) {
      where.push('id < ?');
      args.push(opts.before);
    }
    return this.db
      .prepare(`SELECT id, at, reason, site, topic, detail, payload FROM ingest_rejects ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...args, opts.limit) as (RejectRow & { id: number })[];
  }

  countRejects(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM ingest_rejects').get() as { n: number }).n;
  }

  upsertUnregistered(rows: readonly Omit<UnregisteredRow, 'firstSeen'>[]): void {
    if (rows.length === 0) return;
    const stmt = this.db.prepare(
      `INSERT INTO unregistered_devices (device, site, kind, topic, first_seen, last_seen, count, reason)
       VALUES (@device, @site, @kind, @topic, @lastSeen, @lastSeen, @count, @reason)
       ON CONFLICT (device, site, kind) DO UPDATE SET topic = excluded.topic, last_seen = excluded.last_seen,
         count = unregistered_devices.count + excluded.count, reason = excluded.reason`,
    );
    this.db.transaction(() => {
      for (const r of rows) stmt.run(r);
    })();
  }

  listUnregistered(sites?: readonly string[]): UnregisteredRow[] {
    const filter = sites ? `WHERE site IN (${sites.map(() => '?').join(',') || "''"})` : '';
    return this.db
      .prepare(
        `SELECT device, site, kind, topic, first_seen AS "firstSeen", last_seen AS "lastSeen", count, reason
         FROM unregistered_devices ${filter} ORDER BY last_seen DESC LIMIT 1000`,
      )
      .all(...(sites ?? [])) as UnregisteredRow[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
