/**
 * Moves an installation's operational store, usually from its SQLite file to PostgreSQL
 * (docs/operational-store.md): both are opened with every part's tables brought up to date,
 * then every table is copied (storage/operational/copy.ts). Stop the service first: rows
 * written during the copy are not copied.
 *
 *   npx tsx scripts/copy-operational-store.ts DATA_DIR/operational.db postgres://…/estate
 */
import { copyStore, openOperationalStore } from '../storage/index.ts';
import { OPERATIONAL_SCHEMAS } from '../app.ts';

const [source, target] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: copy-operational-store.ts <sqlite file | postgres:// URL> <postgres:// URL | sqlite file>');
  process.exit(2);
}
const from = await openOperationalStore(source, OPERATIONAL_SCHEMAS);
const to = await openOperationalStore(target, OPERATIONAL_SCHEMAS);
try {
  const copied = await copyStore(from, to);
  for (const [table, n] of Object.entries(copied)) console.log(`${table.padEnd(22)} ${n}`);
} finally {
  await from.close();
  await to.close();
}
