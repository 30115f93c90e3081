/**
 * Ingest's tables in the operational store and the queries on them: every rejection with its
 * reason, topic and raw payload (GET /api/ingest/rejects), and the devices heard of that the
 * estate file does not name (GET /api/devices/unregistered).
 */
import { placeholders, type OpDb, type Schema } from '../storage/index.ts';

export const INGEST_SCHEMA: Schema = {
  part: 'ingest',
  migrations: [
    `
  CREATE TABLE ingest_rejects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    site TEXT,                -- from the topic, where it names one; for scoped tokens
    topic TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX ingest_rejects_reason ON ingest_rejects (reason, id);
  CREATE INDEX ingest_rejects_site ON ingest_rejects (site, id);
  CREATE TABLE unregistered_devices (
    device TEXT NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (device, site, kind)
  );
  `,
  ],
};

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

/** rows per INSERT: a flood of rejects takes few round trips */
const ROWS_PER_INSERT = 100;

export class RejectStore {
  constructor(private readonly db: OpDb) {}

  async insertRejects(rows: readonly RejectRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        await tx.query(
          `INSERT INTO ingest_rejects (at, reason, site, topic, detail, payload) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
          chunk.flatMap((r) => [r.at, r.reason, r.site, r.topic, r.detail, r.payload]),
        );
      }
    });
  }

  /** Keeps the newest `keep` rejects. */
  async pruneRejects(keep: number): Promise<void> {
    await this.db.query('DELETE FROM ingest_rejects WHERE id <= (SELECT max(id) FROM ingest_rejects) - ?', [keep]);
  }

  /** Newest first; `sites` limits to rejects whose topic names one of them. */
  async listRejects(opts: { limit: number; reason?: string; before?: number; sites?: readonly string[] }): Promise<(RejectRow & { id: number })[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.sites) {
      where.push(`site IN (${placeholders(opts.sites.length)})`);
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
    const r = await this.db.query<RejectRow & { id: number }>(
      `SELECT id, at, reason, site, topic, detail, payload FROM ingest_rejects ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...args, opts.limit],
    );
    return r.rows;
  }

  async countRejects(): Promise<number> {
    const r = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM ingest_rejects');
    return Number(r.rows[0]?.n ?? 0);
  }

  async upsertUnregistered(rows: readonly Omit<UnregisteredRow, 'firstSeen'>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const r of rows) {
        await tx.query(
          `INSERT INTO unregistered_devices (device, site, kind, topic, first_seen, last_seen, count, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (device, site, kind) DO UPDATE SET topic = excluded.topic, last_seen = excluded.last_seen,
             count = unregistered_devices.count + excluded.count, reason = excluded.reason`,
          [r.device, r.site, r.kind, r.topic, r.lastSeen, r.lastSeen, r.count, r.reason],
        );
      }
    });
  }

  async listUnregistered(sites?: readonly string[]): Promise<UnregisteredRow[]> {
    const filter = sites ? `WHERE site IN (${placeholders(sites.length)})` : '';
    const r = await this.db.query<UnregisteredRow>(
      `SELECT device, site, kind, topic, first_seen AS "firstSeen", last_seen AS "lastSeen", count, reason
       FROM unregistered_devices ${filter} ORDER BY last_seen DESC LIMIT 1000`,
      sites ?? [],
    );
    return r.rows;
  }
}
