/**
 * The operational store's migrations, run the same on both backends: each part's tables from an
 * empty store, a part added later, a part newer than this service, and a store the released
 * code made with its one global version (its rows read as the migrated columns say).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openOperationalStore, partVersions } from '../index.ts';
import { OPERATIONAL_SCHEMAS } from '../../app.ts';
import { INGEST_SCHEMA, RejectStore } from '../../ingest/index.ts';
import { AlertStore, AuditLog, Outbox, type Alert } from '../../alerts/index.ts';
import { MaintenanceLog } from '../../reports/maintenance.ts';
import { AlertFacts } from '../../reports/sources.ts';
import { sampleItem, sampleNotification } from '../../alerts/delivery/testing/fixtures.ts';
import { legacyPostgres, legacySqlite } from './testing/legacy-store.ts';
import { alert, emptyTarget, hook, NEWEST, open, openAt, pending, runCleanups, schemaOf, T0, type Backend } from '../../test/harness/operational-store.ts';

afterEach(runCleanups);

function lit(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return String(v);
  return `'${String(v).replaceAll("'", "''")}'`;
}
const row = (table: string, o: Record<string, unknown>) => `INSERT INTO ${table} (${Object.keys(o).join(', ')}) VALUES (${Object.values(o).map(lit).join(', ')});`;

/** An alert as the released code kept it: without notified, announcedAt, housekeeping, offline, monitoringLostAt. */
function oldAlert(over: Partial<Alert>): Record<string, unknown> {
  const { notified: _n, announcedAt: _a, housekeeping: _h, offline: _o, monitoringLostAt: _m, ...rest } = alert(over);
  return rest;
}

/**
 * What a store of the released code held: L1 firing and announced; L2 firing, its firing held
 * back by a silence ever since; L3 held back, then announced when the silence ended (unmuted);
 * L4 pending. With their departments, history, an ack, the silence, rejects, an unregistered
 * device, a pending and a sent delivery, an audit row and a maintenance record.
 */
const LEGACY_ALERTS = {
  L1: oldAlert({ id: 'L1', key: 'k1' }),
  L2: oldAlert({ id: 'L2', key: 'k2', device: 'HY-04', mutedBy: 'S1' }),
  L3: oldAlert({ id: 'L3', key: 'k3', device: 'HY-05' }),
  L4: oldAlert({ id: 'L4', key: 'k4', device: 'HY-06', state: 'pending', firedAt: null }),
};
const LEGACY_BODY = sampleNotification();
function legacyRows(version: number): string {
  const out: string[] = [];
  out.push(row('ingest_rejects', { at: T0, reason: 'bad_json', site: 'a', topic: 'estate/a/hydrant/X/telemetry', detail: 'd1', payload: '{' }));
  out.push(row('ingest_rejects', { at: T0 + 1, reason: 'bad_topic', site: null, topic: 'nope', detail: 'd2', payload: '' }));
  out.push(row('unregistered_devices', { device: 'X1', site: 'a', kind: 'hydrant', topic: 't', first_seen: T0, last_seen: T0 + 5, count: 3, reason: 'unknown_device' }));
  if (version < 2) return out.join('\n');
  for (const a of Object.values(LEGACY_ALERTS)) {
    const x = a as unknown as Alert;
    out.push(
      row('alerts', {
        id: x.id, key: x.key, site: x.site, device: x.device, kind: x.kind, rule: x.rule, severity: x.severity, state: x.state,
        starts_at: x.startsAt, fired_at: x.firedAt, ends_at: x.endsAt, data: JSON.stringify(a),
      }),
    );
    for (const d of x.departments) out.push(row('alert_departments', { alert_id: x.id, department: d }));
  }
  const h = (alert_id: string, at: number, transition: string, detail: string | null = null) => row('alert_history', { alert_id, at, transition, severity: 'warning', actor: null, detail });
  out.push(h('L1', T0, 'pending'), h('L1', T0 + 60_000, 'firing', 'alert.firing'));
  out.push(h('L2', T0 + 60_000, 'muted', 'alert.firing held back: S1'));
  out.push(h('L3', T0 + 60_000, 'muted', 'alert.firing held back: S1'), h('L3', T0 + 120_000, 'unmuted'));
  out.push(h('L4', T0, 'pending'));
  out.push(row('acks', { alert_id: 'L1', department: 'fire-rescue', at: T0 + 90_000, actor: 'u1', via: 'link', note: null }));
  out.push(
    row('silences', { id: 'S1', matchers: '{"device":"HY-04"}', starts_at: T0, ends_at: T0 + 3600_000, created_by: 'admin', created_at: T0, comment: '检修', deleted_at: null }),
  );
  const delivery = { alert_id: 'L1', event: 'alert.firing', recipient: 'fire-rescue', channel: JSON.stringify(hook), body: JSON.stringify(LEGACY_BODY), created_at: T0, next_at: T0, deadline: T0 + 3600_000 };
  out.push(row('outbox', { id: 'D1', ...delivery, attempts: 1, status: 'sent', sent_at: T0 + 10, last_error: null }));
  out.push(row('outbox', { id: 'D2', ...delivery, recipient: 'property', attempts: 0, status: 'pending', sent_at: null, last_error: null }));
  out.push(row('audit_log', { at: T0, actor: 'admin', action: 'silence.create', target: 'S1', detail: null }));
  if (version < 3) return out.join('\n');
  out.push(row('maintenance', { id: 'M1', site: 'a', device: 'E1', task: 'elevator_maintenance', done_at: T0, recorded_by: 'u1', recorded_at: T0, note: '更换钢丝绳' }));
  return out.join('\n');
}

