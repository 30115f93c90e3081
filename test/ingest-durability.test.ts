/**
 * Nothing accepted is lost, nothing is stored twice: real Mosquitto (persistent, no queue
 * limit, as docs/interfaces.md#the-broker asks), real InfluxDB, the whole service.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { removeDir, spawnService, startService, tempDir, type TestService } from './harness/service.ts';
import { hydrantEstate, hydrantId } from './harness/estates.ts';
import { sleep, waitFor } from './harness/ports.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let influx: Influxd;
let broker: Mosquitto;
const started: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
});
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop().catch(() => undefined);
});
afterAll(async () => {
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

async function publishers(n: number): Promise<MqttClient[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => mqtt.connectAsync(broker.url, { clientId: `pub-${process.pid}-${i}-${Date.now()}`, protocolVersion: 4, reconnectPeriod: 200 })),
  );
}

/** Rows of `SELECT pressure_mpa` for a database: [ts, value, device]. */
async function stored(db: string): Promise<[number, number, string][]> {
  const out: [number, number, string][] = [];
  const r = await influx.query(`SELECT pressure_mpa, device FROM hydrant`, db);
  for (const s of r.results?.[0]?.series ?? []) for (const v of s.values) out.push(v);
  return out;
}

async function count(db: string): Promise<number> {
  const r = await influx.query(`SELECT count(pressure_mpa) FROM hydrant`, db);
  return r.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0;
}

