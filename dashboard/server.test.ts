/**
 * The HTTP API over the asynchronous operational store, without a broker: a real SQLite
 * store migrated with the tables of ingest, alerts, delivery and the audit log, the alert
 * engine fed as ingest would feed it (alerts/testing/engine-harness.ts), and the fastify
 * app driven with `inject()`. Pins what the routes read from each part's store (alerts with
 * their history, acknowledgements and deliveries; the audit log; rejects and unregistered
 * devices), the scoping of each, and that a store that refuses answers 503 STORE_UNAVAILABLE.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEstate, Registry } from '../config/index.ts';
import { EmbeddedStore, openOperationalStore, type OpDb } from '../storage/index.ts';
import { ALERTS_SCHEMA, AUDIT_SCHEMA, AuditLog, DELIVERY_SCHEMA } from '../alerts/index.ts';
import { INGEST_SCHEMA, RejectStore } from '../ingest/index.ts';
import { engineHarness, type Harness } from '../alerts/testing/engine-harness.ts';
import { buildServer, type ServerDeps } from './server.ts';
import { LatestCache } from './live/latest.ts';
import type { RejectsApi } from './routes/ingest.ts';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

const ESTATE = parseEstate(
  `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "http://127.0.0.1:1/property" } ] }
    devices:
      - { id: HY-1, kind: hydrant, building: "3栋", intervalSec: 3600 }
  - id: s2
    name: 老街小区
    subdistrict: { name: 老街街道办事处, channels: [ { type: webhook, url: "http://127.0.0.1:1/jiedao" } ] }
    devices:
      - { id: HY-2, kind: hydrant, building: "1栋", intervalSec: 3600 }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }
auth:
  tokens:
    - { name: root, role: admin, sha256: ${sha('t-root')} }
    - { name: ops-s1, role: operator, sha256: ${sha('t-ops')}, sites: [s1] }
    - { name: ops-s2, role: operator, sha256: ${sha('t-ops2')}, sites: [s2] }
    - { name: fire-desk, role: department, sha256: ${sha('t-fire')}, departments: [fire-rescue] }
`,
  'server-test.yaml',
  {},
);

const READY = { ready: true, broker: { connected: true, url: 'mqtt://x' }, spool: { writable: true, segments: 0, bytes: 0, full: false }, store: { kind: 'embedded', up: true, backlogBytes: 0 } };

function server(over: Partial<ServerDeps> & Pick<ServerDeps, 'rejects' | 'audit' | 'alerts'>, series: EmbeddedStore): FastifyInstance {
  const registry = new Registry(ESTATE);
  return buildServer({ estate: ESTATE, metrics: new PromRegistry(), readiness: () => READY, log: pino({ level: 'silent' }), registry, latest: new LatestCache(registry), store: series, ...over });
}

let dir: string;
let db: OpDb;
let h: Harness;
let series: EmbeddedStore;
let app: FastifyInstance;
let rejects: RejectStore;

const call = async (token: string | null, method: 'GET' | 'POST', url: string, payload?: object) => {
  const r = await app.inject({ method, url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(payload ? { payload } : {}) });
  return { status: r.statusCode, body: r.json() as any };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-server-'));
  db = await openOperationalStore(join(dir, 'ops.db'), [INGEST_SCHEMA, ALERTS_SCHEMA, DELIVERY_SCHEMA, AUDIT_SCHEMA]);
  h = await engineHarness(ESTATE, { db });
  series = new EmbeddedStore(join(dir, 'series.db'));
  await series.init();
  rejects = new RejectStore(db);
  app = server({ rejects, audit: new AuditLog(db), alerts: { actions: h.actions, store: h.store, outbox: h.outbox } }, series);
  await app.ready();
  // Hydrant pressure below 0.10 MPa for 60 s at each site: one alert each, to fire rescue and the site's own recipient.
  for (const device of ['HY-1', 'HY-2']) await h.reading(device, { pressure_mpa: 0.08 });
  for (const device of ['HY-1', 'HY-2']) await h.reading(device, { pressure_mpa: 0.08 }, 60);
});

afterAll(async () => {
  await app?.close();
  await h?.close();
  await series?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const idOf = async (device: string) => (await call('t-root', 'GET', '/api/alerts')).body.items.find((a: { device: string }) => a.device === device).id as string;

describe('alerts from the store', () => {
  it('lists the alerts a token may see, with who was told', async () => {
    const all = await call('t-root', 'GET', '/api/alerts');
    expect(all.status).toBe(200);
    expect(all.body.items.map((a: { device: string }) => a.device).sort()).toEqual(['HY-1', 'HY-2']);
    const hy2 = all.body.items.find((a: { device: string }) => a.device === 'HY-2');
    // s2 has no property company: its sub-district office was told in its place.
    expect(hy2).toMatchObject({ site: 's2', kind: 'hydrant', rule: 'pressure_low', state: 'firing', departments: ['fire-rescue', 'subdistrict'], notified: ['fire-rescue', 'subdistrict'], housekeeping: false, devices: null });
    expect(hy2.announcedAt).toBe(hy2.firedAt);
    expect((await call('t-ops', 'GET', '/api/alerts')).body.items.map((a: { site: string }) => a.site)).toEqual(['s1']);
    expect((await call('t-fire', 'GET', '/api/alerts')).body.items).toHaveLength(2);
    expect((await call('t-ops', 'GET', '/api/alerts?site=s2')).status).toBe(404);
  });

  it('gives one alert with its history and acknowledgements; outside the scope it does not exist', async () => {
    const id = await idOf('HY-1');
    const r = await call('t-ops', 'GET', `/api/alerts/${id}`);
    expect(r.status).toBe(200);
    expect(r.body.history.map((x: { transition: string }) => x.transition)).toEqual(['pending', 'firing']);
    expect(r.body.acks).toEqual([]);
    expect(await call('t-ops2', 'GET', `/api/alerts/${id}`)).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: `no alert ${id}` } } });
  });

  it("shows an alert's deliveries without bodies or secrets; a department only its own", async () => {
    const id = await idOf('HY-1');
    const all = await call('t-ops', 'GET', `/api/alerts/${id}/deliveries`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((d: { recipient: string; event: string; status: string }) => [d.recipient, d.event, d.status])).toEqual([
      ['fire-rescue', 'alert.firing', 'pending'],
      ['property', 'alert.firing', 'pending'],
    ]);
    expect(all.body.items[0].channel).toEqual({ type: 'webhook', target: expect.any(String) });
    expect(all.body.items[0]).not.toHaveProperty('body');
    expect((await call('t-fire', 'GET', `/api/alerts/${id}/deliveries`)).body.items.map((d: { recipient: string }) => d.recipient)).toEqual(['fire-rescue']);
    expect((await call('t-ops2', 'GET', `/api/alerts/${id}/deliveries`)).status).toBe(404);
    expect((await call(null, 'GET', `/api/alerts/${id}/deliveries`)).status).toBe(401);
  });

  it("acknowledges for the site's own recipient, once, and audits it", async () => {
    const id = await idOf('HY-2');
    const ack = await call('t-ops2', 'POST', `/api/alerts/${id}/ack`, { note: '已到场' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ id, state: 'acknowledged', ackedBy: 'ops-s2', ackNote: '已到场' });
    expect((await call('t-ops2', 'POST', `/api/alerts/${id}/ack`, {})).body.error.code).toBe('CONFLICT');
    const one = await call('t-root', 'GET', `/api/alerts/${id}`);
    expect(one.body.acks.map((k: { department: string; actor: string }) => [k.department, k.actor])).toEqual([['subdistrict', 'ops-s2']]);
    const audit = await call('t-root', 'GET', '/api/audit');
    expect(audit.body.items[0]).toMatchObject({ actor: 'ops-s2', action: 'alert.ack', target: id, detail: '已到场' });
    expect((await call('t-ops2', 'GET', '/api/audit')).status).toBe(403);
  });

  it('creates, lists and deletes silences', async () => {
    const made = await call('t-ops', 'POST', '/api/silences', { matchers: { site: 's1', device: 'HY-1' }, endsAt: new Date(h.clock.now + 3_600_000).toISOString(), comment: '检修' });
    expect(made.status).toBe(201);
    expect((await call('t-ops', 'GET', '/api/silences')).body.items.map((s: { id: string }) => s.id)).toEqual([made.body.id]);
    expect((await call('t-ops2', 'GET', '/api/silences')).body.items).toEqual([]);
    const gone = await app.inject({ method: 'DELETE', url: `/api/silences/${made.body.id}`, headers: { authorization: 'Bearer t-ops' } });
    expect(gone.statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/api/silences/${made.body.id}`, headers: { authorization: 'Bearer t-ops' } })).statusCode).toBe(404);
  });
});

describe('what ingest refused', () => {
  it('pages through rejects, newest first, within the scope', async () => {
    await rejects.insertRejects(
      Array.from({ length: 5 }, (_, i) => ({ at: 1000 + i, reason: 'bad_payload', site: i % 2 ? 's2' : 's1', topic: `estate/s${(i % 2) + 1}/hydrant/X/telemetry`, detail: `bad ${i}`, payload: '{' })),
    );
    const first = await call('t-root', 'GET', '/api/ingest/rejects?limit=2');
    expect(first.body.items.map((r: { detail: string }) => r.detail)).toEqual(['bad 4', 'bad 3']);
    const second = await call('t-root', 'GET', `/api/ingest/rejects?limit=2&before=${first.body.next}`);
    expect(second.body.items.map((r: { detail: string }) => r.detail)).toEqual(['bad 2', 'bad 1']);
    expect((await call('t-ops2', 'GET', '/api/ingest/rejects')).body.items.map((r: { detail: string }) => r.detail)).toEqual(['bad 3', 'bad 1']);
  });

  it('lists unregistered devices', async () => {
    await rejects.upsertUnregistered([{ device: 'NEW-1', site: 's1', kind: 'hydrant', topic: 'estate/s1/hydrant/NEW-1/telemetry', lastSeen: 5000, count: 3, reason: 'unknown_device' }]);
    const r = await call('t-ops', 'GET', '/api/devices/unregistered');
    expect(r.body.items).toEqual([{ device: 'NEW-1', site: 's1', kind: 'hydrant', topic: 'estate/s1/hydrant/NEW-1/telemetry', firstSeen: new Date(5000).toISOString(), lastSeen: new Date(5000).toISOString(), messages: 3, reason: 'unknown_device' }]);
    expect((await call('t-ops2', 'GET', '/api/devices/unregistered')).body.items).toEqual([]);
  });

  it("names a site's own recipient: its property company or its sub-district office", async () => {
    const r = await call('t-root', 'GET', '/api/sites');
    expect(r.body.items.map((s: { id: string; property: unknown; subdistrict: unknown }) => [s.id, s.property, s.subdistrict])).toEqual([
      ['s1', { name: '渝南物业' }, null],
      ['s2', null, { name: '老街街道办事处' }],
    ]);
  });
});

describe('a store that refuses', () => {
  const refusing = (err: Error): RejectsApi => ({ listRejects: () => Promise.reject(err), listUnregistered: () => Promise.reject(err) });

  it('answers 503 STORE_UNAVAILABLE when it is busy or away, 500 for anything else', async () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const other = server({ rejects: refusing(busy), audit: new AuditLog(db), alerts: { actions: h.actions, store: h.store, outbox: h.outbox } }, series);
    const r = await other.inject({ method: 'GET', url: '/api/ingest/rejects', headers: { authorization: 'Bearer t-root' } });
    expect([r.statusCode, r.headers['retry-after'], r.json()]).toEqual([503, '5', { error: { code: 'STORE_UNAVAILABLE', message: 'the operational store cannot be used right now; try again shortly' } }]);
    const broken = server({ rejects: refusing(new Error('no such column: x')), audit: new AuditLog(db), alerts: { actions: h.actions, store: h.store, outbox: h.outbox } }, series);
    expect((await broken.inject({ method: 'GET', url: '/api/devices/unregistered', headers: { authorization: 'Bearer t-root' } })).json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    await Promise.all([other.close(), broken.close()]);
  });

  it('answers 503 on every read once the store is closed (the service stopping)', async () => {
    const closing = await openOperationalStore(join(dir, 'closing.db'), [INGEST_SCHEMA, ALERTS_SCHEMA, DELIVERY_SCHEMA, AUDIT_SCHEMA]);
    const k = await engineHarness(ESTATE, { db: closing });
    const other = server({ rejects: new RejectStore(closing), audit: new AuditLog(closing), alerts: { actions: k.actions, store: k.store, outbox: k.outbox } }, series);
    await k.close();
    await closing.close();
    for (const url of ['/api/alerts?state=all', '/api/audit', '/api/ingest/rejects', '/api/devices/unregistered', '/api/silences']) {
      const r = await other.inject({ method: 'GET', url, headers: { authorization: 'Bearer t-root' } });
      expect([url, r.statusCode, r.json().error?.code]).toEqual([url, 503, 'STORE_UNAVAILABLE']);
    }
    await other.close();
  });
});
