/**
 * Brings each part's tables up to the newest of its migrations (a `Schema`: the part's name
 * and its numbered list). The versions are kept in `schema_parts` (part, version). All of it
 * runs in one transaction; on PostgreSQL under an advisory lock, so two instances starting
 * together against one database cannot both apply a migration. A part at a newer version
 * than this service knows is refused.
 *
 * Stores made before the parts kept their own versions had one global version (SQLite's
 * `user_version`, PostgreSQL's `schema_version` table); legacy.ts says which part versions
 * each of those meant, so such a store carries on where it was.
 */
import type { OpDb, Queryable, Schema } from './db.ts';
import { LEGACY_PARTS } from './legacy.ts';
import { migrationForPostgres } from './sql.ts';

/** pg_advisory_xact_lock key: any fixed number; this one spells "estate" */
const LOCK_KEY = 0x657374617465;

async function hasTable(tx: Queryable, db: OpDb, name: string): Promise<boolean> {
  const r =
    db.dialect === 'sqlite'
      ? await tx.query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, [name])
      : await tx.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`, [name]);
  return r.rows.length > 0;
}

/** The one global version of a store made before schema_parts (0: a new store). */
async function legacyVersion(tx: Queryable, db: OpDb): Promise<number> {
  if (db.dialect === 'sqlite') {
    const r = await tx.query<{ user_version: number }>('PRAGMA user_version');
    return r.rows[0]?.user_version ?? 0;
  }
  if (!(await hasTable(tx, db, 'schema_version'))) return 0;
  const r = await tx.query<{ version: number }>('SELECT version FROM schema_version');
  return r.rows[0]?.version ?? 0;
}

/** Applies what is missing; returns each part's version after it. */
export async function migrate(db: OpDb, schemas: readonly Schema[]): Promise<Record<string, number>> {
  return db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    if (!(await hasTable(tx, db, 'schema_parts'))) {
      const legacy = await legacyVersion(tx, db);
      await tx.query('CREATE TABLE schema_parts (part TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      for (const [part, version] of Object.entries(LEGACY_PARTS(legacy))) {
        await tx.query('INSERT INTO schema_parts (part, version) VALUES (?, ?)', [part, version]);
      }
    }
    const rows = await tx.query<{ part: string; version: number }>('SELECT part, version FROM schema_parts');
    const have = new Map(rows.rows.map((r) => [r.part, Number(r.version)]));
    const out: Record<string, number> = {};
    for (const s of schemas) {
      const version = have.get(s.part) ?? 0;
      if (version > s.migrations.length) {
        throw new Error(`operational store: the tables of ${s.part} are at version ${version}, newer than this service knows (${s.migrations.length})`);
      }
      for (let v = version; v < s.migrations.length; v++) {
        const sql = db.dialect === 'postgres' ? migrationForPostgres(s.migrations[v]!) : s.migrations[v]!;
        for (const statement of statements(sql)) await tx.query(statement);
      }
      if (!have.has(s.part)) await tx.query('INSERT INTO schema_parts (part, version) VALUES (?, ?)', [s.part, s.migrations.length]);
      else if (version !== s.migrations.length) await tx.query('UPDATE schema_parts SET version = ? WHERE part = ?', [s.migrations.length, s.part]);
      out[s.part] = s.migrations.length;
    }
    return out;
  });
}

/** A migration's statements, one by one (a transaction's statements go one at a time). */
export function statements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The version of each part a store is at. */
export async function partVersions(db: OpDb): Promise<Record<string, number>> {
  const r = await db.query<{ part: string; version: number }>('SELECT part, version FROM schema_parts ORDER BY part');
  return Object.fromEntries(r.rows.map((x) => [x.part, Number(x.version)]));
}
