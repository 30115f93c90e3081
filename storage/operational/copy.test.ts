/**
 * Moving an installation's operational store from its SQLite file to PostgreSQL (copy.ts):
 * everything the service reads back is the same on the copy, the outbox's pending deliveries
 * keep their ids and order, and new rows get ids after the copied ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperationalStore } from '../index.ts';
import { AlertStore, Outbox, type Alert } from '../../alerts/index.ts';
import { MaintenanceLog } from '../../reports/maintenance.ts';
import { sampleItem } from '../../alerts/delivery/testing/fixtures.ts';
import type { Channel } from '../../config/index.ts';
import { copyStore, TABLES } from './copy.ts';
import { freshDatabase } from './testing/postgres.ts';

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
    ackedBy: null, ackNote: null, escalatedAt: null, departments: ['fire-rescue', 'property'], summary: { 'zh-CN': '压力低', en: 'low' }, mutedBy: null, flapping: false,
    source: 'GB 50974', ...over,
  };
}

/** What the service reads back from a store, through its own classes. */
function view(s: OperationalStore) {
  const alerts = new AlertStore(s.db);
  const outbox = new Outbox(s.db);
  return {
    rejects: s.listRejects({ limit: 1000 }),
    unregistered: s.listUnregistered(),
    alerts: alerts.list({ state: 'all', limit: 1000 }),
    history: alerts.history('A1'),
    acks: alerts.acks('A1'),
    silences: alerts.silences(T0),
    audit: alerts.auditLog(1000),
    outbox: outbox.forAlert('01KB0R6Q2M8V4T7XJ9C3D5F1HN'),
    pending: outbox.pendingSince(0, 1000).map((p) => p.id),
    maintenance: new MaintenanceLog(s.db).list('E1'),
  };
}

describe('copying the operational store from SQLite to PostgreSQL', () => {
  it('gives back the same alerts, outbox, log and records, and new ids after the copied ones', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-copy-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const lite = new OperationalStore(join(dir, 'operational.db'));
    cleanups.push(() => void lite.close());

    lite.insertRejects(Array.from({ length: 620 }, (_, i) => ({ at: T0 + i, reason: 'bad_json', site: i % 2 ? 'a' : null, topic: 't', detail: String(i), payload: `{"i":${i}}` })));
    lite.upsertUnregistered([{ device: 'X1', site: 'a', kind: 'hydrant', topic: 't', lastSeen: T0, count: 3, reason: 'unknown_device' }]);
    const alerts = new AlertStore(lite.db);
    for (let i = 1; i <= 3; i++) alerts.save(alert(`A${i}`, { startsAt: T0 + i }), { at: T0 + i, name: 'firing', detail: 'alert.firing' });
    alerts.save(alert('A1', { state: 'acknowledged' }), { at: T0 + 10, name: 'acknowledged', actor: 'u1' });
    alerts.addAck({ alertId: 'A1', department: 'fire-rescue', at: T0 + 10, actor: 'u1', via: 'api', note: '已派人' });
    alerts.addSilence({ id: 'S1', matchers: { site: 'a' }, startsAt: T0, endsAt: T0 + 3600_000, createdBy: 'admin', createdAt: T0, comment: 'c' });
    alerts.audit('admin', 'silence.create', 'S1', null, T0);
    const outbox = new Outbox(lite.db);
    const ids = outbox.enqueue([sampleItem(hook), sampleItem(hook, { recipient: 'property' }), sampleItem(hook, { recipient: 'x' })], T0);
    outbox.markSent(ids[0]!, T0 + 5);
    outbox.prune(T0 + 1); // rowids with a gap, as in a real file
    new MaintenanceLog(lite.db).record({ site: 'a', device: 'E1', task: 'elevator_maintenance', doneAt: T0, recordedBy: 'u1', recordedAt: T0, note: null });

    const pg = new OperationalStore(db.url);
    cleanups.push(() => void pg.close());
    const copied = copyStore(lite, pg);
    expect(copied).toMatchObject({ ingest_rejects: 620, alerts: 3, alert_history: 4, outbox: 2, maintenance: 1 });
    expect(view(pg)).toEqual(view(lite));
    expect(() => copyStore(lite, pg)).toThrow(/target is not empty/);

    // new rows continue the sequences: ids after the copied ones, the outbox cursor after the copied rowids
    const last = new Outbox(pg.db).pendingSince(0, 10).at(-1)!.seq;
    const [more] = new Outbox(pg.db).enqueue([sampleItem(hook)], T0 + 100);
    expect(new Outbox(pg.db).pendingSince(last, 10).map((p) => p.id)).toEqual([more]);
    pg.insertRejects([{ at: T0 + 1000, reason: 'bad_json', site: null, topic: 't', detail: 'new', payload: '' }]);
    expect(pg.listRejects({ limit: 1 })[0]!.detail).toBe('new');
    new AlertStore(pg.db).audit('admin', 'later', null, null, T0 + 1);
    expect(new AlertStore(pg.db).auditLog(1)[0]!.action).toBe('later');
    // a table a later migration adds must be added to TABLES, or it would not be copied
    const tables = (lite.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    expect(TABLES.map((t) => t.name).sort()).toEqual(tables);
  });
});