/** A store the released code made at global version `version`, with its rows. */
async function legacyTarget(backend: Backend, version: number): Promise<string> {
  const target = await emptyTarget(backend);
  if (backend === 'sqlite') legacySqlite(target, version, legacyRows(version));
  else await legacyPostgres(target, version, legacyRows(version));
  return target;
}


describe.each<Backend>(['sqlite', 'postgres'])('operational store migrations on %s', (backend) => {
  it("brings every part's tables to its newest version, and reopening changes nothing", { timeout: 30_000 }, async () => {
    const { db, reopen } = await open(backend);
    expect(db.dialect).toBe(backend);
    expect(NEWEST).toMatchObject({ ingest: 1, alerts: 2, delivery: 1, audit: 1, reports: 1 });
    expect(await partVersions(db)).toEqual(NEWEST);
    const schema = await schemaOf(db);
    await new RejectStore(db).insertRejects([{ at: T0, reason: 'bad_json', site: 'a', topic: 'estate/a/x', detail: 'd', payload: 'p' }]);
    await db.close();
    expect(db.open).toBe(false);
    const again = await reopen();
    expect(again.dialect).toBe(backend);
    expect(await partVersions(again)).toEqual(NEWEST);
    expect(await schemaOf(again)).toEqual(schema);
    expect(await new RejectStore(again).countRejects()).toBe(1);
  });

  it('gives a part added later its tables at the next open, and refuses a part newer than this service knows', { timeout: 30_000 }, async () => {
    const target = await emptyTarget(backend);
    const first = await openAt(target, [INGEST_SCHEMA]);
    expect(await partVersions(first)).toEqual({ ingest: 1 });
    await new RejectStore(first).insertRejects([{ at: T0, reason: 'bad_json', site: null, topic: 't', detail: 'd', payload: '' }]);
    await expect(first.query('SELECT count(*) AS n FROM alerts')).rejects.toThrow();
    await first.close();

    const all = await openAt(target);
    expect(await partVersions(all)).toEqual(NEWEST);
    expect(await new RejectStore(all).countRejects()).toBe(1);
    expect(await schemaOf(all)).toEqual(await schemaOf((await open(backend)).db));
    await all.query('UPDATE schema_parts SET version = ? WHERE part = ?', [NEWEST.alerts! + 1, 'alerts']);
    await all.close();

    await expect(openOperationalStore(target, OPERATIONAL_SCHEMAS)).rejects.toThrow(/tables of alerts are at version 3, newer than this service knows \(2\)/);
    // a part this service does not know is left alone
    const ingestOnly = await openAt(target, [INGEST_SCHEMA]);
    expect(await partVersions(ingestOnly)).toEqual({ ...NEWEST, alerts: 3 });
  });

  it.each([1, 2, 3])('opens a store the released code made at global version %i, keeping its rows, each part brought up to date', { timeout: 60_000 }, async (version) => {
    const target = await legacyTarget(backend, version);
    const db = await openAt(target);
    expect(await partVersions(db)).toEqual(NEWEST);
    // exactly the tables, columns and indexes a new store has: alerts' migration 2 included
    expect(await schemaOf(db)).toEqual(await schemaOf((await open(backend)).db));
    const cols = await db.query<{ announced: number | null; held: string | null }>('SELECT announced_at AS announced, held_back AS held FROM alerts');
    expect(cols.rows).toHaveLength(version >= 2 ? 4 : 0);
    expect((await db.query('SELECT count(*) AS n FROM notify_groups')).rows).toEqual([{ n: 0 }]);

    const rejects = new RejectStore(db);
    expect((await rejects.listRejects({ limit: 10 })).map((r) => r.detail)).toEqual(['d2', 'd1']);
    expect(await rejects.listUnregistered()).toEqual([{ device: 'X1', site: 'a', kind: 'hydrant', topic: 't', firstSeen: T0, lastSeen: T0 + 5, count: 3, reason: 'unknown_device' }]);
    // new rows after the old ones
    await rejects.insertRejects([{ at: T0 + 2, reason: 'bad_json', site: null, topic: 't', detail: 'd3', payload: '' }]);
    expect((await rejects.listRejects({ limit: 1 }))[0]!.detail).toBe('d3');
    if (version < 2) return;

    const alerts = new AlertStore(db);
    expect((await alerts.open()).map((a) => a.id).sort()).toEqual(['L1', 'L2', 'L3', 'L4']);
    // an old row read back with the new fields given their meaning for it
    expect(await alerts.get('L1')).toEqual(alert({ id: 'L1', key: 'k1' }));
    expect(await alerts.get('L4')).toEqual(pending({ id: 'L4', key: 'k4', device: 'HY-06' }));
    expect(await alerts.history('L1')).toEqual([
      { at: T0, transition: 'pending', severity: 'warning', actor: null, detail: null },
      { at: T0 + 60_000, transition: 'firing', severity: 'warning', actor: null, detail: 'alert.firing' },
    ]);
    expect(await alerts.acks('L1')).toEqual([{ alertId: 'L1', department: 'fire-rescue', at: T0 + 90_000, actor: 'u1', via: 'link', note: null }]);
    expect((await alerts.silences(T0)).map((s) => [s.id, s.matchers])).toEqual([['S1', { device: 'HY-04' }]]);
    expect(await alerts.list({ state: 'all', departments: ['property'], limit: 10 })).toHaveLength(3);
    // who was told: the migration reads it from the history (what the reports count by)
    const announced = await db.query<{ id: string; at: number | null }>('SELECT id, announced_at AS at FROM alerts ORDER BY id');
    expect(announced.rows).toEqual([
      { id: 'L1', at: T0 + 60_000 },
      { id: 'L2', at: null },
      { id: 'L3', at: T0 + 120_000 },
      { id: 'L4', at: null },
    ]);
    expect((await new AlertFacts(db).alerts(T0, T0 + 1000, null)).map((a) => a.id)).toEqual(['L1', 'L3']);
    expect(await alerts.groupEntries()).toEqual([]);

    const outbox = new Outbox(db);
    expect(await outbox.stats()).toEqual({ pending: 1, sent: 1, failed: 0, oldestPendingAt: T0 });
    expect((await outbox.pendingSince(0, 10)).map((p) => p.id)).toEqual(['D2']);
    expect(await outbox.get('D2')).toMatchObject({ status: 'pending', body: LEGACY_BODY, channel: hook, alertId: 'L1' });
    const [next] = await outbox.enqueue([sampleItem(hook)], T0 + 1);
    const cursor = (await outbox.pendingSince(0, 10))[0]!.seq;
    expect((await outbox.pendingSince(cursor, 10)).map((p) => p.id)).toEqual([next]);
    expect(await new AuditLog(db).list(10)).toEqual([{ at: T0, actor: 'admin', action: 'silence.create', target: 'S1', detail: null }]);
    if (version < 3) return;
    expect((await new MaintenanceLog(db).list('E1')).map((m) => [m.id, m.note])).toEqual([['M1', '更换钢丝绳']]);
  });

  it('reads an alert of an old store whose firing was held back as told to nobody, as its migrated column says', { timeout: 60_000 }, async () => {
    const db = await openAt(await legacyTarget(backend, 3));
    const alerts = new AlertStore(db);
    // L2's firing was held back by S1 and nobody has heard of it: announced_at is NULL (above),
    // and the alert the engine loads must say so, or its end would go to those never told.
    expect(await alerts.get('L2')).toMatchObject({ id: 'L2', mutedBy: 'S1', announcedAt: null, notified: [] });
    expect(await alerts.get('L3')).toMatchObject({ id: 'L3', announcedAt: T0 + 120_000 });
  });
});
