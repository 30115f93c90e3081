/**
 * The operational store's contract, run the same on both backends: SQLite (a temp file) and
 * PostgreSQL (a fresh database per test on 127.0.0.1:5432 or PGURL, dropped after). Each
 * user of the store (rejects, unregistered devices, alerts with history, acks, silences and
 * the audit log, the outbox, maintenance records, the reports' alert facts) is driven
 * through its own class, so the SQL under test is the SQL the service runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperationalStore } from '../index.ts';
import { MIGRATIONS } from '../migrations.ts';
import { schemaVersion } from './migrate.ts';
import { AlertStore, Outbox, type Alert } from '../../alerts/index.ts';
import { MaintenanceLog } from '../../reports/maintenance.ts';
import { AlertFacts } from '../../reports/sources.ts';
import { sampleItem } from '../../alerts/delivery/testing/fixtures.ts';
import type { Channel } from '../../config/index.ts';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import pg from 'pg';
import { PostgresDb } from './postgres.ts';
import { freshDatabase, PGURL } from './testing/postgres.ts';
import { waitFor } from '../../test/harness/ports.ts';

type Backend = 'sqlite' | 'postgres';

interface Opened {
  store: OperationalStore;
  reopen(): OperationalStore;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

let lastTarget = '';

/** A store on an empty database of the backend; closed and removed after the test. */
async function open(backend: Backend): Promise<Opened> {
  let target: string;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'estate-ops-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    target = join(dir, 'operational.db');
  } else {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    target = db.url;
  }
  lastTarget = target;
  const stores: OperationalStore[] = [];
  cleanups.push(() => stores.forEach((s) => s.close()));
  const make = () => {
    const s = new OperationalStore(target);
    stores.push(s);
    return s;
  };
  return { store: make(), reopen: make };
}

const T0 = Date.parse('2026-11-25T08:00:00Z');

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'A1',
    key: 'jinfo-garden/HY-03/pressure_low',
    site: 'jinfo-garden',
    siteName: '金佛花园',
    building: '3栋',
    device: 'HY-03',
    kind: 'hydrant',
    rule: 'pressure_low',
    metric: 'pressure_mpa',
    severity: 'warning',
    state: 'firing',
    value: 0.08,
    threshold: 0.1,
    unit: 'MPa',
    startsAt: T0,
    firedAt: T0 + 60_000,
    endsAt: null,
    ackDeadline: null,
    ackedAt: null,
    ackedBy: null,
    ackNote: null,
    escalatedAt: null,
    departments: ['fire-rescue', 'property'],
    summary: { 'zh-CN': '压力低', en: 'pressure low' },
    mutedBy: null,
    flapping: false,
    source: 'GB 50974',
    ...over,
  };
}

const hook: Channel = { type: 'webhook', url: 'http://127.0.0.1:9/hook' } as Channel;

