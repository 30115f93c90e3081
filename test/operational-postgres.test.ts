/**
 * The whole service with its operational store on PostgreSQL (OPERATIONAL_DB), against real
 * Mosquitto, InfluxDB and PostgreSQL: an alert raised from readings is delivered through the
 * outbox and acknowledged through the API, all kept in PostgreSQL (no SQLite file appears);
 * after a restart with a new, empty DATA_DIR the alert, its history and its acknowledgement
 * are still there, read back from PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import pg from 'pg';
import { loadEstate, type Estate } from '../config/index.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { ROOT, startService, type TestService } from './harness/service.ts';
import { device } from './harness/publish.ts';
import { freePort, waitFor } from './harness/ports.ts';
import { freshDatabase, type TestDatabase } from '../storage/operational/testing/postgres.ts';

let influx: Influxd;
let broker: Mosquitto;
let pgdb: TestDatabase;
let estate: Estate;
let svc: TestService | undefined;
let dev: MqttClient;
let receiver: Server;
const got: { path: string; body: any }[] = [];
const db = `opspg_${process.pid}`;
const FIRE = { authorization: 'Bearer demo-fire' };
let alertId = '';

beforeAll(async () => {
  pgdb = await freshDatabase();
  const hookPort = await freePort();
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      got.push({ path: req.url!, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', r));
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  estate = loadEstate(join(ROOT, 'config/estate.yaml'), { DEMO_HOOK_PORT: String(hookPort) });
  dev = await device(broker.url);
}, 60_000);

afterAll(async () => {
  await dev?.endAsync();
  await svc?.stop();
  await new Promise((r) => receiver?.close(r));
  await Promise.all([broker?.destroy(), influx?.destroy()]);
  await pgdb?.drop();
}, 60_000);

const start = () => startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, OPERATIONAL_DB: pgdb.url } });

async function inPostgres<T>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: pgdb.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('the operational store on PostgreSQL', () => {
  it('keeps an alert, its deliveries and its acknowledgement in PostgreSQL', { timeout: 90_000 }, async () => {
    svc = await start();
    const t = Date.now() - 120_000;
    for (const [i, at] of [t, t + 30_000, t + 61_000].entries()) {
      await dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', JSON.stringify({ ts: at, seq: i + 1, metrics: { pressure_mpa: 0.08 } }), { qos: 1 });
    }
    const firing = await waitFor('the firing deliveries', () => {
      const f = got.filter((g) => g.body.event === 'alert.firing' && g.body.alert.device === 'HY-03');
      return f.length >= 2 ? f : undefined;
    }, 30_000);
    alertId = firing[0]!.body.alert.id;
    const ack = await fetch(`${svc.url}/api/alerts/${alertId}/ack`, { method: 'POST', headers: { ...FIRE, 'content-type': 'application/json' }, body: JSON.stringify({ note: '已派人 on the way' }) });
    expect(ack.status).toBe(200);

    const alerts = await inPostgres<{ id: string; state: string }>(`SELECT id, state FROM alerts WHERE device = 'HY-03'`);
    expect(alerts).toEqual([{ id: alertId, state: 'acknowledged' }]);
    const sent = await waitFor('the outbox rows marked sent', async () => {
      const rows = await inPostgres<{ recipient: string; status: string }>(`SELECT recipient, status FROM outbox WHERE alert_id = '${alertId}' AND event = 'alert.firing' ORDER BY recipient`);
      return rows.length >= 2 && rows.every((r) => r.status === 'sent') ? rows : undefined;
    }, 30_000);
    expect(sent.map((r) => r.recipient)).toEqual(['fire-rescue', 'property']);
    expect(existsSync(join(svc.dataDir, 'operational.db'))).toBe(false);
    expect(await inPostgres('SELECT part, version FROM schema_parts ORDER BY part')).toEqual([
      { part: 'alerts', version: 2 },
      { part: 'audit', version: 1 },
      { part: 'delivery', version: 1 },
      { part: 'ingest', version: 1 },
      { part: 'reports', version: 1 },
    ]);
    const names = await inPostgres<{ application_name: string }>(`SELECT application_name FROM pg_stat_activity WHERE datname = '${pgdb.name}' AND pid <> pg_backend_pid()`);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names.map((n) => n.application_name))).toEqual(new Set(['estate-sentinel']));
  });

  it('after a restart with an empty DATA_DIR, the alert is still there, read from PostgreSQL', { timeout: 90_000 }, async () => {
    expect(alertId).not.toBe('');
    await svc!.stop();
    svc = await start();
    const res = await fetch(`${svc.url}/api/alerts/${alertId}`, { headers: FIRE });
    expect(res.status).toBe(200);
    const a = await res.json();
    expect(a).toMatchObject({ id: alertId, key: 'jinfo-garden/HY-03/pressure_low', state: 'acknowledged', severity: 'critical' });
    expect(a.history.map((h: any) => h.transition)).toEqual(expect.arrayContaining(['firing', 'acknowledged']));
    expect(a.acks).toEqual([expect.objectContaining({ department: 'fire-rescue', note: '已派人 on the way', via: 'api' })]);
    const list = await (await fetch(`${svc.url}/api/alerts`, { headers: FIRE })).json();
    expect(list.items.map((x: any) => x.id)).toContain(alertId);
  });
});
