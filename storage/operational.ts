/**
 * The operational store: what the service itself must remember besides the readings. SQLite
 * (better-sqlite3, WAL) under DATA_DIR by default, or PostgreSQL when OPERATIONAL_DB is a
 * postgres:// URL (docs/operational-store.md). Storage gives the mechanism; each part brings
 * its own tables and migrations (a `Schema`) and its own queries.
 */
import { isPostgresUrl, type OpDb, type Schema } from './operational/db.ts';
import { SqliteDb } from './operational/sqlite.ts';
import { PostgresDb, type PostgresOptions } from './operational/postgres.ts';
import { migrate } from './operational/migrate.ts';
import { PostgresError, redactUrl } from './operational/db.ts';

/** The store at `target` (a SQLite file, or a postgres:// URL), not yet migrated (`prepareOperationalStore`). */
export function createOperationalStore(target: string, opts: PostgresOptions = {}): OpDb {
  return isPostgresUrl(target) ? new PostgresDb(target, opts) : new SqliteDb(target);
}

/**
 * Opens the store at `target` and brings every part's tables up to date. A server that cannot
 * be reached fails here, naming it (never its password).
 */
export async function openOperationalStore(target: string, schemas: readonly Schema[], opts: PostgresOptions = {}): Promise<OpDb> {
  const db = createOperationalStore(target, opts);
  await prepareOperationalStore(db, schemas, target);
  return db;
}

/** Brings every part's tables up to date; closes the store and names it when that fails. */
export async function prepareOperationalStore(db: OpDb, schemas: readonly Schema[], target: string): Promise<void> {
  try {
    await migrate(db, schemas);
  } catch (e) {
    await db.close().catch(() => undefined);
    if (db.dialect === 'postgres') {
      const err = e as PostgresError;
      throw new PostgresError(`operational store: cannot use PostgreSQL at ${redactUrl(target)}: ${err.message.replace(/^operational store: /, '')}`, err.code);
    }
    throw e;
  }
}