describe('durability', () => {
  it('10,000 QoS 1 readings from 100 devices land exactly once, duplicates by (device, seq) dropped', async () => {
    const db = `once_${process.pid}`;
    const svc = await startService({ estate: hydrantEstate(100), env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db } });
    started.push(svc);
    const pubs = await publishers(10);
    const base = Date.now() - 60_000;
    const send = async (from: number, to: number) => {
      const jobs: Promise<unknown>[] = [];
      for (let k = from; k < to; k++) {
        const dev = k % 100;
        const seq = Math.floor(k / 100);
        const payload = JSON.stringify({ ts: base + seq * 10 + (dev % 10), seq, metrics: { pressure_mpa: (dev * 100 + seq) / 100_000 } });
        jobs.push(pubs[dev % 10]!.publishAsync(`estate/load-test/hydrant/${hydrantId(dev)}/telemetry`, payload, { qos: 1 }));
        if (jobs.length >= 500) await Promise.all(jobs.splice(0));
      }
      await Promise.all(jobs);
    };
    await send(0, 10_000);
    // A device replaying part of its buffer, and a QoS 1 redelivery: the same (device, seq) again.
    await send(0, 500);
    await waitFor('10,000 points', async () => (await count(db)) >= 10_000, 60_000, 200);
    await sleep(500);
    const rows = await stored(db);
    expect(rows.length).toBe(10_000);
    const values = new Set(rows.map(([, v]) => Math.round(v * 100_000)));
    expect(values.size).toBe(10_000);
    expect(svc.app.pipeline.counters.duplicates).toBe(500);
    expect(svc.app.pipeline.counters.accepted).toBe(10_000);
    await Promise.all(pubs.map((p) => p.endAsync()));
  });

  it('MQTT 5 publishers, with properties and without, QoS 0 and 1: every reading lands once, each QoS 1 one acknowledged', async () => {
    // A PUBLISH without properties is read in place, one with properties by mqtt.js
    // (ingest/publish-frames.ts); both join the same turns and hold their PUBACKs the same way.
    const db = `props_${process.pid}`;
    const svc = await startService({ estate: hydrantEstate(50), env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db } });
    started.push(svc);
    const pubs = await Promise.all(
      Array.from({ length: 5 }, (_, i) => mqtt.connectAsync(broker.url, { clientId: `pub5-${process.pid}-${i}-${Date.now()}`, protocolVersion: 5 })),
    );
    const base = Date.now() - 60_000;
    const jobs: Promise<unknown>[] = [];
    for (let k = 0; k < 3_000; k++) {
      const dev = k % 50;
      const seq = Math.floor(k / 50);
      const payload = JSON.stringify({ ts: base + seq * 10, seq, metrics: { pressure_mpa: (dev * 100 + seq) / 100_000 } });
      const properties = k % 3 === 0 ? { payloadFormatIndicator: true, messageExpiryInterval: 3_600, userProperties: { gateway: `gw-${dev % 4}` } } : undefined;
      jobs.push(pubs[dev % 5]!.publishAsync(`estate/load-test/hydrant/${hydrantId(dev)}/telemetry`, payload, { qos: k % 4 === 0 ? 0 : 1, ...(properties ? { properties } : {}) }));
      if (jobs.length >= 300) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    await waitFor('3,000 points', async () => (await count(db)) >= 3_000, 60_000, 200);
    await sleep(500);
    const rows = await stored(db);
    expect(rows.length).toBe(3_000);
    expect(new Set(rows.map(([, v]) => Math.round(v * 100_000))).size).toBe(3_000);
    expect(svc.app.pipeline.counters.accepted).toBe(3_000);
    expect(svc.app.pipeline.counters.duplicates).toBe(0);
    await Promise.all(pubs.map((p) => p.endAsync()));
  });

  it('InfluxDB stopped for 20 s mid-stream: every reading lands, in order, none twice', async () => {
    const db = `outage_${process.pid}`;
    const svc = await startService({ estate: hydrantEstate(20), env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db } });
    started.push(svc);
    // Record the order in which points reach InfluxDB (the real store, observed, not replaced).
    const landed: string[] = [];
    const write = svc.app.store.writeBatch.bind(svc.app.store);
    svc.app.store.writeBatch = async (body, count) => {
      const rejected = await write(body, count);
      const text = (Buffer.isBuffer(body) ? body : Buffer.concat(body)).toString('utf8');
      landed.push(...text.split('\n').filter(Boolean));
      return rejected;
    };
    const [pub] = await publishers(1);
    const base = Date.now() - 120_000;
    let sent = 0;
    const stopAt = 1_500;
    const startAt = 5_500;
    const total = 8_000;
    let outage: Promise<void> | undefined;
    while (sent < total) {
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++, sent++) {
        const dev = sent % 20;
        const seq = Math.floor(sent / 20);
        jobs.push(pub!.publishAsync(`estate/load-test/hydrant/${hydrantId(dev)}/telemetry`, JSON.stringify({ ts: base + seq * 10, seq, metrics: { pressure_mpa: sent / 10_000 } }), { qos: 1 }));
      }
      await Promise.all(jobs);
      await sleep(25);
      if (sent === stopAt) await influx.stop();
      if (sent === startAt) {
        // Down for 20 s while the stream goes on: restart in the background.
        outage = sleep(20_000 - (startAt - stopAt) / 4).then(() => influx.start());
      }
    }
    expect(svc.app.writer.status().storeUp).toBe(false);
    const ready = await (await fetch(`${svc.url}/readyz`)).json();
    expect(ready).toMatchObject({ ready: true, store: { up: false } });
    await outage;
    await waitFor('all points after the outage', async () => (await count(db)) >= total, 90_000, 250);
    await sleep(500);
    const rows = await stored(db);
    expect(rows.length).toBe(total);
    expect(new Set(rows.map(([, v]) => v)).size).toBe(total);
    // In order: each device's points reached InfluxDB in the order they were sent.
    const lastTs = new Map<string, number>();
    for (const line of landed) {
      const device = /device=(H\d+)/.exec(line)![1]!;
      const ts = Number(line.slice(line.lastIndexOf(' ') + 1));
      expect(ts).toBeGreaterThan(lastTs.get(device) ?? 0);
      lastTs.set(device, ts);
    }
    expect(landed.length).toBeGreaterThanOrEqual(total);
    expect(svc.app.writer.status().storeUp).toBe(true);
    await pub!.endAsync();
  });

  it('SIGKILL mid-stream at QoS 1, restarted on the same DATA_DIR: every reading the broker acknowledged lands', async () => {
    const db = `kill_${process.pid}`;
    const dataDir = tempDir();
    const config = join(dataDir, 'estate.yaml');
    writeFileSync(
      config,
      `sites:\n  - id: load-test\n    name: 压测小区\n    property: { name: 测试物业 }\n    devices:\n${Array.from({ length: 20 }, (_, i) => `      - { id: ${hydrantId(i)}, kind: hydrant, building: "1栋" }`).join('\n')}\n`,
    );
    const env = { CONFIG: config, DATA_DIR: join(dataDir, 'data'), MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `kill-test-${process.pid}` };
    let svc = await spawnService(env);
    const [pub] = await publishers(1);
    const base = Date.now() - 120_000;
    const total = 6_000;
    let sent = 0;
    let kill: Promise<void> | undefined;
    while (sent < total) {
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++, sent++) {
        const dev = sent % 20;
        const seq = Math.floor(sent / 20);
        jobs.push(pub!.publishAsync(`estate/load-test/hydrant/${hydrantId(dev)}/telemetry`, JSON.stringify({ ts: base + seq * 10, seq, metrics: { pressure_mpa: sent / 10_000 } }), { qos: 1 }));
      }
      // Killed while messages are arriving, not between bursts.
      if (!kill && sent >= 2_000) kill = svc.kill('SIGKILL');
      // Every publish resolved = the broker acknowledged it.
      await Promise.all(jobs);
    }
    await kill;
    svc = await spawnService(env);
    try {
      await waitFor('every acknowledged reading', async () => (await count(db)) >= total, 90_000, 250);
      await sleep(500);
      const rows = await stored(db);
      expect(rows.length).toBe(total);
      expect(new Set(rows.map(([, v]) => v)).size).toBe(total);
    } finally {
      await svc.kill('SIGTERM');
      await pub!.endAsync();
      removeDir(dataDir);
    }
  });
});
