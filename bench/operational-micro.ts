/**
 * Cost per call of the operational store, SQLite vs PostgreSQL (docs/operational-store.md):
 * the same calls the service makes, each through its part's own class, timed over N
 * repetitions awaited one at a time after a warm-up, in µs. PostgreSQL is also timed with `pg`
 * called directly (a `pg.Client`, named statements) on the same statement: what the store
 * adds to it (the pool, the placeholders' rewrite, the results' shape).
 *
 *   npx tsx bench/operational-micro.ts [N=2000] [PGURL=postgres://postgres@127.0.0.1:5432/postgres]
 *
 * A database es_bench_<pid> is created on the server and dropped after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openOperationalStore, type OpDb } from '../storage/index.ts';
import { AlertStore, AuditLog, Outbox, type Alert } from '../alerts/index.ts';
import { RejectStore } from '../ingest/index.ts';
import { sampleItem } from '../alerts/delivery/testing/fixtures.ts';
import type { Channel } from '../config/index.ts';
import { OPERATIONAL_SCHEMAS } from '../app.ts';

const N = Number(process.argv[2] ?? 2000);
const admin = process.argv[3] ?? process.env.PGURL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `es_bench_${process.pid}`;
const url = new URL(admin);
url.pathname = `/${name}`;

function alert(i: number): Alert {
  return {
    id: `B${i}`, key: `s/d${i}/r`, site: 's', siteName: 'S', building: '1', device: `d${i}`, kind: 'hydrant', rule: 'pressure_low', metric: 'pressure_mpa',
    severity: 'critical', state: 'firing', value: 0.08, threshold: 0.1, unit: 'MPa', startsAt: 1e12 + i, firedAt: 1e12 + i, endsAt: null, ackDeadline: null,
    ackedAt: null, ackedBy: null, ackNote: null, escalatedAt: null, departments: ['fire-rescue', 'property'], notified: ['fire-rescue', 'property'],
    announcedAt: 1e12 + i, summary: { 'zh-CN': '压力低', en: 'low' }, mutedBy: null, flapping: false, source: 'GB 50974', housekeeping: false, offline: false,
    monitoringLostAt: null,
  };
}

async function time(fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, N); i++) await fn(-1 - i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn(i);
  return Number(process.hrtime.bigint() - t) / 1e3 / N;
}

const rejects = Array.from({ length: 100 }, (_, i) => ({ at: 0, reason: 'bad_json', site: 's', topic: `estate/s/hydrant/H${i}/telemetry`, detail: 'Unexpected token', payload: '{"ts":' }));
const hook = { type: 'webhook', url: 'http://127.0.0.1:9/' } as Channel;

async function run(db: OpDb): Promise<Record<string, number>> {
  const alerts = new AlertStore(db);
  const audit = new AuditLog(db);
  const store = new RejectStore(db);
  const outbox = new Outbox(db);
  const save = (a: Alert, at?: number) => db.transaction((tx) => alerts.save(tx, a, at === undefined ? [] : [{ alertId: a.id, at, transition: 'firing', severity: a.severity, actor: null, detail: null }]));
  let k = 0;
  return {
    'round trip (SELECT 1)': await time(() => db.query('SELECT 1 AS one')),
    'insert (audit, autocommit)': await time((i) => audit.add('bench', 'a', String(i), null, i)),
    'select by key (alert get)': await time(async (i) => (await alerts.get(`B${Math.abs(i) % 50}`)) ?? save(alert(Math.abs(i) % 50))),
    'save alert (tx: upsert, 2 depts, history)': await time(() => save(alert(k++ % 500), k)),
    'list 50 active alerts': await time(() => alerts.list({ state: 'active', limit: 50 })),
    'insert 100 rejects (one flush)': await time((i) => store.insertRejects(rejects.map((r) => ({ ...r, at: i })))),
    'outbox enqueue 1 (synced commit)': await time(() => outbox.enqueue([sampleItem(hook)])),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'ops-micro-'));
const adminClient = new pg.Client({ connectionString: admin });
await adminClient.connect();
await adminClient.query(`DROP DATABASE IF EXISTS ${name}`);
await adminClient.query(`CREATE DATABASE ${name}`);
try {
  const sqlite = await openOperationalStore(join(dir, 'ops.db'), OPERATIONAL_SCHEMAS);
  const lite = await run(sqlite);
  await sqlite.close();
  const postgres = await openOperationalStore(url.toString(), OPERATIONAL_SCHEMAS);
  const pgs = await run(postgres);
  await postgres.close();
  const direct = new pg.Client({ connectionString: url.toString() });
  await direct.connect();
  const raw: Record<string, number> = {
    'round trip (SELECT 1)': await time(() => direct.query({ name: 'one', text: 'SELECT 1 AS one' })),
    'insert (audit, autocommit)': await time((i) => direct.query({ name: 'ins', text: 'INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', values: [i, 'bench', 'a', String(i), null] })),
    'select by key (alert get)': await time((i) => direct.query({ name: 'sel', text: 'SELECT data FROM alerts WHERE id = $1', values: [`B${Math.abs(i) % 50}`] })),
  };
  await direct.end();
  console.log(`N=${N}, µs per call`);
  console.log(['call'.padEnd(44), 'SQLite'.padStart(9), 'PostgreSQL'.padStart(11), 'pg direct'.padStart(10)].join(''));
  for (const key of Object.keys(lite)) {
    const d = raw[key];
    console.log([key.padEnd(44), lite[key]!.toFixed(1).padStart(9), pgs[key]!.toFixed(1).padStart(11), (d === undefined ? '' : d.toFixed(1)).padStart(10)].join(''));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await adminClient.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminClient.end();
}
