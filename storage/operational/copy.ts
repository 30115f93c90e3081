/**
 * Copies an operational store into another, empty one at the same schema version: how an
 * installation moves from its SQLite file to PostgreSQL without losing its alerts, their
 * history, acknowledgements, silences, the outbox (pending deliveries keep their ids and
 * order), the audit log and maintenance records. Rows go table by table in pages, each
 * table in one transaction on the target; `rowid` (the outbox's order) is copied too, and
 * PostgreSQL's sequences are moved past the copied ids afterwards.
 *
 *   npx tsx storage/operational/copy.ts DATA_DIR/operational.db postgres://…/estate
 *
 * Stop the service first: rows written during the copy are not copied.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OperationalStore } from '../operational.ts';
import { schemaVersion } from './migrate.ts';

/** Every table of the migrations, and whether its rowid is its INTEGER id. */
export const TABLES: readonly { name: string; idIsRowid: boolean }[] = [
  { name: 'ingest_rejects', idIsRowid: true },
  { name: 'unregistered_devices', idIsRowid: false },
  { name: 'alerts', idIsRowid: false },
  { name: 'alert_departments', idIsRowid: false },
  { name: 'alert_history', idIsRowid: true },
  { name: 'acks', idIsRowid: false },
  { name: 'silences', idIsRowid: false },
  { name: 'outbox', idIsRowid: false },
  { name: 'audit_log', idIsRowid: true },
  { name: 'maintenance', idIsRowid: false },
];

const PAGE = 500;
/** rows per INSERT: SQLite allows 32,766 parameters, PostgreSQL 65,535 */
const ROWS_PER_INSERT = 100;

export function copyStore(from: OperationalStore, to: OperationalStore): Record<string, number> {
  const v = schemaVersion(from.db, from.dialect);
  const w = schemaVersion(to.db, to.dialect);
  if (v !== w) throw new Error(`copy: the source is at schema version ${v}, the target at ${w}; open both with this service first`);
  for (const t of TABLES) {
    const n = (to.db.prepare(`SELECT count(*) AS n FROM ${t.name}`).get() as { n: number }).n;
    if (n > 0) throw new Error(`copy: the target is not empty (${t.name} has ${n} rows)`);
  }
  const copied: Record<string, number> = {};
  for (const t of TABLES) {
    // the order to copy in, and the rowid to keep: SQLite's rowid; on PostgreSQL the rowid column, or the id
    const key = from.dialect === 'postgres' && t.idIsRowid ? 'id' : 'rowid';
    let after = Number.MIN_SAFE_INTEGER;
    let count = 0;
    to.db.transaction(() => {
      for (;;) {
        const rows = from.db.prepare(`SELECT ${key} AS "rowid__", * FROM ${t.name} WHERE ${key} > ? ORDER BY ${key} LIMIT ${PAGE}`).all(after) as Record<string, unknown>[];
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.rowid__ as number;
        const columns = Object.keys(rows[0]!)
          .filter((c) => c !== 'rowid__' && c !== 'rowid')
          .concat(t.idIsRowid ? [] : ['rowid']);
        const values = (r: Record<string, unknown>) => columns.map((c) => (c === 'rowid' ? r.rowid__ : r[c]));
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          const chunk = rows.slice(i, i + ROWS_PER_INSERT);
          to.db.prepare(`INSERT INTO ${t.name} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`).run(chunk.flatMap(values));
        }
        count += rows.length;
      }
    })();
    copied[t.name] = count;
  }
  if (to.dialect === 'postgres') {
    for (const t of TABLES) {
      const column = t.idIsRowid ? 'id' : 'rowid';
      to.db.exec(`SELECT setval(pg_get_serial_sequence('${t.name}', '${column}'), coalesce((SELECT max(${column}) FROM ${t.name}), 0) + 1, false)`);
    }
  }
  return copied;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [source, target] = process.argv.slice(2);
  if (!source || !target) {
    console.error('usage: copy.ts <sqlite file | postgres:// URL> <postgres:// URL | sqlite file>');
    process.exit(2);
  }
  const from = new OperationalStore(source);
  const to = new OperationalStore(target);
  try {
    const copied = copyStore(from, to);
    for (const [table, n] of Object.entries(copied)) console.log(`${table.padEnd(22)} ${n}`);
  } finally {
    from.close();
    to.close();
  }
}