describe.each<Backend>(['sqlite', 'postgres'])('operational store on %s', (backend) => {
  it('migrates an empty database to the newest version, and reopening changes nothing', { timeout: 30_000 }, async () => {
    const { store, reopen } = await open(backend);
    expect(schemaVersion(store.db, store.dialect)).toBe(MIGRATIONS.length);
    store.insertRejects([{ at: T0, reason: 'bad_json', site: 'a', topic: 'estate/a/x', detail: 'd', payload: 'p' }]);
    store.close();
    const again = reopen();
    expect(again.dialect).toBe(backend);
    expect(schemaVersion(again.db, again.dialect)).toBe(MIGRATIONS.length);
    expect(again.countRejects()).toBe(1);
  });

  it('keeps ingest rejects newest first, filtered by site, reason and cursor, and prunes the oldest', { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    store.insertRejects(
      Array.from({ length: 6 }, (_, i) => ({
        at: T0 + i,
        reason: i % 2 ? 'bad_json' : 'bad_topic',
        site: i < 3 ? 'a' : null,
        topic: `estate/a/'quoted?'/${i}`,
        detail: `d${i}`,
        payload: `{"i":${i}}`,
      })),
    );
    expect(store.countRejects()).toBe(6);
    const all = store.listRejects({ limit: 10 });
    expect(all.map((r) => r.at)).toEqual([5, 4, 3, 2, 1, 0].map((i) => T0 + i));
    expect(all[0]).toMatchObject({ reason: 'bad_json', site: null, topic: "estate/a/'quoted?'/5", payload: '{"i":5}' });
    expect(store.listRejects({ limit: 10, sites: ['a'] }).map((r) => r.detail)).toEqual(['d2', 'd1', 'd0']);
    expect(store.listRejects({ limit: 10, sites: [] })).toEqual([]);
    expect(store.listRejects({ limit: 10, reason: 'bad_json' }).map((r) => r.detail)).toEqual(['d5', 'd3', 'd1']);
    expect(store.listRejects({ limit: 2, before: all[1]!.id }).map((r) => r.detail)).toEqual(['d3', 'd2']);
    store.pruneRejects(2);
    expect(store.listRejects({ limit: 10 }).map((r) => r.detail)).toEqual(['d5', 'd4']);
  });

  it('keeps a flush of 250 rejects, in order, across its multi-row inserts', { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    store.insertRejects(Array.from({ length: 250 }, (_, i) => ({ at: T0 + i, reason: 'bad_json', site: null, topic: 't', detail: String(i), payload: '' })));
    expect(store.countRejects()).toBe(250);
    expect(store.listRejects({ limit: 300 }).map((r) => Number(r.detail))).toEqual(Array.from({ length: 250 }, (_, i) => 249 - i));
  });

  it('counts unregistered devices up, keeping when each was first seen', { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    const row = { device: 'X1', site: 'a', kind: 'hydrant', topic: 'estate/a/hydrant/X1/telemetry', lastSeen: T0, count: 2, reason: 'unknown_device' };
    store.upsertUnregistered([row, { ...row, device: 'X2', site: 'b' }]);
    store.upsertUnregistered([{ ...row, lastSeen: T0 + 5, count: 3 }]);
    expect(store.listUnregistered()).toEqual([
      { device: 'X1', site: 'a', kind: 'hydrant', topic: row.topic, firstSeen: T0, lastSeen: T0 + 5, count: 5, reason: 'unknown_device' },
      { device: 'X2', site: 'b', kind: 'hydrant', topic: row.topic, firstSeen: T0, lastSeen: T0, count: 2, reason: 'unknown_device' },
    ]);
    expect(store.listUnregistered(['b']).map((r) => r.device)).toEqual(['X2']);
    expect(store.listUnregistered([])).toEqual([]);
  });

  it('saves alerts with their history and departments, lists and discards them', { timeout: 30_000 }, async () => {
    const { store, reopen } = await open(backend);
    const alerts = new AlertStore(store.db);
    alerts.save(alert({ state: 'pending', firedAt: null }), { at: T0, name: 'pending' });
    alerts.save(alert(), { at: T0 + 60_000, name: 'firing', detail: 'alert.firing' });
    alerts.save(alert({ severity: 'critical' }), { at: T0 + 90_000, name: 'severity', actor: 'engine' });
    alerts.save(alert({ id: 'A2', key: 'k2', site: 'other', device: 'E1', kind: 'elevator', startsAt: T0 + 1000, firedAt: T0 + 2000, departments: ['market-supervision'] }), { at: T0 + 2000, name: 'firing' });
    alerts.save(alert({ id: 'A3', key: 'k3', state: 'pending', firedAt: null }), { at: T0, name: 'pending' });
    alerts.save(alert({ id: 'A4', key: 'k4', state: 'resolved', startsAt: T0 - 10_000, firedAt: T0 - 9000, endsAt: T0 - 5000 }));

    expect(alerts.get('A1')).toEqual(alert({ severity: 'critical' }));
    expect(alerts.get('nope')).toBeUndefined();
    expect(alerts.history('A1')).toEqual([
      { at: T0, transition: 'pending', severity: 'warning', actor: null, detail: null },
      { at: T0 + 60_000, transition: 'firing', severity: 'warning', actor: null, detail: 'alert.firing' },
      { at: T0 + 90_000, transition: 'severity', severity: 'critical', actor: 'engine', detail: null },
    ]);
    expect(alerts.open().map((a) => a.id).sort()).toEqual(['A1', 'A2', 'A3']);
    expect(alerts.list({ state: 'active', limit: 10 }).map((a) => a.id)).toEqual(['A1', 'A2']);
    expect(alerts.list({ state: 'all', limit: 10 }).map((a) => a.id)).toEqual(['A1', 'A2', 'A4']);
    expect(alerts.list({ state: 'all', limit: 1 }).map((a) => a.id)).toEqual(['A1']);
    expect(alerts.list({ state: 'all', sites: ['other'], limit: 10 }).map((a) => a.id)).toEqual(['A2']);
    expect(alerts.list({ state: 'all', sites: [], limit: 10 })).toEqual([]);
    expect(alerts.list({ state: 'all', site: 'jinfo-garden', limit: 10 }).map((a) => a.id)).toEqual(['A1', 'A4']);
    expect(alerts.list({ state: 'all', departments: ['property'], limit: 10 }).map((a) => a.id)).toEqual(['A1', 'A4']);
    expect(alerts.list({ state: 'all', from: T0, to: T0 + 1000, limit: 10 }).map((a) => a.id)).toEqual(['A1']);

    alerts.discard('A3');
    expect(alerts.get('A3')).toBeUndefined();
    expect(alerts.history('A3')).toEqual([]);
    store.close();
    expect(new AlertStore(reopen().db).open().map((a) => a.id).sort()).toEqual(['A1', 'A2']);
  });

  it('records each acknowledgement once, silences until deleted or over, and the audit log newest first', { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    const alerts = new AlertStore(store.db);
    alerts.save(alert());
    const ack = { alertId: 'A1', department: 'fire-rescue', at: T0 + 5, actor: 'u1', via: 'link' as const, note: null };
    expect(alerts.addAck(ack)).toBe(true);
    expect(alerts.addAck({ ...ack, at: T0 + 9, actor: 'u2' })).toBe(false);
    expect(alerts.addAck({ ...ack, department: 'property', at: T0 + 7, via: 'api', note: '已处理' })).toBe(true);
    expect(alerts.acks('A1')).toEqual([ack, { ...ack, department: 'property', at: T0 + 7, via: 'api', note: '已处理' }]);

    const silence = { id: 'S1', matchers: { site: 'jinfo-garden', rule: 'pressure_low' }, startsAt: T0, endsAt: T0 + 3600_000, createdBy: 'admin', createdAt: T0, comment: '检修 maintenance' };
    alerts.addSilence(silence);
    alerts.addSilence({ ...silence, id: 'S2', startsAt: T0 + 1, endsAt: T0 + 10 });
    expect(alerts.silences(T0 + 5)).toEqual([silence, { ...silence, id: 'S2', startsAt: T0 + 1, endsAt: T0 + 10 }]);
    expect(alerts.silences(T0 + 10)).toEqual([silence]);
    expect(alerts.deleteSilence('S1', T0 + 20)).toBe(true);
    expect(alerts.deleteSilence('S1', T0 + 21)).toBe(false);
    expect(alerts.silences(T0)).toEqual([{ ...silence, id: 'S2', startsAt: T0 + 1, endsAt: T0 + 10 }]);

    alerts.audit('admin', 'silence.create', 'S1', null, T0);
    alerts.audit('admin', 'silence.delete', 'S1', '{"why":"done"}', T0 + 1);
    expect(alerts.auditLog(10)).toEqual([
      { at: T0 + 1, actor: 'admin', action: 'silence.delete', target: 'S1', detail: '{"why":"done"}' },
      { at: T0, actor: 'admin', action: 'silence.create', target: 'S1', detail: null },
    ]);
  });

  it('enqueues deliveries, hands out the due ones, records attempts and prunes finished ones', { timeout: 30_000 }, async () => {
    const { store, reopen } = await open(backend);
    const outbox = new Outbox(store.db);
    let woken = 0;
    outbox.onEnqueue(() => woken++);
    const ids = outbox.enqueue([sampleItem(hook), sampleItem(hook, { recipient: 'property' }), sampleItem(hook, { alertId: 'other' })], T0);
    expect(woken).toBe(1);
    expect(outbox.pendingCount()).toBe(3);
    expect(outbox.get(ids[0]!)).toMatchObject({ id: ids[0], status: 'pending', attempts: 0, createdAt: T0, nextAt: T0, channel: hook, sentAt: null });
    expect(outbox.due(T0, 2).map((d) => d.id)).toEqual(ids.slice(0, 2));
    const refs = outbox.pendingSince(0, 10);
    expect(refs.map((r) => r.id)).toEqual(ids);
    expect(outbox.pendingSince(refs[1]!.seq, 10).map((r) => r.id)).toEqual([ids[2]]);

    outbox.markSent(ids[0]!, T0 + 10);
    outbox.markRetry(ids[1]!, T0 + 5000, 1, 'HTTP 503');
    outbox.markFailed(ids[2]!, T0 + 20, 'HTTP 400', 1);
    expect(outbox.due(T0 + 100, 10)).toEqual([]);
    expect(outbox.due(T0 + 5000, 10).map((d) => [d.id, d.attempts, d.lastError])).toEqual([[ids[1], 1, 'HTTP 503']]);
    expect(outbox.get(ids[0]!)).toMatchObject({ status: 'sent', sentAt: T0 + 10, attempts: 1 });
    expect(outbox.get(ids[2]!)).toMatchObject({ status: 'failed', failedAt: T0 + 20, attempts: 1, lastError: 'HTTP 400' });
    expect(outbox.stats()).toEqual({ pending: 1, sent: 1, failed: 1, oldestPendingAt: T0 });
    expect(outbox.forAlert(sampleItem(hook).alertId).map((d) => [d.recipient, d.status])).toEqual([
      ['fire-rescue', 'sent'],
      ['property', 'pending'],
    ]);
    // the newest row is kept so the worker's cursor never goes back
    expect(outbox.prune(T0 + 1)).toBe(1);
    expect(outbox.get(ids[0]!)).toBeUndefined();
    expect(outbox.get(ids[2]!)).toBeDefined();
    store.close();
    const later = new Outbox(reopen().db);
    const more = later.enqueue([sampleItem(hook)], T0 + 10_000);
    expect(later.pendingSince(refs[2]!.seq, 10).map((r) => r.id)).toEqual(more);
  });

  it('keeps maintenance records and finds the last time each task was done', { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    const log = new MaintenanceLog(store.db);
    const base = { site: 'jinfo-garden', device: 'E1', task: 'elevator_maintenance' as const, recordedBy: 'u1', recordedAt: T0, note: null };
    const first = log.record({ ...base, doneAt: T0 - 20 * 86_400_000 });
    const second = log.record({ ...base, doneAt: T0 - 86_400_000, note: '更换钢丝绳' });
    log.record({ ...base, device: 'T1', task: 'tank_cleaning', doneAt: T0 + 1000 });
    expect(log.list('E1')).toEqual([second, first]);
    expect(log.lastDone(['E1', 'T1', 'none'], T0)).toEqual(new Map([['E1/elevator_maintenance', T0 - 86_400_000]]));
    expect(log.lastDone([], T0)).toEqual(new Map());
  });

  it("gives the reports each period's alerts with acknowledgements, and the time under critical alerts", { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    const alerts = new AlertStore(store.db);
    alerts.save(alert({ severity: 'critical', endsAt: T0 + 600_000, state: 'resolved' }), { at: T0 + 60_000, name: 'firing' });
    alerts.save(alert({ id: 'A2', key: 'k2', severity: 'critical' }), { at: T0 + 300_000, name: 'firing' });
    alerts.save(alert({ id: 'A3', key: 'k3', device: 'HY-04' }), { at: T0, name: 'firing' });
    alerts.save(alert({ id: 'A3', key: 'k3', device: 'HY-04', severity: 'critical' }), { at: T0 + 120_000, name: 'severity' });
    alerts.save(alert({ id: 'M1', key: 'm1' }), { at: T0, name: 'muted', detail: 'alert.firing held back: S1' });
    alerts.addAck({ alertId: 'A1', department: 'fire-rescue', at: T0 + 100_000, actor: 'u1', via: 'link', note: null });
    const facts = new AlertFacts(store.db);
    const got = facts.alerts(T0, T0 + 1000, null);
    expect(got.map((a) => a.id)).toEqual(['A1', 'A2', 'A3']);
    expect(got[0]!.acks).toEqual([{ department: 'fire-rescue', at: T0 + 100_000, actor: 'u1' }]);
    expect(facts.alerts(T0, T0 + 1000, ['elsewhere'])).toEqual([]);
    expect(facts.alerts(T0, T0 + 1000, null, ['nope'])).toEqual([]);
    const ms = facts.criticalMs(['HY-03', 'HY-04', 'E9'], T0, T0 + 3600_000, T0 + 900_000);
    // HY-03: A1 from +60 s to +600 s, A2 from +300 s to now (+900 s): 840 s once overlaps are merged
    expect(ms).toEqual(new Map([['HY-03', 840_000], ['HY-04', 780_000], ['E9', 0]]));
  });

  it('rolls a failed transaction back, and a failed nested one only to its savepoint', { timeout: 30_000 }, async () => {
    const { store } = await open(backend);
    const audit = (what: string) => store.db.prepare('INSERT INTO audit_log (at, actor, action) VALUES (?, ?, ?)').run(T0, 'test', what);
    expect(() =>
      store.db.transaction(() => {
        audit('lost');
        throw new Error('boom');
      })(),
    ).toThrow('boom');
    store.db.transaction(() => {
      audit('kept');
      try {
        store.db.transaction(() => {
          audit('inner lost');
          throw new Error('inner');
        })();
      } catch {
        // the outer transaction goes on
      }
    })();
    expect(new AlertStore(store.db).auditLog(10).map((r) => r.action)).toEqual(['kept']);
    expect(() => store.db.prepare('SELECT nope FROM audit_log').all()).toThrow();
    expect(store.countRejects()).toBe(0); // still usable after an error
  });
});

