/**
 * Brings an operational store up to the newest of MIGRATIONS. SQLite keeps the version in
 * `PRAGMA user_version`, as it always has, and runs each migration's text unchanged.
 * PostgreSQL keeps it in the one row of `schema_version` and runs the same migrations
 * through `migrationForPostgres`, all of them in one transaction under an advisory lock, so
 * two instances starting together against one database cannot both apply them.
 */
import { MIGRATIONS } from '../migrations.ts';
import type { Dialect, OpDb } from './db.ts';
import { migrationForPostgres } from './sql.ts';

/** pg_advisory_xact_lock key: any fixed number; this one spells "estate" */
const LOCK_KEY = 0x657374617465;

export function migrate(db: OpDb, dialect: Dialect, migrations: readonly string[] = MIGRATIONS): number {
  if (dialect === 'sqlite') {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < migrations.length; v++) {
      db.transaction(() => {
        db.exec(migrations[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return migrations.length;
  }
  db.transaction(() => {
    db.exec(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (!row) db.exec('INSERT INTO schema_version (version) VALUES (0)');
    const version = row?.version ?? 0;
    if (version > migrations.length) {
      throw new Error(`operational store: the database is at schema version ${version}, newer than this service knows (${migrations.length})`);
    }
    for (let v = version; v < migrations.length; v++) db.exec(migrationForPostgres(migrations[v]!));
    db.prepare('UPDATE schema_version SET version = ?').run(migrations.length);
  })();
  return migrations.length;
}

/** The schema version a store is at. */
export function schemaVersion(db: OpDb, dialect: Dialect): number {
  if (dialect === 'sqlite') return db.pragma('user_version', { simple: true }) as number;
  return (db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version ?? 0;
}
