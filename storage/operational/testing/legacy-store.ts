/**
 * For tests: operational stores as the service made them before each part kept its own
 * schema version (one global version: SQLite's `PRAGMA user_version`, PostgreSQL's
 * `schema_version` table), so that the tests can open them with the code of today.
 *
 * `LEGACY_MIGRATIONS` is storage/migrations.ts as released (global versions 1–3), copied
 * byte for byte; sql.test.ts pins its hash, the one the released file had. Never edit it.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrationForPostgres } from '../sql.ts';

export const LEGACY_MIGRATIONS: readonly string[] = [
  // 1: ingest
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
  // 2: alerts, their history, acknowledgements, silences, the delivery outbox, the audit log
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
  CREATE TABLE outbox (
    id TEXT PRIMARY KEY,            -- the delivery id (X-Estate-Delivery), the same on every retry
    alert_id TEXT NOT NULL,
    event TEXT NOT NULL,
    recipient TEXT NOT NULL,        -- a department id, or 'property'
    channel TEXT NOT NULL,          -- JSON of the channel as configured when enqueued
    body TEXT NOT NULL,             -- JSON Notification, fixed across retries
    created_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    sent_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX outbox_due ON outbox (status, next_at);
  CREATE INDEX outbox_alert ON outbox (alert_id);
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
  );
  `,
  // 3: maintenance done (POST /api/maintenance), for the maintenance report
  `
  CREATE TABLE maintenance (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    task TEXT NOT NULL,             -- elevator_maintenance | tank_cleaning | analyser_calibration
    done_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    note TEXT
  );
  CREATE INDEX maintenance_device_task ON maintenance (device, task, done_at);
  `,
];

/**
 * A SQLite file at global version `version`, made as the released code made it: WAL, each
 * migration's text run unchanged in a transaction of its own with `user_version` after it;
 * then `rows` (SQL with literal values) run on it.
 */
export function legacySqlite(file: string, version: number, rows = ''): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    for (let v = 0; v < version; v++) {
      db.transaction(() => {
        db.exec(LEGACY_MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    if (rows) db.exec(rows);
  } finally {
    db.close();
  }
}

/**
 * A PostgreSQL database at global version `version`, made as the released code made it: the
 * one row of `schema_version`, the migrations through `migrationForPostgres`, all in one
 * transaction; then `rows` run on it.
 */
export async function legacyPostgres(url: string, version: number, rows = ''): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    await c.query('INSERT INTO schema_version (version) VALUES (0)');
    for (let v = 0; v < version; v++) await c.query(migrationForPostgres(LEGACY_MIGRATIONS[v]!));
    await c.query('UPDATE schema_version SET version = $1', [version]);
    await c.query('COMMIT');
    if (rows) await c.query(rows);
  } finally {
    await c.end();
  }
}
