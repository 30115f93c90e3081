/**
 * The spool at its size cap (SPOOL_MAX_BYTES, small here) while InfluxDB is stopped: real
 * Mosquitto, real influxd, the whole service in-process. The policy (docs/ingest.md):
 *
 * - past 80 % of the cap: a `spool_near_full` system alert (warning);
 * - at the cap: a `spool_full` system alert (critical); /readyz 503 with `spool.full: true`;
 *   QoS 0 messages refused as `spool_full` in the reject log; QoS 1 messages not acknowledged,
 *   so they wait in the broker's session and nothing is taken (nothing dropped either);
 * - once InfluxDB is back and the spool drains: both alerts resolved, ready again, the held
 *   QoS 1 readings taken and stored exactly once, every QoS 0 reading either stored or in the
 *   reject log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { hydrantId } from '../harness/estates.ts';
import { ADMIN, Stream, alerts, devices, faultEstate, metric, perDevice, readyz } from './helpers.ts';

const CAP = 120_000;

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService | undefined;
const clients: MqttClient[] = [];

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await svc?.stop().catch(() => undefined);
  svc = undefined;
});
afterAll(async () => {
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

describe('spool at its cap', () => {
  it('near full raises spool_near_full; at the cap QoS 0 is refused as spool_full, QoS 1 waits in the broker, /readyz 503; all resolved after the drain', async () => {
    const db = `spool_cap_${process.pid}`;
    svc = await startService({
      estate: faultEstate(20, 60),
      env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `faults-${db}`, SPOOL_MAX_BYTES: String(CAP) },
    });
    const base = svc.url;
    await influx.stop();

    // QoS 0 devices H0000…H0009 fill the spool up to and past its cap.
    clients.push(...(await devices(broker.url, 2, 'cap-q0')));
    const q0 = new Stream(clients.slice(0, 2), 10, 0, { qos: 0 });
    q0.start(200);
    const nearFull = await waitFor('spool_near_full', async () => (await alerts(base)).find((a) => a.rule === 'spool_near_full' && a.state === 'firing'), 60_000, 200);
    expect(nearFull).toMatchObject({ kind: 'system', device: 'system', severity: 'warning' });
    await waitFor('QoS 0 refused as spool_full', async () => (await metric(base, 'estate_ingest_rejects_total', '{reason="spool_full"}')) >= 50, 60_000, 200);
    q0.stop();
    await q0.settled(30_000);

    const full = await waitFor('spool_full', async () => (await alerts(base)).find((a) => a.rule === 'spool_full' && a.state === 'firing'), 15_000, 200);
    expect(full).toMatchObject({ kind: 'system', device: 'system', severity: 'critical' });
    expect(full.startsAt >= nearFull.startsAt).toBe(true);
    const atCap = await readyz(base);
    expect(atCap.status).toBe(503);
    expect(atCap.body).toMatchObject({ ready: false, broker: { connected: true }, spool: { full: true }, store: { up: false } });
    expect(atCap.body.spool.bytes).toBeGreaterThanOrEqual(CAP);

    // Every QoS 0 message is accounted for: taken, or refused with its payload in the reject log.
    await waitFor('every QoS 0 message counted', async () => svc!.app.pipeline.counters.messages + (await metric(base, 'estate_ingest_rejects_total', '{reason="spool_full"}')) >= q0.sent, 30_000, 100);
    const q0Taken = svc.app.pipeline.counters.accepted;
    const q0Refused = await metric(base, 'estate_ingest_rejects_total', '{reason="spool_full"}');
    expect(q0Taken + q0Refused).toBe(q0.sent);
    const rejects = await waitFor('the reject log', async () => {
      const r = await fetch(`${base}/api/ingest/rejects?reason=spool_full&limit=1000`, { headers: ADMIN });
      const items = ((await r.json()) as { items: { reason: string; topic: string; payload: string }[] }).items;
      return items.length === q0Refused ? items : undefined;
    }, 10_000, 200);
    expect(rejects[0]!.topic).toMatch(/^estate\/fault-test\/hydrant\/H000\d\/telemetry$/);
    expect(JSON.parse(rejects[0]!.payload)).toMatchObject({ metrics: { pressure_mpa: expect.any(Number) } });

    // QoS 1 devices H0010…H0019: the broker takes them, the service does not (its acks are held).
    const q1Clients = await devices(broker.url, 2, 'cap-q1');
    clients.push(...q1Clients);
    const q1 = new Stream(q1Clients, 10, 1_000_000, { qos: 1, firstDevice: 10 });
    const acceptedBefore = svc.app.pipeline.counters.accepted;
    q1.start(100);
    await sleep(3000);
    q1.stop();
    await q1.settled(30_000);
    expect(q1.sent).toBeGreaterThan(100);
    await sleep(1000);
    expect(svc.app.pipeline.counters.accepted).toBe(acceptedBefore);
    expect((await readyz(base)).status).toBe(503);

    // InfluxDB back: the spool drains, the held QoS 1 readings are taken, alerts resolve.
    await influx.start();
    await waitFor('ready again', async () => (await readyz(base)).status === 200, 60_000, 200);
    await waitFor('everything stored', async () => {
      const s = await perDevice(influx, db);
      let n = 0;
      for (const v of s.values()) n += v.count;
      return n >= q0Taken + q1.sent;
    }, 60_000, 250);
    await sleep(500);
    const stored = await perDevice(influx, db);
    for (let i = 0; i < 10; i++) {
      expect(stored.get(hydrantId(10 + i)), hydrantId(10 + i)).toEqual({ count: q1.perDevice[i], distinct: q1.perDevice[i] });
    }
    let q0Stored = 0;
    for (let i = 0; i < 10; i++) {
      const s = stored.get(hydrantId(i))!;
      expect(s.distinct).toBe(s.count);
      q0Stored += s.count;
    }
    expect(q0Stored).toBe(q0Taken);

    await waitFor('spool alerts resolved', async () => {
      const a = await alerts(base);
      return ['spool_near_full', 'spool_full'].every((rule) => a.find((x) => x.rule === rule)?.state === 'resolved');
    }, 30_000, 250);
    const all = await alerts(base);
    expect(all.filter((a) => a.rule === 'spool_near_full')).toHaveLength(1);
    expect(all.filter((a) => a.rule === 'spool_full')).toHaveLength(1);
    console.log(`fault figures (spool cap): ${JSON.stringify({ cap: CAP, bytesAtCap: atCap.body.spool.bytes, q0Sent: q0.sent, q0Taken, q0Refused, q1Held: q1.sent })}`);
  }, 240_000);
});
