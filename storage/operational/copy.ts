/**
 * Copies an operational store into another, empty one with every part at the same version:
 * how an installation moves from its SQLite file to PostgreSQL without losing its alerts,
 * their history, acknowledgements, silences, waiting groups, the outbox (pending deliveries
 * keep their ids and order), the audit log and maintenance records. Rows go table by table in
 * pages, each table in one transaction on the target; `rowid` (the outbox's order) is copied
 * too, and PostgreSQL's sequences are moved past the copied ids afterwards.
 * scripts/copy-operational-store.ts is the command (docs/operational-store.md).
 */
import type { OpDb } from './db.ts';
import { partVersions } from './migrate.ts';

/** Every table of the parts' migrations, and whether its rowid is its INTEGER id. */
export const TABLES: readonly { name: string; idIsRowid: boolean }[] = [
  { name: 'ingest_rejects', idIsRowid: true },
  { name: 'unregistered_devices', idIsRowid: false },
  { name: 'alerts', idIsRowid: false },
  { name: 'alert_departments', idIsRowid: false },
  { name: 'alert_history', idIsRowid: true },
  { name: 'acks', idIsRowid: false },
  { name: 'silences', idIsRowid: false },
  { name: 'notify_groups', idIsRowid: false },
  { name: 'outbox', idIsRowid: false },
  { name: 'audit_log', idIsRowid: true },
  { name: 'maintenance', idIsRowid: false },
];

const PAGE = 500;
/** rows per INSERT: SQLite allows 32,766 parameters, PostgreSQL 65,535 */
const ROWS_PER_INSERT = 100;

export async function copyStore(from: OpDb, to: OpDb): Promise<Record<string, number>> {
  const v = JSON.stringify(await partVersions(from));
  const w = JSON.stringify(await partVersions(to));
  if (v !== w) throw new Error(`copy: the source's tables are at ${v}, the target's at ${w}; open both with this service first`);
  for (const t of TABLES) {
    const r = await to.query<{ n: number }>(`SELECT count(*) AS n FROM ${t.name}`);
    const n = Number(r.rows[0]?.n ?? 0);
    if (n > 0) throw new Error(`copy: the target is not empty (${t.name} has ${n} rows)`);
  }
  const copied: Record<string, number> = {};
  for (const t of TABLES) {
    // the order to copy in, and the rowid to keep: SQLite's rowid; on PostgreSQL the rowid column, or the id
    const key = from.dialect === 'postgres' && t.idIsRowid ? 'id' : 'rowid';
    let after = Number.MIN_SAFE_INTEGER;
    let count = 0;
    await to.transaction(async (tx) => {
      for (;;) {
        const page = await from.query<Record<string, unknown>>(`SELECT ${key} AS "rowid__", * FROM ${t.name} WHERE ${key} > ? ORDER BY ${key} LIMIT ${PAGE}`, [after]);
        const rows = page.rows;
        if (rows.length === 0) break;
        after = Number(rows[rows.length - 1]!.rowid__);
        const columns = Object.keys(rows[0]!)
          .filter((c) => c !== 'rowid__' && c !== 'rowid')
          .concat(t.idIsRowid ? [] : ['rowid']);
        const values = (r: Record<string, unknown>) => columns.map((c) => (c === 'rowid' ? r.rowid__ : r[c]));
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          const chunk = rows.slice(i, i + ROWS_PER_INSERT);
          await tx.query(`INSERT INTO ${t.name} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flatMap(values));
        }
        count += rows.length;
      }
    });
    copied[t.name] = count;
  }
  if (to.dialect === 'postgres') {
    for (const t of TABLES) {
      const column = t.idIsRowid ? 'id' : 'rowid';
      await to.query(`SELECT setval(pg_get_serial_sequence('${t.name}', '${column}'), coalesce((SELECT max(${column}) FROM ${t.name}), 0) + 1, false)`);
    }
  }
  return copied;
}