describe('operational store on postgres, when the connection is lost', () => {
  it('opens a new one at a later call, with the data intact', { timeout: 60_000 }, async () => {
    const { store } = await open('postgres');
    store.insertRejects([{ at: T0, reason: 'bad_json', site: 'a', topic: 't', detail: 'd', payload: 'p' }]);
    const admin = new pg.Client({ connectionString: PGURL });
    await admin.connect();
    try {
      const name = new URL(lastTarget).pathname.slice(1);
      const killed = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      expect(killed.rows.length).toBe(1);
    } finally {
      await admin.end();
    }
    // The call that meets the dead connection may fail (it cannot know whether its statement
    // ran); the worker notices the loss and the next calls run on a new connection.
    const n = await waitFor('a call on a new connection', () => {
      try {
        return store.countRejects();
      } catch {
        return undefined;
      }
    }, 20_000);
    expect(n).toBe(1);
    store.insertRejects([{ at: T0 + 1, reason: 'bad_json', site: 'a', topic: 't', detail: 'd', payload: 'p' }]);
    expect(store.countRejects()).toBe(2);
  });
});

describe('operational store on postgres, one schema per shard', () => {
  it('keeps two instances apart when each names its own schema in the URL', { timeout: 60_000 }, async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('CREATE SCHEMA shard1; CREATE SCHEMA shard2');
    await admin.end();
    const at = (schema: string) => {
      const u = new URL(db.url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      const s = new OperationalStore(u.toString());
      cleanups.push(() => void s.close());
      return s;
    };
    const one = at('shard1');
    const two = at('shard2');
    new AlertStore(one.db).save(alert());
    new Outbox(one.db).enqueue([sampleItem(hook)], T0);
    expect(new AlertStore(two.db).open()).toEqual([]);
    expect(new Outbox(two.db).pendingCount()).toBe(0);
    expect(new AlertStore(one.db).open().map((a) => a.id)).toEqual(['A1']);
  });
});

