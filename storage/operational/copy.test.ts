/**
 * Moving an installation's operational store from its SQLite file to PostgreSQL (copy.ts and
 * its command, scripts/copy-operational-store.ts): everything the service reads back is the
 * same on the copy, through each part's own class; the outbox's pending deliveries keep their
 * ids and order, and new rows get ids after the copied ones.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openOperationalStore, partVersions, type OpDb } from '../index.ts';
import { OPERATIONAL_SCHEMAS } from '../../app.ts';
import { INGEST_SCHEMA, RejectStore } from '../../ingest/index.ts';
import { AlertStore, AuditLog, Outbox, type Alert, type HistoryRow } from '../../alerts/index.ts';
import { MaintenanceLog } from '../../reports/maintenance.ts';
import { sampleItem, sampleNotification } from '../../alerts/delivery/testing/fixtures.ts';
import type { Channel } from '../../config/index.ts';
import { copyStore, TABLES } from './copy.ts';
import { freshDatabase } from './testing/postgres.ts';

const ROOT = resolve(import.meta.dirname, '../..');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const T0 = Date.parse('2026-11-25T08:00:00Z');
const hook = { type: 'webhook', url: 'http://127.0.0.1:9/hook' } as Channel;

function alert(id: string, over: Partial<Alert> = {}): Alert {
  return {
    id, key: `s/${id}/r`, site: 'jinfo-garden', siteName: '金佛花园', building: '3栋', device: id, kind: 'hydrant', rule: 'pressure_low', metric: 'pressure_mpa',
    severity: 'critical', state: 'firing', value: 0.08, threshold: 0.1, unit: 'MPa', startsAt: T0, firedAt: T0 + 1, endsAt: null, ackDeadline: null, ackedAt: null,
    ackedBy: null, ackNote: null, escalatedAt: null, departments: ['fire-rescue', 'property'], notified: ['fire-rescue', 'property'], announcedAt: T0 + 1,
    summary: { 'zh-CN': '压力低', en: 'low' }, mutedBy: null, flapping: false, source: 'GB 50974', housekeeping: false, offline: false, monitoringLostAt: null, ...over,
  };
}

const step = (a: Alert, at: number, transition: string, actor: string | null = null, detail: string | null = null): HistoryRow => ({ alertId: a.id, at, transition, severity: a.severity, actor, detail });

/** A SQLite store in a temp dir with every part's tables; removed after the test. */
async function sqliteStore(): Promise<{ file: string; db: OpDb }> {
  const dir = mkdtempSync(join(tmpdir(), 'estate-copy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'operational.db');
  const db = await openOperationalStore(file, OPERATIONAL_SCHEMAS);
  cleanups.push(() => db.close());
  return { file, db };
}

async function postgresStore(): Promise<{ url: string; db: OpDb }> {
  const fresh = await freshDatabase();
  cleanups.push(() => fresh.drop());
  const db = await openOperationalStore(fresh.url, OPERATIONAL_SCHEMAS);
  cleanups.push(() => db.close());
  return { url: fresh.url, db };
}

/** What the service reads back from a store, through each part's own class. */
async function view(db: OpDb) {
  const rejects = new RejectStore(db);
  const alerts = new AlertStore(db);
  const outbox = new Outbox(db);
  return {
    versions: await partVersions(db),
    rejects: await rejects.listRejects({ limit: 1000 }),
    unregistered: await rejects.listUnregistered(),
    alerts: await alerts.list({ state: 'all', limit: 1000 }),
    open: await alerts.open(),
    announced: (await db.query('SELECT id, announced_at AS "announcedAt", held_back AS "heldBack" FROM alerts ORDER BY id')).rows,
    history: await alerts.history('A1'),
    acks: await alerts.acks('A1'),
    silences: await alerts.silences(T0),
    groups: await alerts.groupEntries(),
    audit: await new AuditLog(db).list(1000),
    outbox: await outbox.forAlert('01KB0R6Q2M8V4T7XJ9C3D5F1HN'),
    pending: (await outbox.pendingSince(0, 1000)).map((p) => p.id),
    maintenance: await new MaintenanceLog(db).list('E1'),
  };
}

/** Fills a store with a bit of everything: rejects past one page, alerts with history, acks, a silence, a waiting group, an outbox with a gap, audit and maintenance. */
async function fill(db: OpDb): Promise<string[]> {
  const rejects = new RejectStore(db);
  await rejects.insertRejects(Array.from({ length: 620 }, (_, i) => ({ at: T0 + i, reason: 'bad_json', site: i % 2 ? 'a' : null, topic: 't', detail: String(i), payload: `{"i":${i}}` })));
  await rejects.upsertUnregistered([{ device: 'X1', site: 'a', kind: 'hydrant', topic: 't', lastSeen: T0, count: 3, reason: 'unknown_device' }]);
  const alerts = new AlertStore(db);
  for (let i = 1; i <= 3; i++) {
    const a = alert(`A${i}`, { startsAt: T0 + i, ...(i === 3 ? { mutedBy: 'S1', announcedAt: null, notified: [] } : {}) });
    await db.transaction((tx) => alerts.save(tx, a, [step(a, T0 + i, i === 3 ? 'muted' : 'firing', null, i === 3 ? 'alert.firing held back: S1' : 'alert.firing')]));
  }
  const acked = alert('A1', { state: 'acknowledged' });
  await db.transaction(async (tx) => {
    await alerts.save(tx, acked, [step(acked, T0 + 10, 'acknowledged', 'u1')]);
    await alerts.addAck(tx, { alertId: 'A1', department: 'fire-rescue', at: T0 + 10, actor: 'u1', via: 'api', note: '已派人' });
  });
  await alerts.addSilence({ id: 'S1', matchers: { site: 'a' }, startsAt: T0, endsAt: T0 + 3600_000, createdBy: 'admin', createdAt: T0, comment: 'c' });
  const body = sampleNotification().alert;
  await db.transaction((tx) =>
    alerts.addGroupEntries(tx, [{ id: 'G1', groupKey: 'property|a|device_silent|alert.firing', recipient: 'property', alertId: 'A2', event: 'alert.firing', createdAt: T0, dueAt: T0 + 60_000, body }]),
  );
  await new AuditLog(db).add('admin', 'silence.create', 'S1', null, T0);
  const outbox = new Outbox(db);
  const ids = await outbox.enqueue([sampleItem(hook), sampleItem(hook, { recipient: 'property' }), sampleItem(hook, { recipient: 'x' })], T0);
  await outbox.markSent(ids[0]!, T0 + 5);
  await outbox.prune(T0 + 1); // rowids with a gap, as in a real file
  await new MaintenanceLog(db).record({ site: 'a', device: 'E1', task: 'elevator_maintenance', doneAt: T0, recordedBy: 'u1', recordedAt: T0, note: null });
  return ids;
}

describe('copying the operational store from SQLite to PostgreSQL', () => {
  it('gives back the same alerts, groups, outbox, log and records, and new ids after the copied ones', { timeout: 60_000 }, async () => {
    const { db: lite } = await sqliteStore();
    await fill(lite);
    const { db: pg } = await postgresStore();

    const copied = await copyStore(lite, pg);
    expect(copied).toMatchObject({ ingest_rejects: 620, alerts: 3, alert_history: 4, notify_groups: 1, outbox: 2, audit_log: 1, maintenance: 1 });
    expect(await view(pg)).toEqual(await view(lite));
    await expect(copyStore(lite, pg)).rejects.toThrow(/target is not empty/);

    // new rows continue the sequences: ids after the copied ones, the outbox cursor after the copied rowids
    const outbox = new Outbox(pg);
    const last = (await outbox.pendingSince(0, 10)).at(-1)!.seq;
    const [more] = await outbox.enqueue([sampleItem(hook)], T0 + 100);
    expect((await outbox.pendingSince(last, 10)).map((p) => p.id)).toEqual([more]);
    const rejects = new RejectStore(pg);
    await rejects.insertRejects([{ at: T0 + 1000, reason: 'bad_json', site: null, topic: 't', detail: 'new', payload: '' }]);
    expect((await rejects.listRejects({ limit: 1 }))[0]!.detail).toBe('new');
    const audit = new AuditLog(pg);
    await audit.add('admin', 'later', null, null, T0 + 1);
    expect((await audit.list(1))[0]!.action).toBe('later');
    const a = alert('A9');
    await pg.transaction((tx) => new AlertStore(pg).save(tx, a, [step(a, T0 + 2, 'firing')]));
    expect((await new AlertStore(pg).history('A9')).map((h) => h.transition)).toEqual(['firing']);

    // a table a later migration adds must be added to TABLES, or it would not be copied
    const tables = (await lite.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_parts' ORDER BY name`)).rows.map((r) => r.name);
    expect(TABLES.map((t) => t.name).sort()).toEqual(tables);
  });

  it('refuses a target whose parts are at other versions', { timeout: 60_000 }, async () => {
    const { db: lite } = await sqliteStore();
    const fresh = await freshDatabase();
    cleanups.push(() => fresh.drop());
    const partial = await openOperationalStore(fresh.url, [INGEST_SCHEMA]);
    cleanups.push(() => partial.close());
    await expect(copyStore(lite, partial)).rejects.toThrow(/open both with this service first/);
  });

  it('is a command: scripts/copy-operational-store.ts copies a SQLite file into PostgreSQL and says how many rows of each table', { timeout: 60_000 }, async () => {
    const { file, db: lite } = await sqliteStore();
    await fill(lite);
    const before = await view(lite);
    await lite.close();
    const fresh = await freshDatabase();
    cleanups.push(() => fresh.drop());
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/copy-operational-store.ts', file, fresh.url], { cwd: ROOT, timeout: 50_000 });
    const counts = Object.fromEntries(stdout.trim().split('\n').map((l) => l.trim().split(/\s+/) as [string, string]));
    expect(Object.keys(counts)).toEqual(TABLES.map((t) => t.name));
    expect(counts).toMatchObject({ ingest_rejects: '620', alerts: '3', outbox: '2', maintenance: '1' });
    const pg = await openOperationalStore(fresh.url, OPERATIONAL_SCHEMAS);
    cleanups.push(() => pg.close());
    expect(await view(pg)).toEqual(before);
  });
});
