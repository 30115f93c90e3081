/**
 * `OpDb` on SQLite: better-sqlite3 itself, in WAL mode with synchronous = NORMAL (the outbox
 * raises it to FULL around its own commits). No wrapper, so SQLite costs what it did.
 */
import Database from 'better-sqlite3';
import type { OpDb } from './db.ts';

export function openSqlite(file: string): OpDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
