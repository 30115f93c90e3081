/**
 * The operational store's contract, run the same on both backends: SQLite (a temp file) and
 * PostgreSQL (a fresh database per test on 127.0.0.1:5432 or PGURL, dropped after). Each
 * part's tables are driven through the part's own class (ingest's rejects and unregistered
 * devices, the alerts with history, acks, silences and waiting groups, the audit log, the
 * outbox, maintenance records, the reports' alert facts), so the SQL under test is the SQL
 * the service runs (each part's migrations are in migrations.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createOperationalStore, partVersions, type Queryable } from '../index.ts';
import { RejectStore } from '../../ingest/index.ts';
import { AlertStore, AuditLog, Outbox, type AlertBody } from '../../alerts/index.ts';
import type { GroupEntry } from '../../alerts/alert-store.ts';
import { MaintenanceLog } from '../../reports/maintenance.ts';
import { AlertFacts } from '../../reports/sources.ts';
import { sampleItem, sampleNotification } from '../../alerts/delivery/testing/fixtures.ts';
import { freshDatabase } from './testing/postgres.ts';
import { alert, cleanups, hook, NEWEST, open, openAt, pending, runCleanups, save, step, T0, type Backend } from '../../test/harness/operational-store.ts';

afterEach(runCleanups);

describe.each<Backend>(['sqlite', 'postgres'])('operational store on %s', (backend) => {
  it('keeps ingest rejects newest first, filtered by site, reason and cursor, and prunes the oldest', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const store = new RejectStore(db);
    await store.insertRejects(
      Array.from({ length: 6 }, (_, i) => ({
        at: T0 + i,
        reason: i % 2 ? 'bad_json' : 'bad_topic',
        site: i < 3 ? 'a' : null,
        topic: `estate/a/'quoted?'/${i}`,
        detail: `d${i}`,
        payload: `{"i":${i}}`,
      })),
    );
    expect(await store.countRejects()).toBe(6);
    const all = await store.listRejects({ limit: 10 });
    expect(all.map((r) => r.at)).toEqual([5, 4, 3, 2, 1, 0].map((i) => T0 + i));
    expect(all[0]).toMatchObject({ reason: 'bad_json', site: null, topic: "estate/a/'quoted?'/5", payload: '{"i":5}' });
    expect((await store.listRejects({ limit: 10, sites: ['a'] })).map((r) => r.detail)).toEqual(['d2', 'd1', 'd0']);
    expect(await store.listRejects({ limit: 10, sites: [] })).toEqual([]);
    expect((await store.listRejects({ limit: 10, reason: 'bad_json' })).map((r) => r.detail)).toEqual(['d5', 'd3', 'd1']);
    expect((await store.listRejects({ limit: 2, before: all[1]!.id })).map((r) => r.detail)).toEqual(['d3', 'd2']);
    await store.pruneRejects(2);
    expect((await store.listRejects({ limit: 10 })).map((r) => r.detail)).toEqual(['d5', 'd4']);
  });

  it('keeps a flush of 250 rejects, in order, across its multi-row inserts', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const store = new RejectStore(db);
    await store.insertRejects(Array.from({ length: 250 }, (_, i) => ({ at: T0 + i, reason: 'bad_json', site: null, topic: 't', detail: String(i), payload: '' })));
    expect(await store.countRejects()).toBe(250);
    expect((await store.listRejects({ limit: 300 })).map((r) => Number(r.detail))).toEqual(Array.from({ length: 250 }, (_, i) => 249 - i));
  });

  it('counts unregistered devices up, keeping when each was first seen', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const store = new RejectStore(db);
    const row = { device: 'X1', site: 'a', kind: 'hydrant', topic: 'estate/a/hydrant/X1/telemetry', lastSeen: T0, count: 2, reason: 'unknown_device' };
    await store.upsertUnregistered([row, { ...row, device: 'X2', site: 'b' }]);
    await store.upsertUnregistered([{ ...row, lastSeen: T0 + 5, count: 3 }]);
    expect(await store.listUnregistered()).toEqual([
      { device: 'X1', site: 'a', kind: 'hydrant', topic: row.topic, firstSeen: T0, lastSeen: T0 + 5, count: 5, reason: 'unknown_device' },
      { device: 'X2', site: 'b', kind: 'hydrant', topic: row.topic, firstSeen: T0, lastSeen: T0, count: 2, reason: 'unknown_device' },
    ]);
    expect((await store.listUnregistered(['b'])).map((r) => r.device)).toEqual(['X2']);
    expect(await store.listUnregistered([])).toEqual([]);
  });

  it('saves alerts with their history and departments, lists and discards them', { timeout: 30_000 }, async () => {
    const { db, reopen } = await open(backend);
    const alerts = new AlertStore(db);
    await save(db, pending(), [T0, 'pending']);
    await save(db, alert(), [T0 + 60_000, 'firing', { detail: 'alert.firing' }]);
    await save(db, alert({ severity: 'critical' }), [T0 + 90_000, 'severity', { actor: 'engine' }]);
    await save(db, alert({ id: 'A2', key: 'k2', site: 'other', device: 'E1', kind: 'elevator', startsAt: T0 + 1000, firedAt: T0 + 2000, departments: ['market-supervision'] }), [T0 + 2000, 'firing']);
    await save(db, pending({ id: 'A3', key: 'k3' }), [T0, 'pending']);
    await save(db, alert({ id: 'A4', key: 'k4', state: 'resolved', startsAt: T0 - 10_000, firedAt: T0 - 9000, endsAt: T0 - 5000 }));

    expect(await alerts.get('A1')).toEqual(alert({ severity: 'critical' }));
    expect(await alerts.get('nope')).toBeUndefined();
    expect(await alerts.history('A1')).toEqual([
      { at: T0, transition: 'pending', severity: 'warning', actor: null, detail: null },
      { at: T0 + 60_000, transition: 'firing', severity: 'warning', actor: null, detail: 'alert.firing' },
      { at: T0 + 90_000, transition: 'severity', severity: 'critical', actor: 'engine', detail: null },
    ]);
    expect((await alerts.open()).map((a) => a.id).sort()).toEqual(['A1', 'A2', 'A3']);
    const ids = async (q: Parameters<AlertStore['list']>[0]) => (await alerts.list(q)).map((a) => a.id);
    expect(await ids({ state: 'active', limit: 10 })).toEqual(['A1', 'A2']);
    expect(await ids({ state: 'all', limit: 10 })).toEqual(['A1', 'A2', 'A4']);
    expect(await ids({ state: 'all', limit: 1 })).toEqual(['A1']);
    expect(await ids({ state: 'all', sites: ['other'], limit: 10 })).toEqual(['A2']);
    expect(await ids({ state: 'all', sites: [], limit: 10 })).toEqual([]);
    expect(await ids({ state: 'all', site: 'jinfo-garden', limit: 10 })).toEqual(['A1', 'A4']);
    expect(await ids({ state: 'all', departments: ['property'], limit: 10 })).toEqual(['A1', 'A4']);
    expect(await ids({ state: 'all', from: T0, to: T0 + 1000, limit: 10 })).toEqual(['A1']);

    await db.transaction((tx) => alerts.discard(tx, 'A3'));
    expect(await alerts.get('A3')).toBeUndefined();
    expect(await alerts.history('A3')).toEqual([]);
    await db.close();
    expect((await new AlertStore(await reopen()).open()).map((a) => a.id).sort()).toEqual(['A1', 'A2']);
  });

  it('records each acknowledgement once, silences until deleted or over, and the audit log newest first', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const alerts = new AlertStore(db);
    await save(db, alert());
    const addAck = (a: Parameters<AlertStore['addAck']>[1]) => db.transaction((tx) => alerts.addAck(tx, a));
    const ack = { alertId: 'A1', department: 'fire-rescue', at: T0 + 5, actor: 'u1', via: 'link' as const, note: null };
    expect(await addAck(ack)).toBe(true);
    expect(await addAck({ ...ack, at: T0 + 9, actor: 'u2' })).toBe(false);
    expect(await addAck({ ...ack, department: 'property', at: T0 + 7, via: 'api', note: '已处理' })).toBe(true);
    expect(await alerts.acks('A1')).toEqual([ack, { ...ack, department: 'property', at: T0 + 7, via: 'api', note: '已处理' }]);

    const silence = { id: 'S1', matchers: { site: 'jinfo-garden', rule: 'pressure_low' }, startsAt: T0, endsAt: T0 + 3600_000, createdBy: 'admin', createdAt: T0, comment: '检修 maintenance' };
    await alerts.addSilence(silence);
    await alerts.addSilence({ ...silence, id: 'S2', startsAt: T0 + 1, endsAt: T0 + 10 });
    expect(await alerts.silences(T0 + 5)).toEqual([silence, { ...silence, id: 'S2', startsAt: T0 + 1, endsAt: T0 + 10 }]);
    expect(await alerts.silences(T0 + 10)).toEqual([silence]);
    expect(await alerts.deleteSilence('S1', T0 + 20)).toBe(true);
    expect(await alerts.deleteSilence('S1', T0 + 21)).toBe(false);
    expect(await alerts.silences(T0)).toEqual([{ ...silence, id: 'S2', startsAt: T0 + 1, endsAt: T0 + 10 }]);

    const audit = new AuditLog(db);
    await audit.add('admin', 'silence.create', 'S1', null, T0);
    await audit.add('admin', 'silence.delete', 'S1', '{"why":"done"}', T0 + 1);
    expect(await audit.list(10)).toEqual([
      { at: T0 + 1, actor: 'admin', action: 'silence.delete', target: 'S1', detail: '{"why":"done"}' },
      { at: T0, actor: 'admin', action: 'silence.create', target: 'S1', detail: null },
    ]);
    expect(await audit.list(1)).toHaveLength(1);
  });

  it('keeps announcements waiting in their groups until they are taken out', { timeout: 30_000 }, async () => {
    const { db, reopen } = await open(backend);
    const alerts = new AlertStore(db);
    const body: AlertBody = { ...sampleNotification().alert, devices: ['HY-03', 'HY-04'] };
    const entry = (id: string, over: Partial<GroupEntry> = {}): GroupEntry => ({
      id, groupKey: 'property|jinfo-garden|device_silent|alert.firing', recipient: 'property', alertId: `alert-${id}`, event: 'alert.firing', createdAt: T0, dueAt: T0 + 60_000, body, ...over,
    });
    await db.transaction((tx) => alerts.addGroupEntries(tx, [entry('G2', { createdAt: T0 + 1 }), entry('G1'), entry('G3', { groupKey: 'other', event: 'alert.resolved', createdAt: T0 + 2 })]));
    await db.transaction((tx) => alerts.addGroupEntries(tx, []));
    expect(await alerts.groupEntries()).toEqual([entry('G1'), entry('G2', { createdAt: T0 + 1 }), entry('G3', { groupKey: 'other', event: 'alert.resolved', createdAt: T0 + 2 })]);
    // taken out with the change that sends them, or not at all
    await expect(
      db.transaction(async (tx) => {
        await alerts.removeGroupEntries(tx, ['G1', 'G2']);
        throw new Error('the send was not committed');
      }),
    ).rejects.toThrow('the send was not committed');
    expect(await alerts.groupEntries()).toHaveLength(3);
    await db.transaction((tx) => alerts.removeGroupEntries(tx, ['G1', 'G2', 'nope']));
    await db.close();
    expect((await new AlertStore(await reopen()).groupEntries()).map((e) => e.id)).toEqual(['G3']);
  });

  it('enqueues deliveries, hands out the due ones, records attempts and prunes finished ones', { timeout: 30_000 }, async () => {
    const { db, reopen } = await open(backend);
    const outbox = new Outbox(db);
    let woken = 0;
    outbox.onEnqueue(() => woken++);
    const ids = await outbox.enqueue([sampleItem(hook), sampleItem(hook, { recipient: 'property' }), sampleItem(hook, { alertId: 'other' })], T0);
    expect(woken).toBe(1);
    expect(await outbox.pendingCount()).toBe(3);
    expect(await outbox.get(ids[0]!)).toMatchObject({ id: ids[0], status: 'pending', attempts: 0, createdAt: T0, nextAt: T0, channel: hook, sentAt: null });
    expect((await outbox.due(T0, 2)).map((d) => d.id)).toEqual(ids.slice(0, 2));
    const refs = await outbox.pendingSince(0, 10);
    expect(refs.map((r) => r.id)).toEqual(ids);
    expect(refs.map((r) => r.alertId)).toEqual([sampleItem(hook).alertId, sampleItem(hook).alertId, 'other']);
    expect((await outbox.pendingSince(refs[1]!.seq, 10)).map((r) => r.id)).toEqual([ids[2]]);

    await outbox.markSent(ids[0]!, T0 + 10);
    await outbox.markRetry(ids[1]!, T0 + 5000, 1, 'HTTP 503');
    await outbox.markFailed(ids[2]!, T0 + 20, 'HTTP 400', 1);
    expect(await outbox.due(T0 + 100, 10)).toEqual([]);
    expect((await outbox.due(T0 + 5000, 10)).map((d) => [d.id, d.attempts, d.lastError])).toEqual([[ids[1], 1, 'HTTP 503']]);
    expect(await outbox.get(ids[0]!)).toMatchObject({ status: 'sent', sentAt: T0 + 10, attempts: 1 });
    expect(await outbox.get(ids[2]!)).toMatchObject({ status: 'failed', failedAt: T0 + 20, attempts: 1, lastError: 'HTTP 400' });
    expect(await outbox.stats()).toEqual({ pending: 1, sent: 1, failed: 1, oldestPendingAt: T0 });
    expect((await outbox.forAlert(sampleItem(hook).alertId)).map((d) => [d.recipient, d.status])).toEqual([
      ['fire-rescue', 'sent'],
      ['property', 'pending'],
    ]);
    // the newest row is kept so the worker's cursor never goes back
    expect(await outbox.prune(T0 + 1)).toBe(1);
    expect(await outbox.get(ids[0]!)).toBeUndefined();
    expect(await outbox.get(ids[2]!)).toBeDefined();
    await db.close();
    const later = new Outbox(await reopen());
    const more = await later.enqueue([sampleItem(hook)], T0 + 10_000);
    expect((await later.pendingSince(refs[2]!.seq, 10)).map((r) => r.id)).toEqual(more);
  });

  it("writes an alert's change and its deliveries in one transaction: both kept, or neither", { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const alerts = new AlertStore(db);
    const outbox = new Outbox(db);
    let woken = 0;
    outbox.onEnqueue(() => woken++);
    await expect(
      db.transaction(async (tx) => {
        await alerts.save(tx, alert(), [step(alert(), T0 + 60_000, 'firing')]);
        await outbox.insert(tx, [sampleItem(hook), sampleItem(hook, { recipient: 'property' })], T0);
        throw new Error('the process died before the commit');
      }),
    ).rejects.toThrow('the process died before the commit');
    expect(await alerts.get('A1')).toBeUndefined();
    expect(await alerts.history('A1')).toEqual([]);
    expect(await outbox.stats()).toEqual({ pending: 0, sent: 0, failed: 0, oldestPendingAt: null });

    const ids = await db.transaction(async (tx) => {
      await alerts.save(tx, alert(), [step(alert(), T0 + 60_000, 'firing')]);
      return outbox.insert(tx, [sampleItem(hook), sampleItem(hook, { recipient: 'property' })], T0);
    });
    // insert() wakes nobody: the committer calls notify() once the commit is done
    expect(woken).toBe(0);
    outbox.notify();
    expect(woken).toBe(1);
    expect((await alerts.get('A1'))!.state).toBe('firing');
    expect((await outbox.pendingSince(0, 10)).map((r) => r.id)).toEqual(ids);
  });

  it('keeps maintenance records and finds the last time each task was done', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const log = new MaintenanceLog(db);
    const base = { site: 'jinfo-garden', device: 'E1', task: 'elevator_maintenance' as const, recordedBy: 'u1', recordedAt: T0, note: null };
    const first = await log.record({ ...base, doneAt: T0 - 20 * 86_400_000 });
    const second = await log.record({ ...base, doneAt: T0 - 86_400_000, note: '更换钢丝绳' });
    await log.record({ ...base, device: 'T1', task: 'tank_cleaning', doneAt: T0 + 1000 });
    expect(await log.list('E1')).toEqual([second, first]);
    expect(await log.lastDone(['E1', 'T1', 'none'], T0)).toEqual(new Map([['E1/elevator_maintenance', T0 - 86_400_000]]));
    expect(await log.lastDone([], T0)).toEqual(new Map());
  });

  it("gives the reports each period's alerts with acknowledgements, and the time under critical alerts", { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const alerts = new AlertStore(db);
    await save(db, alert({ severity: 'critical', endsAt: T0 + 600_000, state: 'resolved' }), [T0 + 60_000, 'firing']);
    await save(db, alert({ id: 'A2', key: 'k2', severity: 'critical' }), [T0 + 300_000, 'firing']);
    await save(db, alert({ id: 'A3', key: 'k3', device: 'HY-04' }), [T0, 'firing']);
    await save(db, alert({ id: 'A3', key: 'k3', device: 'HY-04', severity: 'critical' }), [T0 + 120_000, 'severity']);
    // fired, but held back by a silence: nobody was told, so no report counts it
    await save(db, alert({ id: 'M1', key: 'm1', mutedBy: 'S1', announcedAt: null, notified: [] }), [T0, 'muted', { detail: 'alert.firing held back: S1' }]);
    await db.transaction((tx) => alerts.addAck(tx, { alertId: 'A1', department: 'fire-rescue', at: T0 + 100_000, actor: 'u1', via: 'link', note: null }));
    const facts = new AlertFacts(db);
    const got = await facts.alerts(T0, T0 + 1000, null);
    expect(got.map((a) => a.id)).toEqual(['A1', 'A2', 'A3']);
    expect(got[0]!.acks).toEqual([{ department: 'fire-rescue', at: T0 + 100_000, actor: 'u1' }]);
    expect(await facts.alerts(T0, T0 + 1000, ['elsewhere'])).toEqual([]);
    expect(await facts.alerts(T0, T0 + 1000, null, ['nope'])).toEqual([]);
    const ms = await facts.criticalMs(['HY-03', 'HY-04', 'E9'], T0, T0 + 3600_000, T0 + 900_000);
    // HY-03: A1 from +60 s to +600 s, A2 from +300 s to now (+900 s): 840 s once overlaps are merged
    expect(ms).toEqual(new Map([['HY-03', 840_000], ['HY-04', 780_000], ['E9', 0]]));
  });

  it('rolls a failed transaction back whole, keeps statements from outside out of it, and stays usable after an error', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const audit = new AuditLog(db);
    const insert = 'INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)';
    const actions = async () => (await audit.list(100)).map((r) => r.action).sort();

    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [T0, 'test', 'lost', null, null]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    // a failing statement fails its transaction, and what it wrote before goes too
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [T0, 'test', 'lost too', null, null]);
        await tx.query('INSERT INTO audit_log (nope) VALUES (1)');
      }),
    ).rejects.toThrow();
    expect(await actions()).toEqual([]);

    // A statement from outside, made while a transaction waits on something, is not part of
    // it: it stays when the transaction is rolled back, and sees only what was committed.
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    let inside!: () => void;
    const started = new Promise<void>((r) => (inside = r));
    const tx = db.transaction(async (t) => {
      await t.query(insert, [T0, 'test', 'rolled back', null, null]);
      inside();
      await gate;
      throw new Error('rolled back');
    });
    await started;
    const outside = db.query(insert, [T0, 'test', 'outside', null, null]);
    const seen = db.query<{ n: number }>(`SELECT count(*) AS n FROM audit_log WHERE action = 'rolled back'`);
    go();
    await expect(tx).rejects.toThrow('rolled back');
    expect((await outside).changes).toBe(1);
    expect(Number((await seen).rows[0]!.n)).toBe(0);
    expect(await actions()).toEqual(['outside']);

    // transactions at once each commit whole
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.transaction(async (t) => {
          await t.query(insert, [T0 + i, 'test', `pair ${i}`, null, null]);
          await new Promise((r) => setTimeout(r, 5));
          await t.query(insert, [T0 + i, 'test', `pair ${i}`, null, null]);
        }),
      ),
    );
    const pairs = await db.query<{ action: string; n: number }>(`SELECT action, count(*) AS n FROM audit_log WHERE action LIKE 'pair %' GROUP BY action ORDER BY action`);
    expect(pairs.rows.map((r) => [r.action, Number(r.n)])).toEqual(Array.from({ length: 8 }, (_, i) => [`pair ${i}`, 2]));

    // booleans bind as 1/0 and undefined as NULL, on both
    await db.exec('CREATE TABLE bind_test (k TEXT, n INTEGER, m INTEGER, t TEXT)');
    await db.query('INSERT INTO bind_test (k, n, m, t) VALUES (?, ?, ?, ?)', ['x', true, false, undefined]);
    expect((await db.query('SELECT n, m, t FROM bind_test WHERE k = ? AND n = ?', ['x', true])).rows).toEqual([{ n: 1, m: 0, t: null }]);

    await expect(db.query('SELECT nope FROM audit_log')).rejects.toThrow();
    expect(await new RejectStore(db).countRejects()).toBe(0); // still usable after an error
  });
});

describe.each<Backend>(['sqlite', 'postgres'])('a transaction on %s', (backend) => {
  it('refuses a statement through its handle once it ended, committed or rolled back', { timeout: 30_000 }, async () => {
    const { db } = await open(backend);
    const insert = 'INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)';
    let committed: Queryable | undefined;
    await db.transaction(async (t) => {
      committed = t;
      await t.query(insert, [T0, 'test', 'committed', null, null]);
    });
    let rolledBack: Queryable | undefined;
    await expect(
      db.transaction(async (t) => {
        rolledBack = t;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    // Such a statement would otherwise run on its own, or inside whatever transaction has the
    // connection now: kept or lost with another caller's change.
    await expect(committed!.query(insert, [T0, 'test', 'late', null, null])).rejects.toThrow();
    await expect(rolledBack!.query(insert, [T0, 'test', 'late', null, null])).rejects.toThrow();
    expect((await new AuditLog(db).list(10)).map((r) => r.action)).toEqual(['committed']);
  });
});

describe('operational store on postgres, one schema per shard', () => {
  it('keeps two instances apart when each names its own schema in the URL', { timeout: 60_000 }, async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const admin = createOperationalStore(db.url);
    await admin.exec('CREATE SCHEMA shard1; CREATE SCHEMA shard2');
    await admin.close();
    const at = async (schema: string) => {
      const u = new URL(db.url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return openAt(u.toString());
    };
    const one = await at('shard1');
    const two = await at('shard2');
    await save(one, alert());
    await new Outbox(one).enqueue([sampleItem(hook)], T0);
    expect(await new AlertStore(two).open()).toEqual([]);
    expect(await new Outbox(two).pendingCount()).toBe(0);
    expect((await new AlertStore(one).open()).map((a) => a.id)).toEqual(['A1']);
    expect(await partVersions(two)).toEqual(NEWEST);
  });
});