describe('operational store on postgres, when the server is unavailable', () => {
  async function allow(name: string, yes: boolean): Promise<void> {
    const admin = new pg.Client({ connectionString: PGURL });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${yes}`);
      if (!yes) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    } finally {
      await admin.end();
    }
  }

  it('waits for a server that comes back within the grace, as SQLite waits out a lock', { timeout: 90_000 }, async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    await allow(db.name, false);
    // Another process lets connections in again a second from now, while this thread is blocked in the call.
    const code = `setTimeout(async () => { const pg = require(${JSON.stringify(createRequire(import.meta.url).resolve('pg'))}); const c = new pg.Client({ connectionString: ${JSON.stringify(PGURL)} }); await c.connect(); await c.query('ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true'); await c.end(); }, 1000);`;
    const child = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
    const exited = new Promise((r) => child.on('exit', r));
    const opened = new PostgresDb(db.url, { reconnectGraceMs: 60_000 });
    cleanups.push(() => void opened.close());
    expect(opened.prepare('SELECT 41 + 1 AS n').get()).toEqual({ n: 42 });
    await exited;
  });

  it('past the grace fails each call at once, and comes back by itself', { timeout: 90_000 }, async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    cleanups.push(() => allow(db.name, true));
    const store = new PostgresDb(db.url, { reconnectGraceMs: 0 });
    cleanups.push(() => void store.close());
    store.exec('CREATE TABLE t (n BIGINT)');
    store.prepare('INSERT INTO t (n) VALUES (?)').run(1);
    await allow(db.name, false);
    const message = await waitFor('a call refused at once', () => {
      try {
        store.prepare('SELECT count(*) AS n FROM t').get();
        return undefined;
      } catch (e) {
        return /PostgreSQL unavailable since/.test((e as Error).message) ? (e as Error).message : undefined;
      }
    }, 30_000);
    expect(message).toMatch(/not currently accepting connections/);
    await allow(db.name, true);
    const n = await waitFor('the store back', () => {
      try {
        return store.prepare('SELECT count(*) AS n FROM t').get() as { n: number };
      } catch {
        return undefined;
      }
    }, 30_000);
    expect(n).toEqual({ n: 1 });
  });
});
