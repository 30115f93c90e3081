/**
 * The broker goes away while devices publish QoS 1: real Mosquitto (persistent, no queue
 * limit, docs/interfaces.md#the-broker), real InfluxDB, the whole service in-process.
 *
 * - restarted within a second: every reading lands exactly once and the service is ready again;
 * - gone for 60 s: what the devices buffered lands too; /readyz stays 200 (ready = it can
 *   serve: the dashboard is needed most then, docs/interfaces.md#probes-and-metrics) with `broker.connected:
 *   false`, and /metrics says `estate_broker_connected 0`; one `broker_down` system alert after its 15 s grace, resolved
 *   when the broker is back; the devices that look silent meanwhile are recorded and held back
 *   (an inhibition, docs/alerts.md "Outages"), never announced, and end when it is back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { ADMIN, Stream, alerts, count as countPoints, devices, faultEstate, metric, readyz, sampler, values as storedValues, type Readyz } from './helpers.ts';

let influx: Influxd;
let broker: Mosquitto;
const services: TestService[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  for (const s of services.splice(0)) await s.stop().catch(() => undefined);
});
afterAll(async () => {
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

async function service(db: string, n: number, intervalSec: number): Promise<TestService> {
  const svc = await startService({
    estate: faultEstate(n, intervalSec),
    env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `faults-${db}` },
  });
  services.push(svc);
  return svc;
}

/** Every reading of the stream is in InfluxDB, each once. */
async function expectExactlyOnce(db: string, total: number, svc: TestService): Promise<void> {
  await waitFor(`${total} readings in InfluxDB`, async () => (await count(db)) >= total, 60_000, 250).catch(async (err: Error) => {
    const rejects = await (await fetch(`${svc.url}/api/ingest/rejects?limit=5`, { headers: ADMIN })).text();
    throw new Error(`${err.message}; stored ${await count(db)}, service counters ${JSON.stringify(svc.app.pipeline.counters)}, writer ${JSON.stringify(svc.app.writer.status())}, rejects ${rejects}`);
  });
  await sleep(1000); // anything extra would arrive now
  const stored = await values(db);
  expect(stored.length).toBe(total);
  expect(new Set(stored).size).toBe(total);
}

const count = (db: string) => countPoints(influx, db);
const values = (db: string) => storedValues(influx, db);

describe('broker faults', () => {
  it('broker restarted mid-stream (down about 1 s): every QoS 1 reading lands exactly once, the service is ready again', async () => {
    const db = `broker_restart_${process.pid}`;
    const n = 20;
    const svc = await service(db, n, 60);
    const states: boolean[] = [];
    svc.app.bus.on('broker', (s) => states.push(s.up));
    clients.push(...(await devices(broker.url, 4, 'restart')));
    const stream = new Stream(clients, n);
    stream.start(200);
    await sleep(3000);
    await broker.stop();
    await sleep(1000);
    await broker.start();
    await sleep(4000);
    stream.stop();
    await stream.settled(60_000);
    expect(stream.sent).toBeGreaterThan(1500);

    // The service saw the broker go and come back, and is ready again.
    expect(states).toContain(false);
    await waitFor('ready again', async () => {
      const r = await readyz(svc.url);
      return r.status === 200 && r.body.broker.connected;
    }, 30_000, 100);
    await expectExactlyOnce(db, stream.sent, svc);
    expect(svc.app.pipeline.counters.accepted).toBeGreaterThanOrEqual(stream.sent);
  }, 120_000);

  it('broker gone for 60 s: buffered readings land, /readyz 200 with broker.connected false, one broker_down after 15 s, no device announced silent', async () => {
    const db = `broker_outage_${process.pid}`;
    const n = 20;
    // Devices report every 5 s: without the outage rule each would be "silent" after 15 s.
    const svc = await service(db, n, 5);
    clients.push(...(await devices(broker.url, 4, 'outage')));
    const stream = new Stream(clients, n);
    stream.start(100);
    await sleep(10_000);
    const before = stream.sent;

    await broker.stop();
    const downAt = Date.now();
    await waitFor('the service to notice', async () => !(await readyz(svc.url)).body.broker.connected, 10_000, 50);
    expect(await metric(svc.url, 'estate_broker_connected')).toBe(0);
    const probes = sampler(() => readyz(svc.url), 500);
    // Inside the grace: no system alert yet.
    await sleep(10_000);
    expect((await alerts(svc.url)).filter((a) => a.rule === 'broker_down')).toEqual([]);
    // After it: one broker_down, firing, to the operators.
    const raised = await waitFor('broker_down raised', async () => (await alerts(svc.url)).find((a) => a.rule === 'broker_down' && a.state === 'firing'), 15_000, 250);
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(15_000);
    expect(raised).toMatchObject({ kind: 'system', device: 'system', severity: 'critical' });
    await sleep(Math.max(0, 60_000 - (Date.now() - downAt)));
    const seen: Readyz[] = await probes.stop();
    const during = stream.sent - before;
    await broker.start();
    const upAt = Date.now();

    // /readyz all through the outage: 200 (it can serve), the broker not connected (the spool and store fine).
    expect(seen.length).toBeGreaterThan(20);
    for (const r of seen) {
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ready: true, broker: { connected: false }, spool: { writable: true, full: false } });
    }

    await waitFor('connected again', async () => {
      const r = await readyz(svc.url);
      return r.status === 200 && r.body.broker.connected;
    }, 30_000, 100);
    // The devices go on for a full silence interval (15 s) and more after the outage, so a
    // device judged silent because of it would show.
    await sleep(Math.max(0, upAt + 20_000 - Date.now()));
    stream.stop();
    await stream.settled(60_000);
    expect(during).toBeGreaterThan(4000);

    await expectExactlyOnce(db, stream.sent, svc);
    await waitFor('broker_down resolved', async () => (await alerts(svc.url)).find((a) => a.rule === 'broker_down')?.state === 'resolved', 15_000, 250);
    const all = await alerts(svc.url);
    expect(all.filter((a) => a.rule === 'broker_down')).toHaveLength(1);
    // Silent meanwhile: recorded, held back by the outage, never announced to anyone, ended.
    const silent = all.filter((a) => a.rule === 'device_silent');
    for (const a of silent) expect(a).toMatchObject({ state: 'resolved', announcedAt: null, notified: [], mutedBy: 'inhibited:estate/system/broker_down' });
    const deliveries = await Promise.all(silent.map(async (a) => (await (await fetch(`${svc.url}/api/alerts/${a.id}/deliveries`, { headers: ADMIN })).json()) as { items: unknown[] }));
    expect(deliveries.flatMap((d) => d.items)).toEqual([]);
    console.log(`fault figures (broker outage): ${JSON.stringify({ outageSec: Math.round((upAt - downAt) / 1000), publishedWhileAway: during, stored: await count(db), sent: stream.sent })}`);
  }, 300_000);
});

