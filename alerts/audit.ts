/**
 * The audit log: who did what through the API or a signed link (an acknowledgement, a
 * silence, a report asked for, maintenance recorded), kept in the operational store and read
 * by admins (GET /api/audit).
 */
import type { OpDb, Schema } from '../storage/index.ts';

export const AUDIT_SCHEMA: Schema = {
  part: 'audit',
  migrations: [
    `
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
  );
  `,
  ],
};

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: string | null;
}

export class AuditLog {
  constructor(private readonly db: OpDb) {}

  async add(actor: string, action: string, target: string | null, detail: string | null, at = Date.now()): Promise<void> {
    await this.db.query('INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)', [at, actor, action, target, detail]);
  }

  /** Newest first. */
  async list(limit: number): Promise<AuditEntry[]> {
    const r = await this.db.query<AuditEntry>('SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?', [limit]);
    return r.rows;
  }
}
